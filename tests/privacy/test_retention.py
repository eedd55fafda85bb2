"""Retention, stale reminders and consent-text versions, with time travel."""

import re
from datetime import date, timedelta

import pytest
from django.core.management import call_command
from django.utils import timezone

from customer_data.models import ConsentRecord, CustomerData, PersonalDataAccess
from customer_data.retention import purge_stale_customer_data
from customer_data.services import save_consent_and_values
from tests.factories import CUSTOMER_NUMBER, CustomerDataFactory, PersonalDataAccessFactory

pytestmark = pytest.mark.django_db


def store(user, **values) -> CustomerData:
    """All three sample values, with `values` instead of some."""
    return CustomerDataFactory(user=user, full=True, **values)


def age(data: CustomerData, days: int) -> None:
    past = timezone.now() - timedelta(days=days)
    CustomerData.objects.filter(pk=data.pk).update(
        updated_at=past, numbers_updated_at=past, further_info_updated_at=past
    )


def test_purge_erases_data_unchanged_past_retention_and_records_why(people, settings):
    settings.CUSTOMER_DATA_RETENTION_DAYS = 730
    old, fresh = store(people["owner"]), store(people["member"])
    age(old, 731)
    age(fresh, 729)
    result = purge_stale_customer_data()
    assert result.stale == 1
    old.refresh_from_db()
    fresh.refresh_from_db()
    assert (old.customer_number, old.mobile_number, old.further_info, old.filled_count) == (
        None,
        None,
        None,
        0,
    )
    assert fresh.customer_number == CUSTOMER_NUMBER
    record = ConsentRecord.objects.filter(user=people["owner"]).first()
    assert (record.action, record.reason, record.by) == ("withdrawn", "retention", None)
    assert not ConsentRecord.objects.filter(user=people["member"], action="withdrawn").exists()


def test_purge_by_time_travel_into_the_future(people, settings):
    settings.CUSTOMER_DATA_RETENTION_DAYS = 30
    data = store(people["owner"])
    assert purge_stale_customer_data(now=timezone.now() + timedelta(days=29)).stale == 0
    assert purge_stale_customer_data(now=timezone.now() + timedelta(days=31)).stale == 1
    data.refresh_from_db()
    assert data.filled_count == 0


def test_purge_deletes_old_access_log_rows_only(people, settings):
    settings.ACCESS_LOG_RETENTION_DAYS = 365
    owner = people["owner"]
    PersonalDataAccessFactory(
        viewer=people["team"], subject=owner, at=timezone.now() - timedelta(days=366)
    )
    recent = PersonalDataAccessFactory(viewer=people["team"], subject=owner)
    assert purge_stale_customer_data().access_rows == 1
    assert list(PersonalDataAccess.objects.values_list("pk", flat=True)) == [recent.pk]


def test_purge_command_reports_counts(people, settings, capsys):
    settings.CUSTOMER_DATA_RETENTION_DAYS = 1
    age(store(people["owner"]), 2)
    call_command("purge_stale_customer_data")
    out = capsys.readouterr().out
    assert "1 Kundendaten nach Speicherfrist" in out
    assert CUSTOMER_NUMBER not in out


def test_profile_tab_reminds_when_further_info_is_old(people, login, settings):
    settings.FURTHER_INFO_STALE_DAYS = 182
    data = store(people["owner"])
    client = login(people["owner"])
    assert "schon länger unverändert" not in client.get("/settings/profile/").text
    CustomerData.objects.filter(pk=data.pk).update(
        further_info_updated_at=timezone.now() - timedelta(days=183)
    )
    assert "schon länger unverändert" in client.get("/settings/profile/").text


def test_further_info_age_resets_only_when_it_changes(people):
    owner = people["owner"]
    data = store(owner)
    first = data.further_info_updated_at
    same = store(owner, customer_number="1234567")
    assert same.further_info_updated_at == first
    changed = store(owner, further_info="Neue Störung 9911")
    assert changed.further_info_updated_at > first


class TestConsentTextVersion:
    @pytest.fixture
    def outdated(self, people):
        """All three values, consented to under a consent text no longer in force."""
        return CustomerDataFactory(user=people["owner"], outdated_consent=True)

    def test_old_consent_counts_as_absent_on_the_profile_tab(self, outdated, people, login):
        text = login(people["owner"]).get("/settings/profile/").text
        assert "0 % Profildaten ausgefüllt" in text
        fields_tag = re.search(r"<div[^>]*data-consent-fields[^>]*>", text).group(0)
        assert " hidden" in fields_tag
        assert CUSTOMER_NUMBER not in text

    def test_staff_see_nothing_and_ring_reads_zero(self, outdated, people, login):
        text = login(people["team"]).get("/members/owner/").text
        assert CUSTOMER_NUMBER not in text
        assert "0 % Profildaten ausgefüllt" in text
        assert not PersonalDataAccess.objects.exists()
        assert "0 % Profildaten" in login(people["expert"]).get("/members/owner/").text

    def test_privacy_tab_asks_for_new_consent(self, outdated, people, login):
        assert (
            "Der Einwilligungstext hat sich geändert"
            in login(people["owner"]).get("/settings/privacy/").text
        )

    def test_new_consent_is_recorded_for_the_new_version_and_old_values_do_not_carry_over(
        self, outdated, people, settings
    ):
        owner = people["owner"]
        data = save_consent_and_values(
            user_id=owner.pk, by=owner, consent=True, cleaned={"mobile_number": "+4922812345"}
        )
        assert data.consent_is_current
        assert data.customer_number is None
        assert data.fill_percentage == 33
        grant = ConsentRecord.objects.filter(user=owner).first()
        assert (grant.action, grant.consent_text_version) == (
            "granted",
            settings.CONSENT_TEXT_VERSION,
        )

    def test_purge_erases_outdated_consents_after_the_grace_period(
        self, outdated, people, settings
    ):
        settings.CONSENT_TEXT_EFFECTIVE_DATE = timezone.localdate()
        settings.CONSENT_REGRANT_GRACE_DAYS = 90
        old_version = outdated.consent_version
        assert (
            purge_stale_customer_data(now=timezone.now() + timedelta(days=89)).outdated_consent == 0
        )
        assert (
            purge_stale_customer_data(now=timezone.now() + timedelta(days=91)).outdated_consent == 1
        )
        outdated.refresh_from_db()
        assert outdated.filled_count == 0
        record = ConsentRecord.objects.filter(user=people["owner"]).first()
        assert (record.reason, record.consent_text_version) == ("outdated", old_version)

    def test_purge_leaves_current_consents_alone(self, people, settings):
        data = store(people["owner"])
        settings.CONSENT_TEXT_EFFECTIVE_DATE = date(2020, 1, 1)
        assert purge_stale_customer_data().outdated_consent == 0
        data.refresh_from_db()
        assert data.customer_number == CUSTOMER_NUMBER
