"""The retention purge in bounded batches: never a list of everyone due, each erasure its own
transaction with its record, a stopped run leaves no member half-erased and the next run
finishes; the access log is thinned a batch per DELETE."""

from datetime import timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from customer_data import retention
from customer_data.models import ConsentRecord, CustomerData, PersonalDataAccess
from tests.factories import CustomerDataFactory, PersonalDataAccessFactory, UserFactory
from tests.privacy.test_retention import age

pytestmark = pytest.mark.django_db


@pytest.fixture
def small_batches(monkeypatch):
    monkeypatch.setattr(retention, "PURGE_BATCH", 2)


def stale_members(count: int, *, days: int = 800) -> list[CustomerData]:
    rows = [CustomerDataFactory(user=UserFactory(), full=True) for _ in range(count)]
    for row in rows:
        age(row, days)
    return rows


def erased(rows: list[CustomerData]) -> list[bool]:
    return [
        CustomerData.objects.get(pk=row.pk).filled_count == 0
        and ConsentRecord.objects.filter(user_id=row.user_id, reason="retention").exists()
        for row in rows
    ]


def test_every_stale_member_is_erased_a_batch_at_a_time(settings, small_batches):
    settings.CUSTOMER_DATA_RETENTION_DAYS = 730
    rows = stale_members(7)
    fresh = CustomerDataFactory(user=UserFactory(), full=True)

    with CaptureQueriesContext(connection) as queries:
        result = retention.purge_stale_customer_data()

    assert result.stale == 7
    assert erased(rows) == [True] * 7
    assert CustomerData.objects.get(pk=fresh.pk).filled_count == 3
    # No query reads more than a batch of ids.
    listings = [q["sql"] for q in queries if 'FROM "customer_data_customerdata"' in q["sql"]]
    assert listings
    assert all("LIMIT" in sql for sql in listings if '"user_id"' in sql.split("FROM")[0])


def test_a_run_stopped_midway_leaves_no_half_erased_member_and_the_next_finishes(
    settings, small_batches, monkeypatch
):
    settings.CUSTOMER_DATA_RETENTION_DAYS = 730
    rows = stale_members(5)
    erase_each = retention._erase_each
    calls = []

    def stop_on_the_second_batch(user_ids, **kwargs):
        calls.append(user_ids)
        if len(calls) == 2:
            raise KeyboardInterrupt
        return erase_each(user_ids, **kwargs)

    monkeypatch.setattr(retention, "_erase_each", stop_on_the_second_batch)
    with pytest.raises(KeyboardInterrupt):
        retention.purge_stale_customer_data()

    done = erased(rows)
    assert done.count(True) == 2
    for row, is_erased in zip(rows, done, strict=True):
        stored = CustomerData.objects.get(pk=row.pk)
        # Whole or gone: never some values left without their record, or the reverse.
        assert (stored.filled_count, stored.customer_number is None) in {(3, False), (0, True)}
        assert is_erased == (stored.filled_count == 0)

    monkeypatch.setattr(retention, "_erase_each", erase_each)
    assert retention.purge_stale_customer_data().stale == 3
    assert erased(rows) == [True] * 5


def test_a_member_who_saves_after_the_batch_was_read_is_kept(settings, small_batches, monkeypatch):
    settings.CUSTOMER_DATA_RETENTION_DAYS = 730
    rows = stale_members(3)
    erase_each = retention._erase_each

    def save_first(user_ids, **kwargs):
        # The first member of the batch saves between the listing and the erasure.
        CustomerData.objects.filter(user_id=user_ids[0]).update(updated_at=timezone.now())
        return erase_each(user_ids, **kwargs)

    monkeypatch.setattr(retention, "_erase_each", save_first)
    result = retention.purge_stale_customer_data()

    assert result.stale == 1  # of the 2 + 1 listed, the first of each batch saved in time
    assert erased(rows).count(True) == 1


def test_the_access_log_is_thinned_a_batch_per_delete(settings, small_batches, people):
    settings.ACCESS_LOG_RETENTION_DAYS = 365
    old = timezone.now() - timedelta(days=400)
    for _ in range(5):
        PersonalDataAccessFactory(viewer=people["team"], subject=people["owner"], at=old)
    kept = PersonalDataAccessFactory(viewer=people["team"], subject=people["owner"])

    with CaptureQueriesContext(connection) as queries:
        assert retention.purge_stale_customer_data().access_rows == 5

    deletes = [q["sql"] for q in queries if q["sql"].startswith("DELETE")]
    assert len(deletes) == 3  # 2 + 2 + 1
    assert list(PersonalDataAccess.objects.values_list("pk", flat=True)) == [kept.pk]
