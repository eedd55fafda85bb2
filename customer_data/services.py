"""Every write to customer data, consent records and the access log.

A service assumes its caller checked access (see `permissions`). Consent is enforced here:
nothing is stored without current consent, and a withdrawal erases in the same transaction
that records it, so there is never a record without erasure or an erasure without a record.
"""

from collections.abc import Iterable, Iterator
from typing import Any

from django.conf import settings
from django.contrib.auth.models import User
from django.db import transaction
from django.db.models import Q, QuerySet, TextField, Value
from django.db.models.functions import Cast
from django.utils import timezone
from django.views.decorators.debug import sensitive_variables

from customer_data import crypto
from customer_data.models import (
    ENCRYPTED_FIELDS,
    ConsentRecord,
    CustomerData,
    PersonalDataAccess,
)
from customer_data.permissions import fields_of

Reason = ConsentRecord.Reason


class ErasureNeedsConfirmation(Exception):
    """A withdrawal would erase stored values the member has not confirmed erasing.

    Raised inside the transaction, so nothing of the save is kept. `stamp` names the stored
    state as it is now: the confirmation the page asks for must carry it.
    """

    def __init__(self, stamp: str) -> None:
        super().__init__("Withdrawal would erase stored customer data; confirmation needed.")
        self.stamp = stamp


def _locked_row(user_id: int) -> CustomerData:
    data, _created = CustomerData.objects.select_for_update().get_or_create(user_id=user_id)
    return data


def _record(data: CustomerData, action: str, by: User | None, reason: str) -> None:
    ConsentRecord.objects.create(
        user_id=data.user_id,
        action=action,
        reason=reason,
        consent_text_version=data.consent_version or settings.CONSENT_TEXT_VERSION,
        by=by,
    )


def _erase(data: CustomerData) -> None:
    for name in ENCRYPTED_FIELDS:
        setattr(data, name, None)
    data.customer_number_bidx = None
    data.further_info_updated_at = None


@sensitive_variables("cleaned", "number", "info")
@transaction.atomic
def save_customer_data(
    *,
    user_id: int,
    by: User,
    consent: bool,
    cleaned: dict[str, Any],
    erasure_confirmation: str | None = None,
) -> CustomerData:
    """Store the member's choice from the Profil tab.

    With consent: grant it (recorded once per consent-text version) and store the values;
    `cleaned` holds normalised values, "" or None meaning empty. Without consent: nothing
    posted is stored, and an earlier consent is withdrawn, erasing the values.

    `erasure_confirmation` is what the Profil tab passes: the stamp of the stored state the
    member was warned about ("" when no warning was confirmed). The decision "this withdrawal
    erases stored values, and the member confirmed erasing exactly these" is taken here,
    under the row lock, so a save from another tab a moment earlier is never erased unseen:
    a mismatch raises `ErasureNeedsConfirmation` and nothing changes.
    """
    data = _locked_row(user_id)
    if not consent:
        if (
            erasure_confirmation is not None
            and data.filled_count
            and erasure_confirmation != data.stamp
        ):
            raise ErasureNeedsConfirmation(data.stamp)
        if data.consent or data.filled_count:
            _withdraw(data, by=by, reason=Reason.MEMBER)
        return data
    if not data.consent_is_current:
        if data.consent:
            # Consent for an outdated text: what was stored under it does not carry over.
            _erase(data)
        data.consent = True
        data.consent_version = settings.CONSENT_TEXT_VERSION
        data.consented_at = timezone.now()
        _record(data, ConsentRecord.Action.GRANTED, by, Reason.MEMBER)
    number = cleaned.get("customer_number") or None
    info = cleaned.get("further_info") or None
    if info != data.further_info:
        data.further_info_updated_at = timezone.now() if info else None
    data.customer_number = number
    data.customer_number_bidx = crypto.blind_index(number) if number else None
    data.mobile_number = cleaned.get("mobile_number") or None
    data.further_info = info
    data.save()
    return data


def _withdraw(data: CustomerData, *, by: User | None, reason: str) -> None:
    _erase(data)
    was_consented = data.consent
    data.consent = False
    data.consented_at = None
    if was_consented:
        _record(data, ConsentRecord.Action.WITHDRAWN, by, reason)
    data.consent_version = ""
    data.save()


@transaction.atomic
def erase_customer_data(
    *, user_id: int, by: User | None, reason: str = Reason.ERASURE, only_if: Q | None = None
) -> bool:
    """Erase the three values and withdraw consent, recording why; True if anything was erased.

    `only_if` is the condition that made the caller want the erasure (for the retention
    purge: "still unchanged since the cut-off"). It is evaluated on the row as locked here,
    not as the caller last saw it, so a member who saved in between keeps what they saved.
    On PostgreSQL a row updated while this waited for its lock is checked again in its new
    version; SQLite runs one writing transaction at a time.
    """
    rows = CustomerData.objects.select_for_update().filter(
        Q(consent=True) | Q(filled_count__gt=0), user_id=user_id
    )
    data = rows.filter(only_if).first() if only_if is not None else rows.first()
    if data is None:
        return False
    _withdraw(data, by=by, reason=reason)
    return True


def record_access(
    *, viewer: User, subject_id: int, channel: str, fields: Iterable[str]
) -> PersonalDataAccess:
    """Log that `viewer` was shown the named fields of `subject_id`'s data (never the values)."""
    return PersonalDataAccess.objects.create(
        viewer=viewer, subject_id=subject_id, channel=channel, fields=fields_of(fields)
    )


def _locked_batches(qs: QuerySet, batch_size: int) -> Iterator[list]:
    """Walk `qs` (a queryset over CustomerData, ordered by pk) in batches, each batch's rows
    locked and processed in its own transaction, so a long run never holds every row."""
    last_pk = 0
    while True:
        with transaction.atomic():
            batch = list(qs.select_for_update().filter(pk__gt=last_pk).order_by("pk")[:batch_size])
            if not batch:
                return
            yield batch
        last = batch[-1]
        last_pk = last["pk"] if isinstance(last, dict) else last.pk


def rotate_field_keys(*, batch_size: int = 500) -> int:
    """Re-encrypt every stored value with the newest key, in batches; returns rows rewritten.

    Reads and writes the raw tokens (a cast bypasses the field's decryption), so values are
    only ever decrypted inside `MultiFernet.rotate`.
    """
    raw = {f"raw_{name}": Cast(name, output_field=TextField()) for name in ENCRYPTED_FIELDS}
    rows = CustomerData.objects.annotate(**raw).values("pk", *raw)
    rewritten = 0
    for batch in _locked_batches(rows, batch_size):
        for row in batch:
            fresh = {
                name: Value(crypto.rotate(token), output_field=TextField())
                for name in ENCRYPTED_FIELDS
                if (token := row[f"raw_{name}"])
            }
            if fresh:
                CustomerData.objects.filter(pk=row["pk"]).update(**fresh)
                rewritten += 1
    return rewritten


def rebuild_blind_index(*, batch_size: int = 500) -> int:
    """Recompute every customer-number index with the current `BLIND_INDEX_KEY`.

    Needed after changing that key: the index is a one-way hash, so it is rebuilt from
    the decrypted numbers. Returns the number of rows that hold a customer number.
    """
    rows = CustomerData.objects.filter(customer_number__isnull=False).only("pk", "customer_number")
    rebuilt = 0
    for batch in _locked_batches(rows, batch_size):
        for data in batch:
            CustomerData.objects.filter(pk=data.pk).update(
                customer_number_bidx=crypto.blind_index(data.customer_number or "")
            )
        rebuilt += len(batch)
    return rebuilt
