"""Retention: erase what has been kept too long, and thin out the access log.

Run daily: `python manage.py purge_stale_customer_data`. Every erasure goes through
`services.erase_customer_data`, so each one is recorded with its reason.
"""

import logging
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.conf import settings
from django.db.models import Q
from django.utils import timezone

from customer_data.models import ConsentRecord, CustomerData, PersonalDataAccess
from customer_data.services import erase_customer_data

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class PurgeResult:
    stale: int
    outdated_consent: int
    access_rows: int


# Rows a batch reads and erases: memory and each query stay bounded however many are due.
PURGE_BATCH = 500


def _erase_each(user_ids: list[int], *, condition: Q, reason: str) -> int:
    """Erase each listed member whose row still meets `condition` under its lock; the count
    is of erasures done, not of members listed (a member may have saved since the listing)."""
    return sum(
        erase_customer_data(user_id=user_id, by=None, reason=reason, only_if=condition)
        for user_id in user_ids
    )


def _erase_in_batches(*, condition: Q, order: tuple[str, str], reason: str) -> int:
    """Erase the members whose data meets `condition`, `PURGE_BATCH` at a time, walking the
    rows in `order` (two columns, the last unique) from where the last batch ended: never a
    list of every member due, and a member who could not be erased is not read again. Each
    erasure is its own transaction with its record, so a run stopped midway leaves no member
    half-erased, and the next run finishes the rest."""
    first, last = order
    due = CustomerData.objects.holding_data().filter(condition).order_by(*order)
    done, after = 0, None
    while True:
        page = due
        if after is not None:
            page = due.filter(
                Q(**{f"{first}__gt": after[0]}) | Q(**{first: after[0], f"{last}__gt": after[1]})
            )
        batch = list(page.values_list(first, last)[:PURGE_BATCH])
        if not batch:
            return done
        done += _erase_each([row[1] for row in batch], condition=condition, reason=reason)
        after = batch[-1]


def _purge_access_log(*, before: datetime) -> int:
    """Delete access-log rows older than `before`, oldest first, `PURGE_BATCH` per DELETE (by
    the index on `at`): no statement holds the table for long."""
    old = PersonalDataAccess.objects.filter(at__lt=before).order_by("at", "pk")
    deleted = 0
    while ids := list(old.values_list("pk", flat=True)[:PURGE_BATCH]):
        deleted += PersonalDataAccess.objects.filter(pk__in=ids).purge()
    return deleted


def purge_stale_customer_data(*, now: datetime | None = None) -> PurgeResult:
    """Erase customer data unchanged for the retention period, erase data whose consent
    was for an older consent text once the grace period is over, and delete access-log
    rows past their own retention period.

    The rows are read in batches and erased one by one; each erasure checks its condition
    again on the locked row, so data saved after the batch was read is never erased as stale.
    """
    now = now or timezone.now()
    stale_before = now - timedelta(days=settings.CUSTOMER_DATA_RETENTION_DAYS)
    is_stale = Q(updated_at__lt=stale_before)
    stale = _erase_in_batches(
        condition=is_stale, order=("updated_at", "user_id"), reason=ConsentRecord.Reason.RETENTION
    )

    effective = datetime.combine(
        settings.CONSENT_TEXT_EFFECTIVE_DATE,
        datetime.min.time(),
        tzinfo=timezone.get_current_timezone(),
    )
    outdated = 0
    if now >= effective + timedelta(days=settings.CONSENT_REGRANT_GRACE_DAYS):
        is_outdated = ~Q(consent=True, consent_version=settings.CONSENT_TEXT_VERSION)
        outdated = _erase_in_batches(
            condition=is_outdated,
            order=("updated_at", "user_id"),
            reason=ConsentRecord.Reason.OUTDATED_CONSENT,
        )

    log_before = now - timedelta(days=settings.ACCESS_LOG_RETENTION_DAYS)
    deleted = _purge_access_log(before=log_before)
    logger.info(
        "Retention purge finished",
        extra={
            "event": "retention.purged",
            "stale": stale,
            "outdated_consent": outdated,
            "access_rows": deleted,
        },
    )
    return PurgeResult(stale=stale, outdated_consent=outdated, access_rows=deleted)
