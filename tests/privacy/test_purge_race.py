"""The retention purge against a member who saves while it runs: what was saved stays."""

import threading
from datetime import timedelta

import pytest
from django.db import connection, connections, transaction
from django.utils import timezone

from customer_data import retention
from customer_data.models import ConsentRecord, CustomerData
from customer_data.retention import purge_stale_customer_data
from customer_data.services import erase_customer_data
from tests.factories import CUSTOMER_NUMBER, CustomerDataFactory, UserFactory

# What the member saves while the purge runs: other values than the stale ones.
FRESH = {"customer_number": "99887766", "mobile_number": "+491701112233", "further_info": "neu"}


def store(user, **values) -> CustomerData:
    """The sample customer number alone, or `values` (as a save of the Profil tab)."""
    return CustomerDataFactory(user=user, **({"customer_number": CUSTOMER_NUMBER} | values))


def make_stale(user) -> None:
    past = timezone.now() - timedelta(days=800)
    CustomerData.objects.filter(user=user).update(updated_at=past)


@pytest.mark.django_db
def test_data_saved_after_the_purge_listed_a_member_is_kept(monkeypatch):
    saver, idle = UserFactory(), UserFactory()
    for user in (saver, idle):
        store(user)
        make_stale(user)

    def member_saves_first(*, user_id, **kwargs):
        # The member presses "Speichern" between the purge's listing and its erasure.
        if user_id == saver.pk:
            store(saver, **FRESH)
        return erase_customer_data(user_id=user_id, **kwargs)

    monkeypatch.setattr(retention, "erase_customer_data", member_saves_first)
    result = purge_stale_customer_data()

    assert result.stale == 1  # erased, not listed: the saver was listed too
    kept = CustomerData.objects.get(user=saver)
    assert (kept.customer_number, kept.further_info, kept.filled_count) == ("99887766", "neu", 3)
    assert not ConsentRecord.objects.filter(user=saver, action="withdrawn").exists()
    assert CustomerData.objects.get(user=idle).filled_count == 0


@pytest.mark.django_db
def test_consent_granted_anew_after_the_listing_is_kept(monkeypatch, settings):
    settings.CONSENT_TEXT_VERSION = "2026-11"
    settings.CONSENT_TEXT_EFFECTIVE_DATE = (timezone.now() - timedelta(days=400)).date()
    settings.CONSENT_REGRANT_GRACE_DAYS = 90
    member = UserFactory()
    settings.CONSENT_TEXT_VERSION = "2025-01"
    store(member)
    settings.CONSENT_TEXT_VERSION = "2026-11"

    def member_consents_first(*, user_id, **kwargs):
        store(member, **FRESH)  # consent for the current text, fresh values
        return erase_customer_data(user_id=user_id, **kwargs)

    monkeypatch.setattr(retention, "erase_customer_data", member_consents_first)
    result = purge_stale_customer_data()

    assert result.outdated_consent == 0
    assert CustomerData.objects.get(user=member).filled_count == 3


@pytest.mark.skipif(
    connection.vendor != "postgresql", reason="row locks across connections: PostgreSQL"
)
@pytest.mark.django_db(transaction=True)
def test_purge_waiting_on_a_members_save_rechecks_the_row_it_then_locks(monkeypatch):
    """Two connections: the member's save holds the row lock when the purge reaches the row;
    the purge waits, then sees the saved row and leaves it alone."""
    member = UserFactory()
    store(member)
    make_stale(member)
    listed = threading.Barrier(2, timeout=10)
    saving = threading.Barrier(2, timeout=10)
    errors: list[BaseException] = []

    def purge_after_listing(*, user_id, **kwargs):
        listed.wait()  # the purge has listed the member as stale
        saving.wait()  # the member's transaction holds the row lock now
        return erase_customer_data(user_id=user_id, **kwargs)

    def member_saves():
        try:
            listed.wait()
            with transaction.atomic():
                store(member, **FRESH)
                saving.wait()
                # Keep the lock a moment so the purge is waiting on it when this commits.
                with connection.cursor() as cursor:
                    cursor.execute("SELECT pg_sleep(0.3)")
        except BaseException as exc:  # pragma: no cover - reported below
            errors.append(exc)
        finally:
            connections.close_all()

    monkeypatch.setattr(retention, "erase_customer_data", purge_after_listing)
    thread = threading.Thread(target=member_saves)
    thread.start()
    result = purge_stale_customer_data()
    thread.join(timeout=20)

    assert not errors
    assert result.stale == 0
    kept = CustomerData.objects.get(user=member)
    assert (kept.customer_number, kept.filled_count) == ("99887766", 3)
    assert not ConsentRecord.objects.filter(user=member, action="withdrawn").exists()


@pytest.mark.django_db
def test_the_purge_reports_erasures_not_listings(monkeypatch):
    members = [UserFactory() for _ in range(3)]
    for user in members:
        store(user)
        make_stale(user)

    def another_run_got_there_first(*, user_id, **kwargs):
        # A second purge running at the same time erased this member already.
        erase_customer_data(user_id=user_id, by=None, reason=ConsentRecord.Reason.RETENTION)
        return erase_customer_data(user_id=user_id, **kwargs)

    monkeypatch.setattr(retention, "erase_customer_data", another_run_got_there_first)
    assert purge_stale_customer_data().stale == 0
    for user in members:
        assert ConsentRecord.objects.filter(user=user, action="withdrawn").count() == 1
