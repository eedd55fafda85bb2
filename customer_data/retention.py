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


def _holding_data() -> Q:
    return Q(consent=True) | Q(filled_count__gt=0)


def purge_stale_customer_data(*, now: datetime | None = None) -> PurgeResult:
    """Erase customer data unchanged for the retention period, erase data whose consent
    was for an older consent text once the grace period is over, and delete access-log
    rows past their own retention period."""
    now = now or timezone.now()
    stale_before = now - timedelta(days=settings.CUSTOMER_DATA_RETENTION_DAYS)
    stale_ids = list(
        CustomerData.objects.filter(_holding_data(), updated_at__lt=stale_before).values_list(
            "user_id", flat=True
        )
    )
    for user_id in stale_ids:
        erase_customer_data(user_id=user_id, by=None, reason=ConsentRecord.Reason.RETENTION)

    effective = datetime.combine(
        settings.CONSENT_TEXT_EFFECTIVE_DATE,
        datetime.min.time(),
        tzinfo=timezone.get_current_timezone(),
    )
    outdated_ids: list[int] = []
    if now >= effective + timedelta(days=settings.CONSENT_REGRANT_GRACE_DAYS):
        outdated_ids = list(
            CustomerData.objects.filter(_holding_data())
            .exclude(consent=True, consent_version=settings.CONSENT_TEXT_VERSION)
            .values_list("user_id", flat=True)
        )
        for user_id in outdated_ids:
            erase_customer_data(
                user_id=user_id, by=None, reason=ConsentRecord.Reason.OUTDATED_CONSENT
            )

    log_before = now - timedelta(days=settings.ACCESS_LOG_RETENTION_DAYS)
    deleted, _ = PersonalDataAccess.objects.filter(at__lt=log_before).delete()
    return PurgeResult(
        stale=len(stale_ids), outdated_consent=len(outdated_ids), access_rows=deleted
    )
