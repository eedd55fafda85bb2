"""The benchmark's data set is written by the app's own form and services."""

import pytest
from django.conf import settings
from django.contrib.auth import get_user_model

from bench import seed
from customer_data.models import ConsentRecord, CustomerData, PersonalDataAccess

pytestmark = pytest.mark.django_db


@pytest.fixture
def members(people, monkeypatch):
    monkeypatch.setattr(seed, "ACCESS_ROWS", 20)
    seed.create_members(30, "bench-password")
    return get_user_model().objects.filter(username__startswith=seed.PREFIX)


def test_every_member_has_a_profile_and_the_shared_password(members):
    assert members.count() == 30
    assert all(user.profile.rank is not None for user in members.select_related("profile"))
    assert members.get(username=seed.OWNER).check_password("bench-password")


def test_a_third_store_consented_normalised_customer_data(members):
    rows = CustomerData.objects.filter(user__in=members)
    owner = rows.get(user__username=seed.OWNER)

    assert rows.count() == 10
    assert all(row.consent_is_current and 1 <= row.filled_count <= 3 for row in rows)
    assert owner.filled_count == 3
    assert owner.customer_number.isdigit()
    assert owner.customer_number_bidx
    assert owner.mobile_number.startswith("+49")


def test_consent_history_and_access_log_come_from_the_services(members, people):
    owner = members.get(username=seed.OWNER)
    history = ConsentRecord.objects.filter(user=owner).order_by("at", "pk")

    assert [(r.action, r.reason, r.consent_text_version) for r in history] == [
        ("granted", "member", seed.OLD_CONSENT_VERSION),
        ("withdrawn", "outdated", seed.OLD_CONSENT_VERSION),
        ("granted", "member", settings.CONSENT_TEXT_VERSION),
    ]
    log = PersonalDataAccess.objects.filter(viewer=people["team"])
    assert log.count() == 20 + seed.OWNER_ACCESS_ROWS
    assert log.filter(subject=owner).count() >= seed.OWNER_ACCESS_ROWS
