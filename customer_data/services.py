"""Every write to customer data, consent records and the access log.

A service assumes its caller checked access (see `permissions`). Consent is enforced here:
nothing is stored without current consent, and a withdrawal erases in the same transaction
that records it, so there is never a record without erasure or an erasure without a record.
"""

import hashlib
import logging
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

from django.conf import settings
from django.contrib.auth.models import User
from django.core.exceptions import PermissionDenied
from django.db import transaction
from django.db.models import Q, QuerySet, TextField, Value
from django.db.models.functions import Cast
from django.utils import timezone
from django.views.decorators.debug import sensitive_variables

from community.roles import staff_roles
from customer_data import crypto, permissions, selectors
from customer_data.models import (
    ENCRYPTED_FIELDS,
    ConsentRecord,
    CustomerData,
    MaintenanceCheckpoint,
    PersonalDataAccess,
)
from customer_data.permissions import Viewer, fields_of
from customer_data.selectors import MatchKind, MemberSearch, SearchHit

logger = logging.getLogger(__name__)

Reason = ConsentRecord.Reason
# The encrypted fields with an exact-match index, and the index column of each. The index is
# taken over the stored (normalised) value: digits only, and E.164 for the phone number.
BLIND_INDEXES = {
    "customer_number": "customer_number_bidx",
    "mobile_number": "mobile_number_bidx",
}


class ErasureNeedsConfirmation(Exception):
    """A withdrawal would erase stored values the member has not confirmed erasing.

    Raised inside the transaction, so nothing of the save is kept. `stamp` names the stored
    state as it is now: the confirmation the page asks for must carry it.
    """

    def __init__(self, stamp: str) -> None:
        super().__init__("Withdrawal would erase stored customer data; confirmation needed.")
        self.stamp = stamp


def _log_on_commit(message: str, **fields: Any) -> None:
    """Log `fields` (names and counts, never a value) once the transaction commits: an
    erasure or an access-log row that was rolled back never happened."""
    transaction.on_commit(lambda: logger.info(message, extra=fields))


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
    data.mobile_number_bidx = None
    data.numbers_updated_at = None
    data.further_info_updated_at = None


@sensitive_variables("cleaned", "number", "mobile", "info")
@transaction.atomic
def save_consent_and_values(
    *,
    user_id: int,
    by: User,
    consent: bool,
    cleaned: dict[str, Any],
    erasure_confirmation: str | None = None,
) -> CustomerData:
    """Store the member's choice from the Profil tab.

    With consent: grant it (recorded once per consent-text version) and store the values;
    `cleaned` holds normalised values (customer number digits only, phone number in E.164,
    the forms the blind indexes are computed over), "" or None meaning empty. Without
    consent: nothing posted is stored, and an earlier consent is withdrawn, erasing the values.

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
        if data.holds_data:
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
    mobile = cleaned.get("mobile_number") or None
    info = cleaned.get("further_info") or None
    # Each group's date moves only when a value of that group really changed.
    if (number, mobile) != (data.customer_number, data.mobile_number):
        data.numbers_updated_at = timezone.now() if number or mobile else None
    if info != data.further_info:
        data.further_info_updated_at = timezone.now() if info else None
    data.customer_number = number
    data.customer_number_bidx = crypto.blind_index(number) if number else None
    data.mobile_number = mobile
    data.mobile_number_bidx = crypto.blind_index(mobile) if mobile else None
    data.further_info = info
    data.save()
    return data


def _withdraw(data: CustomerData, *, by: User | None, reason: str) -> None:
    erased_fields = data.filled_count
    _erase(data)
    was_consented = data.consent
    data.consent = False
    data.consented_at = None
    if was_consented:
        _record(data, ConsentRecord.Action.WITHDRAWN, by, reason)
    data.consent_version = ""
    data.save()
    _log_on_commit(
        "Customer data erased",
        event="customer_data.erased",
        reason=str(reason),
        fields=erased_fields,
        consent_withdrawn=was_consented,
    )


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
    rows = CustomerData.objects.select_for_update().holding_data().filter(user_id=user_id)
    data = rows.filter(only_if).first() if only_if is not None else rows.first()
    if data is None:
        return False
    _withdraw(data, by=by, reason=reason)
    return True


@transaction.atomic
def delete_member_records(*, user_id: int) -> None:
    """Before an account is deleted: its customer data, consent records and the access-log
    rows about it (the foreign keys would cascade too; this says so by name)."""
    data_rows, _ = CustomerData.objects.filter(user_id=user_id).delete()
    consent_records = ConsentRecord.objects.filter(user_id=user_id).purge()
    access_rows = PersonalDataAccess.objects.filter(subject_id=user_id).purge()
    _log_on_commit(
        "Member's customer-data records deleted with the account",
        event="customer_data.account_deleted",
        customer_data=data_rows,
        consent_records=consent_records,
        access_rows=access_rows,
    )


def record_access(
    *, viewer: User, subject_id: int, channel: str, fields: Iterable[str]
) -> PersonalDataAccess:
    """Log that `viewer` was shown the named fields of `subject_id`'s data (never the values),
    with the viewer's name and staff roles as they are at this moment."""
    return record_accesses(viewer=viewer, entries=[(subject_id, channel, fields)])[0]


def record_accesses(
    *, viewer: User, entries: Iterable[tuple[int, str, Iterable[str]]]
) -> list[PersonalDataAccess]:
    """`record_access` for several (subject, channel, fields) at once, in one INSERT: a search
    that finds a household costs what a search that finds one member costs."""
    profile = getattr(viewer, "profile", None)
    name = (profile.display_name if profile else "") or viewer.get_username()
    roles = sorted(role.value for role in staff_roles(viewer))
    rows = PersonalDataAccess.objects.bulk_create(
        [
            PersonalDataAccess(
                viewer=viewer,
                viewer_name=name,
                viewer_roles=roles,
                subject_id=subject_id,
                channel=channel,
                fields=fields_of(fields),
            )
            for subject_id, channel, fields in entries
        ]
    )
    _log_on_commit(
        "Access log written",
        event="access_log.written",
        rows=len(rows),
        channels=sorted({str(row.channel) for row in rows}),
    )
    return rows


def disclose(*, viewer: Viewer, data: CustomerData | None, channel: str) -> dict[str, str]:
    """The values of `data` that `viewer` may see, the access logged in the same step.

    The one way any surface gets values to show: whoever is shown a value of someone else's
    data is in the access log, whatever the page, the request method or the channel. The
    owner's own views are not logged. Returns {} when the policy shows no values.
    """
    if data is None:
        return {}
    values = permissions.shown_values(permissions.visibility(viewer, data.user_id), data)
    if values and permissions.is_disclosure(viewer, data.user_id):
        if not isinstance(viewer, User):
            raise TypeError("Only a signed-in user can be shown someone else's customer data.")
        record_access(viewer=viewer, subject_id=data.user_id, channel=channel, fields=values)
    return values


# The access-log channel of a member found by a number (a name ties nothing to them).
SEARCH_CHANNELS = {
    MatchKind.CUSTOMER_NUMBER: PersonalDataAccess.Channel.SEARCH_CUSTOMER_NUMBER,
    MatchKind.MOBILE_NUMBER: PersonalDataAccess.Channel.SEARCH_MOBILE_NUMBER,
}


@sensitive_variables("term")
@transaction.atomic
def search_members(*, viewer: Viewer, term: str) -> tuple[MemberSearch, list[SearchHit]]:
    """The staff search: what `term` was searched as, and the members found, each logged in
    the same step when a number found them.

    Finding a member by customer number or phone number ties that number to a person, which
    is a disclosure like showing it: one access-log row per member found and per number that
    matched, naming the field searched (never the value), under the channel of that search.
    A search that finds nobody, and a search by name, log nothing.

    Checks the policy itself (only the roles that see values may tie a number to a member),
    so no caller can run the search without its log.
    """
    if not permissions.can_use_staff_tools(viewer) or not isinstance(viewer, User):
        raise PermissionDenied
    search = selectors.member_search(term)
    hits = selectors.list_search_hits(search)
    found = [
        (hit.data.user_id, SEARCH_CHANNELS[kind], [kind.value])
        for hit in hits
        for kind in hit.matched_by
        if kind in SEARCH_CHANNELS
    ]
    if found:
        record_accesses(viewer=viewer, entries=found)
    return search, hits


@dataclass
class MaintenanceResult:
    """What a batched maintenance run did: rows rewritten, rows it could not decrypt (their
    ids, skipped when asked to), and the row id it resumed after (0 for a fresh start)."""

    done: int = 0
    undecryptable: list[int] = field(default_factory=list)
    resumed_after: int = 0


class UndecryptableRow(Exception):
    """A stored token matches none of FIELD_ENCRYPTION_KEYS. Names the row, never the token."""

    def __init__(self, pk: int) -> None:
        super().__init__(
            f"CustomerData row {pk} cannot be decrypted with FIELD_ENCRYPTION_KEYS. Restore the "
            "key that wrote it, or run again with --skip-undecryptable to go on past it."
        )
        self.pk = pk


Progress = Callable[[int, int], None]


def _fingerprint(key: str) -> str:
    """Names a key without revealing it (the keys are long random strings)."""
    return hashlib.sha256(b"community maintenance checkpoint\0" + key.encode()).hexdigest()


def _walk(
    job: str,
    key: str,
    rows: QuerySet,
    step: Callable[[dict[str, Any]], bool],
    *,
    batch_size: int,
    skip_undecryptable: bool,
    progress: Progress | None,
) -> MaintenanceResult:
    """Run `step` over `rows` (values with "pk", ordered by pk) in locked batches, each batch
    and the checkpoint after it committed together. An interrupted run with the same key
    resumes after the last committed batch; a finished run removes its checkpoint.
    `step` returns whether it rewrote the row and raises `DecryptionError` on a bad token."""
    fingerprint = _fingerprint(key)
    checkpoint, _created = MaintenanceCheckpoint.objects.get_or_create(
        job=job, defaults={"key_fingerprint": fingerprint}
    )
    if checkpoint.key_fingerprint != fingerprint:
        checkpoint.key_fingerprint, checkpoint.last_pk = fingerprint, 0
        checkpoint.save()
    result = MaintenanceResult(resumed_after=checkpoint.last_pk)
    total = rows.filter(pk__gt=checkpoint.last_pk).count()
    seen = 0
    last_pk = checkpoint.last_pk
    while True:
        with transaction.atomic():
            batch = list(
                rows.select_for_update().filter(pk__gt=last_pk).order_by("pk")[:batch_size]
            )
            if not batch:
                break
            for row in batch:
                try:
                    result.done += step(row)
                except crypto.DecryptionError:
                    if not skip_undecryptable:
                        logger.error(
                            "Maintenance run stopped at a row no key decrypts",
                            extra={
                                "event": "maintenance.stopped",
                                "job": job,
                                "row_id": row["pk"],
                                "rows": result.done,
                            },
                        )
                        raise UndecryptableRow(row["pk"]) from None
                    result.undecryptable.append(row["pk"])
            last_pk = batch[-1]["pk"]
            MaintenanceCheckpoint.objects.filter(job=job).update(last_pk=last_pk)
        seen += len(batch)
        if progress:
            progress(seen, total)
    MaintenanceCheckpoint.objects.filter(job=job).delete()
    logger.info(
        "Maintenance run finished",
        extra={
            "event": "maintenance.finished",
            "job": job,
            "rows": result.done,
            "undecryptable": len(result.undecryptable),
            "resumed_after": result.resumed_after,
        },
    )
    return result


def _raw_tokens() -> dict[str, Cast]:
    """The encrypted columns as stored (a cast keeps the field from decrypting)."""
    return {f"raw_{name}": Cast(name, output_field=TextField()) for name in ENCRYPTED_FIELDS}


def rotate_field_keys(
    *, batch_size: int = 500, skip_undecryptable: bool = False, progress: Progress | None = None
) -> MaintenanceResult:
    """Re-encrypt every stored value with the newest key, in batches.

    Reads and writes the raw tokens, so values are only ever decrypted inside
    `MultiFernet.rotate`. A row no key can read stops the run (`UndecryptableRow`, naming
    it) unless `skip_undecryptable`; then it is left as it is and listed in the result.
    Tokens already under the newest key (saved since, or rotated by an earlier run whose
    checkpoint is gone) are left alone: a rerun writes only what is still to do.
    """
    raw = _raw_tokens()
    rows = CustomerData.objects.annotate(**raw).values("pk", *raw)

    def rotate_row(row: dict[str, Any]) -> bool:
        fresh = {
            name: Value(crypto.rotate(token), output_field=TextField())
            for name in ENCRYPTED_FIELDS
            if (token := row[f"raw_{name}"]) and not crypto.is_newest(token)
        }
        if fresh:
            CustomerData.objects.filter(pk=row["pk"]).update(**fresh)
        return bool(fresh)

    return _walk(
        "rotate_field_keys",
        settings.FIELD_ENCRYPTION_KEYS[0],
        rows,
        rotate_row,
        batch_size=batch_size,
        skip_undecryptable=skip_undecryptable,
        progress=progress,
    )


def rebuild_blind_index(
    *, batch_size: int = 500, skip_undecryptable: bool = False, progress: Progress | None = None
) -> MaintenanceResult:
    """Recompute every blind index (customer number and phone number) with the current
    `BLIND_INDEX_KEY`.

    Needed after changing that key, and once after the phone-number index was added: an
    index is a one-way hash, so it is rebuilt from the decrypted values. A row is rewritten
    whole or, if a value does not decrypt, not at all. `done` counts the rows that hold a
    customer number or a phone number.
    """
    raw = {f"raw_{name}": Cast(name, output_field=TextField()) for name in BLIND_INDEXES}
    holding = Q()
    for name in BLIND_INDEXES:
        holding |= Q(**{f"{name}__isnull": False})
    rows = CustomerData.objects.filter(holding).annotate(**raw).values("pk", *raw)

    def index_row(row: dict[str, Any]) -> bool:
        indexes = {
            column: crypto.blind_index(crypto.decrypt(token)) if token else None
            for name, column in BLIND_INDEXES.items()
            for token in [row[f"raw_{name}"]]
        }
        CustomerData.objects.filter(pk=row["pk"]).update(**indexes)
        return True

    return _walk(
        "rebuild_blind_index",
        settings.BLIND_INDEX_KEY,
        rows,
        index_row,
        batch_size=batch_size,
        skip_undecryptable=skip_undecryptable,
        progress=progress,
    )
