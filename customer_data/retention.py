"""Retention: erase what has been kept too long, and thin out the access log.

Run daily: `python manage.py purge_stale_customer_data`. Every erasure goes through
`services.erase_customer_data`, so each one is recorded with its reason.
"""

from dataclasses import dataclass
from datetime import datetime, timedelta

from django.conf import settings
from django.db.models import Q
from django.utils import timezone

from customer_data.models import ConsentRecord, CustomerData, PersonalDataAccess
from customer_data.services import erase_customer_data


@dataclass(frozen=True)
class PurgeResult:
    stale: int
    outdated_consent: int
    access_rows: int


def _erase_each(user_ids: list[int], *, condition: Q, reason: str) -> int:
    """Erase each listed member whose row still meets `condition` under its lock; the count
    is of erasures done, not of members listed (a member may have saved since the listing)."""
    return sum(
        erase_customer_data(user_id=user_id, by=None, reason=reason, only_if=condition)
        for user_id in user_ids
    )


def purge_stale_customer_data(*, now: datetime | None = None) -> PurgeResult:
    """Erase customer data unchanged for the retention period, erase data whose consent
    was for an older consent text once the grace period is over, and delete access-log
    rows past their own retention period.

    The rows are listed first and erased one by one; each erasure checks its condition
    again on the locked row, so data saved after the listing is never erased as stale.
    """
    now = now or timezone.now()
    stale_before = now - timedelta(days=settings.CUSTOMER_DATA_RETENTION_DAYS)
    is_stale = Q(updated_at__lt=stale_before)
    stale = _erase_each(
        list(
            CustomerData.objects.holding_data().filter(is_stale).values_list("user_id", flat=True)
        ),
        condition=is_stale,
        reason=ConsentRecord.Reason.RETENTION,
    )

    effective = datetime.combine(
        settings.CONSENT_TEXT_EFFECTIVE_DATE,
        datetime.min.time(),
        tzinfo=timezone.get_current_timezone(),
    )
    outdated = 0
    if now >= effective + timedelta(days=settings.CONSENT_REGRANT_GRACE_DAYS):
        is_outdated = ~Q(consent=True, consent_version=settings.CONSENT_TEXT_VERSION)
        outdated = _erase_each(
            list(
                CustomerData.objects.holding_data()
                .filter(is_outdated)
                .values_list("user_id", flat=True)
            ),
            condition=is_outdated,
            reason=ConsentRecord.Reason.OUTDATED_CONSENT,
        )

    log_before = now - timedelta(days=settings.ACCESS_LOG_RETENTION_DAYS)
    deleted = PersonalDataAccess.objects.filter(at__lt=log_before).purge()
    return PurgeResult(stale=stale, outdated_consent=outdated, access_rows=deleted)
