"""Changing the blind-index key, and what account deletion leaves behind."""

import pytest
from django.contrib.auth import get_user_model
from django.core.management import call_command

from customer_data import crypto
from customer_data.models import ConsentRecord, CustomerData, PersonalDataAccess
from customer_data.services import record_access, save_consent_and_values
from profiles.models import Profile

pytestmark = pytest.mark.django_db
NUMBER = "4711081512"


def test_rebuild_blind_index_after_the_key_changed(people, settings):
    owner = people["owner"]
    save_consent_and_values(
        user_id=owner.pk, by=owner, consent=True, cleaned={"customer_number": NUMBER}
    )
    settings.BLIND_INDEX_KEY = "a-completely-new-index-key-" + "n" * 32
    assert not CustomerData.objects.filter(customer_number_bidx=crypto.blind_index(NUMBER)).exists()
    call_command("rebuild_blind_index", batch_size=1)
    assert CustomerData.objects.get(customer_number_bidx=crypto.blind_index(NUMBER)).user == owner


def test_deleting_an_account_removes_its_data_and_keeps_others_logs_honest(people):
    owner, team = people["owner"], people["team"]
    save_consent_and_values(
        user_id=owner.pk, by=owner, consent=True, cleaned={"customer_number": NUMBER}
    )
    save_consent_and_values(
        user_id=team.pk, by=team, consent=True, cleaned={"customer_number": "1234567"}
    )
    record_access(viewer=team, subject_id=owner.pk, channel="profile", fields=["customer_number"])
    seen_by_owner = record_access(
        viewer=owner, subject_id=team.pk, channel="profile", fields=["customer_number"]
    )
    owner.delete()
    assert not Profile.objects.filter(user_id=owner.pk).exists()
    assert not CustomerData.objects.filter(user_id=owner.pk).exists()
    assert not ConsentRecord.objects.filter(user_id=owner.pk).exists()
    assert not PersonalDataAccess.objects.filter(subject_id=owner.pk).exists()
    seen_by_owner.refresh_from_db()
    assert seen_by_owner.viewer is None
    assert get_user_model().objects.filter(pk=team.pk).exists()
