"""Reads of customer data, consent records and the access log. Selectors shape querysets."""

from datetime import timedelta

from django.conf import settings
from django.contrib.auth.models import AbstractBaseUser
from django.core.exceptions import ObjectDoesNotExist
from django.db.models import QuerySet
from django.utils import timezone

from customer_data.models import ENCRYPTED_FIELDS, ConsentRecord, CustomerData, PersonalDataAccess
from customer_data.permissions import Visibility

# Paths from a Profile row to the encrypted columns, for `defer()` on joined queries.
ENCRYPTED_FROM_PROFILE = tuple(f"user__customer_data__{name}" for name in ENCRYPTED_FIELDS)


def get_customer_data(*, user_id: int) -> CustomerData | None:
    """The member's row with the values (decrypted on access), or None."""
    return CustomerData.objects.filter(user_id=user_id).first()


def get_fill_state(*, user_id: int) -> CustomerData | None:
    """The member's row without the encrypted columns: enough for the ring, nothing more."""
    return CustomerData.objects.defer(*ENCRYPTED_FIELDS).filter(user_id=user_id).first()


def with_customer_data(qs: QuerySet, level: Visibility) -> QuerySet:
    """Join a Profile queryset to its customer data as far as `level` allows, and no further.

    Contents: the whole row. Ring only: the row without the encrypted columns, so nothing
    is decrypted or even read. Nothing: no join at all.
    """
    if level is Visibility.NONE:
        return qs
    qs = qs.select_related("user__customer_data")
    return qs if level.shows_contents else qs.defer(*ENCRYPTED_FROM_PROFILE)


def customer_data_of(user: AbstractBaseUser) -> CustomerData | None:
    """The user's loaded customer data, or None when the member has none."""
    try:
        return user.customer_data  # type: ignore[attr-defined,no-any-return]
    except ObjectDoesNotExist:
        return None


def list_consent_records(*, user_id: int) -> QuerySet[ConsentRecord]:
    return ConsentRecord.objects.filter(user_id=user_id).order_by("-at", "-pk")


def list_accesses_to(*, subject_id: int) -> QuerySet[PersonalDataAccess]:
    """Who saw this member's data, newest first; each row names the viewer as they were."""
    return PersonalDataAccess.objects.filter(subject_id=subject_id).order_by("-at", "-pk")


def further_info_is_stale(data: CustomerData | None) -> bool:
    """Whether "Weitere Informationen" is old enough to remind the member to check it."""
    if data is None or not data.further_info_updated_at or not data.consent_is_current:
        return False
    age = timezone.now() - data.further_info_updated_at
    return age > timedelta(days=settings.FURTHER_INFO_STALE_DAYS)


def get_customer_data_by_pk(*, pk: int) -> CustomerData | None:
    return CustomerData.objects.filter(pk=pk).first()
