"""When the numbers last changed (`numbers_updated_at`), beside when the further information
did: set only by a real change of the customer number or the phone number, cleared by every
erasure as the further information's date is, in the member's export, and filled for rows
stored before the column existed without decrypting anything."""

import importlib
import json
from datetime import UTC, datetime, timedelta

import pytest
from cryptography.fernet import Fernet
from django.apps import apps as django_apps
from django.db import connection
from django.utils import timezone

from customer_data.models import ConsentRecord, CustomerData
from customer_data.retention import purge_stale_customer_data
from customer_data.services import erase_customer_data, save_consent_and_values
from tests.factories import (
    CUSTOMER_NUMBER,
    FURTHER_INFO,
    MOBILE_NUMBER,
    OUTDATED_CONSENT_TEXT_VERSION,
    CustomerDataFactory,
)

pytestmark = pytest.mark.django_db

LONG_AGO = datetime(2025, 3, 14, 12, tzinfo=UTC)
MIGRATION = "customer_data.migrations.0005_customerdata_numbers_updated_at"


def store(user, **values) -> CustomerData:
    """All three sample values, with `values` instead of some (a "Speichern" on the Profil tab)."""
    return CustomerDataFactory(user=user, full=True, **values)


def age(data: CustomerData) -> None:
    CustomerData.objects.filter(pk=data.pk).update(
        numbers_updated_at=LONG_AGO, further_info_updated_at=LONG_AGO
    )


def dates(data: CustomerData) -> tuple[datetime | None, datetime | None]:
    data.refresh_from_db()
    return data.numbers_updated_at, data.further_info_updated_at


def test_storing_a_number_dates_the_numbers(people):
    before = timezone.now()
    numbers, info = dates(store(people["owner"]))
    assert numbers is not None
    assert numbers >= before
    assert info is not None


def test_saving_the_same_numbers_again_keeps_their_date(people):
    data = store(people["owner"])
    age(data)
    store(people["owner"])
    assert dates(data) == (LONG_AGO, LONG_AGO)


@pytest.mark.parametrize(
    "change", [{"customer_number": "1234567"}, {"mobile_number": "+491609876543"}]
)
def test_changing_either_number_moves_the_numbers_date_not_the_info_date(change, people):
    data = store(people["owner"])
    age(data)
    store(people["owner"], **change)
    numbers, info = dates(data)
    assert numbers > LONG_AGO
    assert info == LONG_AGO


def test_changing_only_the_further_info_leaves_the_numbers_date(people):
    data = store(people["owner"])
    age(data)
    store(people["owner"], further_info="Erreichbar ab 9 Uhr")
    numbers, info = dates(data)
    assert numbers == LONG_AGO
    assert info > LONG_AGO


def test_removing_one_number_is_a_change_and_removing_both_clears_the_date(people):
    data = store(people["owner"])
    age(data)
    store(people["owner"], mobile_number=None)
    assert dates(data)[0] > LONG_AGO
    store(people["owner"], customer_number=None, mobile_number=None)
    assert dates(data) == (None, data.further_info_updated_at)
    assert data.further_info == FURTHER_INFO


def test_info_alone_never_dates_the_numbers(people):
    data = CustomerDataFactory(user=people["owner"], further_info=FURTHER_INFO)
    assert dates(data)[0] is None


def test_withdrawing_consent_clears_both_dates(people):
    data = store(people["owner"])
    save_consent_and_values(
        user_id=people["owner"].pk, by=people["owner"], consent=False, cleaned={}
    )
    assert dates(data) == (None, None)


def test_erasure_clears_both_dates(people):
    data = store(people["owner"])
    assert erase_customer_data(user_id=people["owner"].pk, by=people["owner"])
    assert dates(data) == (None, None)


def test_the_retention_purge_clears_both_dates(people, settings):
    settings.CUSTOMER_DATA_RETENTION_DAYS = 30
    data = store(people["owner"])
    assert purge_stale_customer_data(now=timezone.now() + timedelta(days=31)).stale == 1
    assert dates(data) == (None, None)
    record = ConsentRecord.objects.filter(user=people["owner"]).first()
    assert record.reason == ConsentRecord.Reason.RETENTION


def test_consenting_again_to_a_new_text_dates_the_numbers_afresh(people):
    data = CustomerDataFactory(user=people["owner"], outdated_consent=True)
    age(data)
    # The old values do not carry over: storing them again under the new text is a change.
    store(people["owner"])
    numbers, info = dates(data)
    assert numbers > LONG_AGO
    assert info > LONG_AGO
    assert data.consent_version != OUTDATED_CONSENT_TEXT_VERSION


def test_the_export_has_both_dates(people, login):
    data = store(people["owner"])
    age(data)
    payload = json.loads(login(people["owner"]).post("/settings/privacy/export/").content)
    exported = payload["customer_data"]
    assert exported["numbers_updated_at"] == LONG_AGO.isoformat()
    assert exported["further_info_updated_at"] == LONG_AGO.isoformat()


# --- The migration that added the column ---


def date_stored_numbers() -> None:
    importlib.import_module(MIGRATION).date_stored_numbers(django_apps, connection.schema_editor())


def test_the_migration_dates_rows_with_a_number_from_their_last_save(people):
    with_numbers = store(people["owner"])
    mobile_only = CustomerDataFactory(user=people["member"], mobile_number=MOBILE_NUMBER)
    info_only = CustomerDataFactory(user=people["regular"], further_info=FURTHER_INFO)
    empty = CustomerDataFactory(user=people["expert"])
    CustomerData.objects.update(numbers_updated_at=None)  # as before the migration

    date_stored_numbers()

    for data in (with_numbers, mobile_only):
        data.refresh_from_db()
        assert data.numbers_updated_at == data.updated_at
    for data in (info_only, empty):
        data.refresh_from_db()
        assert data.numbers_updated_at is None


def test_the_migration_decides_by_the_index_columns_and_decrypts_nothing(people, settings):
    indexed = store(people["owner"])
    unindexed = store(people["member"], customer_number=CUSTOMER_NUMBER)
    # A phone number stored before the phone index existed, its rebuild not yet run, and no
    # customer number: the index columns say "no number", so no date.
    CustomerData.objects.filter(pk=unindexed.pk).update(
        customer_number_bidx=None, mobile_number_bidx=None
    )
    CustomerData.objects.update(numbers_updated_at=None)
    # With a key that opens none of the stored values, any decryption would raise.
    settings.FIELD_ENCRYPTION_KEYS = [Fernet.generate_key().decode()]

    date_stored_numbers()

    rows = dict(CustomerData.objects.values_list("pk", "numbers_updated_at"))
    assert rows[indexed.pk] is not None
    assert rows[unindexed.pk] is None
