"""Changing the blind-index key, and what account deletion leaves behind."""

import pytest
from django.contrib.auth import get_user_model
from django.core.management import call_command

from customer_data import crypto
from customer_data.models import ConsentRecord, CustomerData, PersonalDataAccess
from profiles.models import Profile
from tests.factories import CUSTOMER_NUMBER, CustomerDataFactory, PersonalDataAccessFactory

pytestmark = pytest.mark.django_db


def test_rebuild_blind_index_after_the_key_changed(people, settings):
    owner = people["owner"]
    CustomerDataFactory(user=owner, full=True)
    settings.BLIND_INDEX_KEY = "a-completely-new-index-key-" + "n" * 32
    assert not CustomerData.objects.filter(
        customer_number_bidx=crypto.blind_index(CUSTOMER_NUMBER)
    ).exists()
    call_command("rebuild_blind_index", batch_size=1)
    assert (
        CustomerData.objects.get(customer_number_bidx=crypto.blind_index(CUSTOMER_NUMBER)).user
        == owner
    )


def test_deleting_an_account_removes_its_data_and_keeps_others_logs_honest(people):
    owner, team = people["owner"], people["team"]
    CustomerDataFactory(user=owner, full=True)
    CustomerDataFactory(user=team, customer_number="1234567")
    PersonalDataAccessFactory(viewer=team, subject=owner)
    seen_by_owner = PersonalDataAccessFactory(viewer=owner, subject=team)
    owner.delete()
    assert not Profile.objects.filter(user_id=owner.pk).exists()
    assert not CustomerData.objects.filter(user_id=owner.pk).exists()
    assert not ConsentRecord.objects.filter(user_id=owner.pk).exists()
    assert not PersonalDataAccess.objects.filter(subject_id=owner.pk).exists()
    seen_by_owner.refresh_from_db()
    assert seen_by_owner.viewer is None
    assert get_user_model().objects.filter(pk=team.pk).exists()
