"""Reads of customer data, consent records and the access log. Selectors shape querysets."""

from datetime import timedelta

from django.conf import settings
from django.db.models import QuerySet
from django.utils import timezone

from customer_data.models import ENCRYPTED_FIELDS, ConsentRecord, CustomerData, PersonalDataAccess


def get_customer_data(*, user_id: int) -> CustomerData | None:
    """The member's row with the values (decrypted on access), or None."""
    return CustomerData.objects.filter(user_id=user_id).first()


def get_fill_state(*, user_id: int) -> CustomerData | None:
    """The member's row without the encrypted columns: enough for the ring, nothing more."""
    return CustomerData.objects.defer(*ENCRYPTED_FIELDS).filter(user_id=user_id).first()


def list_consent_records(*, user_id: int) -> QuerySet[ConsentRecord]:
    return ConsentRecord.objects.filter(user_id=user_id).order_by("-at", "-pk")


def list_accesses_to(*, subject_id: int) -> QuerySet[PersonalDataAccess]:
    """Who saw this member's data, newest first, with the viewer's profile for display."""
    return (
        PersonalDataAccess.objects.filter(subject_id=subject_id)
        .select_related("viewer__profile")
        .order_by("-at", "-pk")
    )


def further_info_is_stale(data: CustomerData | None) -> bool:
    """Whether "Weitere Informationen" is old enough to remind the member to check it."""
    if data is None or not data.further_info_updated_at or not data.consent_is_current:
        return False
    age = timezone.now() - data.further_info_updated_at
    return age > timedelta(days=settings.FURTHER_INFO_STALE_DAYS)
