"""The write path: consent, storage, withdrawal and erasure, a new consent text, the access log."""

import pytest
from django.db import IntegrityError, transaction

from customer_data import crypto
from customer_data.models import (
    ENCRYPTED_FIELDS,
    ConsentRecord,
    CustomerData,
    PersonalDataAccess,
)
from customer_data.permissions import Visibility, shown_values
from customer_data.services import erase_customer_data, record_access, save_consent_and_values
from tests.factories import CUSTOMER_NUMBER, VALUES, CustomerDataFactory, UserFactory
from tests.helpers import raw_row

pytestmark = pytest.mark.django_db

GRANTED = ConsentRecord.Action.GRANTED
WITHDRAWN = ConsentRecord.Action.WITHDRAWN


class Boom(Exception):
    """Raised by a monkeypatched step to simulate a failure midway."""


def records(user) -> list[tuple[str, str]]:
    return list(
        ConsentRecord.objects.filter(user=user)
        .order_by("at", "pk")
        .values_list("action", "consent_text_version")
    )


def consent_and_store(user, **values: str) -> CustomerData:
    return save_consent_and_values(user_id=user.pk, by=user, consent=True, cleaned=values)


@pytest.fixture
def member():
    return UserFactory()


@pytest.fixture
def stored(member):
    """A member who consented and stored all three values."""
    CustomerDataFactory(user=member, full=True)
    return member


# --- Granting consent ---


def test_saving_with_consent_stores_the_values_and_records_the_grant_once(member, settings):
    data = consent_and_store(member, **VALUES)

    data.refresh_from_db()
    assert {name: getattr(data, name) for name in ENCRYPTED_FIELDS} == VALUES
    assert data.consent is True
    assert data.consent_version == settings.CONSENT_TEXT_VERSION
    assert data.consented_at is not None
    assert data.customer_number_bidx == crypto.blind_index(VALUES["customer_number"])
    record = ConsentRecord.objects.get(user=member)
    assert record.action == GRANTED
    assert record.consent_text_version == settings.CONSENT_TEXT_VERSION
    assert record.by == member
    assert record.reason == ConsentRecord.Reason.MEMBER


def test_a_second_save_with_consent_records_no_second_grant(member, settings):
    consent_and_store(member, **VALUES)
    first_consented_at = CustomerData.objects.get(user=member).consented_at

    consent_and_store(member, customer_number="987654321")

    assert records(member) == [(GRANTED, settings.CONSENT_TEXT_VERSION)]
    data = CustomerData.objects.get(user=member)
    assert data.consented_at == first_consented_at
    assert data.customer_number == "987654321"
    assert data.mobile_number is None


def test_consent_without_values_records_the_grant_and_stores_nothing(member, settings):
    data = consent_and_store(member)

    assert data.consent_is_current
    assert data.fill_percentage == 0
    assert raw_row(member.pk)["customer_number"] is None
    assert records(member) == [(GRANTED, settings.CONSENT_TEXT_VERSION)]


# --- Refusing to store without consent ---


def test_without_consent_nothing_is_stored_even_when_values_are_passed(member):
    save_consent_and_values(user_id=member.pk, by=member, consent=False, cleaned=VALUES)

    row = raw_row(member.pk)
    assert row == {
        "customer_number": None,
        "mobile_number": None,
        "further_info": None,
        "customer_number_bidx": None,
        "consent": False,
        "filled_count": 0,
    }
    assert not ConsentRecord.objects.filter(user=member).exists()


def test_the_database_refuses_contents_without_consent(member):
    with pytest.raises(IntegrityError), transaction.atomic():
        CustomerData.objects.create(user=member, consent=False, customer_number=CUSTOMER_NUMBER)


# --- Withdrawal ---


def test_withdrawal_erases_the_three_values_and_the_blind_index_and_records_it(stored, settings):
    save_consent_and_values(user_id=stored.pk, by=stored, consent=False, cleaned=VALUES)

    row = raw_row(stored.pk)
    assert row["customer_number"] is None
    assert row["mobile_number"] is None
    assert row["further_info"] is None
    assert row["customer_number_bidx"] is None
    assert row["filled_count"] == 0
    assert not row["consent"]
    assert records(stored) == [
        (GRANTED, settings.CONSENT_TEXT_VERSION),
        (WITHDRAWN, settings.CONSENT_TEXT_VERSION),
    ]
    withdrawal = ConsentRecord.objects.get(user=stored, action=WITHDRAWN)
    assert withdrawal.by == stored
    data = CustomerData.objects.get(user=stored)
    assert data.fill_percentage == 0
    assert data.consented_at is None
    assert data.numbers_updated_at is None
    assert data.further_info_updated_at is None


def test_saving_without_consent_twice_records_one_withdrawal(stored):
    save_consent_and_values(user_id=stored.pk, by=stored, consent=False, cleaned={})
    save_consent_and_values(user_id=stored.pk, by=stored, consent=False, cleaned={})

    assert ConsentRecord.objects.filter(user=stored, action=WITHDRAWN).count() == 1


def test_consent_can_be_granted_again_after_a_withdrawal(stored, settings):
    save_consent_and_values(user_id=stored.pk, by=stored, consent=False, cleaned={})
    consent_and_store(stored, mobile_number="+49228123456")

    assert [action for action, _version in records(stored)] == [GRANTED, WITHDRAWN, GRANTED]
    assert CustomerData.objects.get(user=stored).fill_percentage == 33


def fail_recording(monkeypatch):
    def boom(*args, **kwargs):
        raise Boom

    monkeypatch.setattr(ConsentRecord.objects, "create", boom)


def fail_saving_the_row(monkeypatch):
    def boom(self, *args, **kwargs):
        raise Boom

    monkeypatch.setattr(CustomerData, "save", boom)


@pytest.mark.parametrize(
    "break_step", [fail_recording, fail_saving_the_row], ids=["record-fails", "erasure-fails"]
)
@pytest.mark.parametrize(
    "withdraw",
    [
        lambda user: save_consent_and_values(user_id=user.pk, by=user, consent=False, cleaned={}),
        lambda user: erase_customer_data(user_id=user.pk, by=user),
    ],
    ids=["switch-off", "erase-now"],
)
def test_a_withdrawal_that_fails_midway_leaves_data_and_records_as_they_were(
    stored, monkeypatch, break_step, withdraw
):
    before = raw_row(stored.pk)
    records_before = records(stored)
    break_step(monkeypatch)

    with pytest.raises(Boom):
        withdraw(stored)

    monkeypatch.undo()
    # Neither a withdrawal record without erasure nor an erasure without a record.
    assert raw_row(stored.pk) == before
    assert records(stored) == records_before
    assert not ConsentRecord.objects.filter(user=stored, action=WITHDRAWN).exists()
    assert CustomerData.objects.get(user=stored).customer_number == VALUES["customer_number"]


def test_a_grant_that_fails_midway_stores_neither_values_nor_a_record(member, monkeypatch):
    save_consent_and_values(user_id=member.pk, by=member, consent=False, cleaned={})
    before = raw_row(member.pk)
    fail_saving_the_row(monkeypatch)

    with pytest.raises(Boom):
        consent_and_store(member, **VALUES)

    monkeypatch.undo()
    assert not ConsentRecord.objects.filter(user=member).exists()
    assert raw_row(member.pk) == before


# --- Erasure ---


def test_erase_customer_data_erases_withdraws_and_records_the_reason(stored, settings):
    erase_customer_data(user_id=stored.pk, by=stored)

    assert raw_row(stored.pk) == {
        "customer_number": None,
        "mobile_number": None,
        "further_info": None,
        "customer_number_bidx": None,
        "consent": False,
        "filled_count": 0,
    }
    withdrawal = ConsentRecord.objects.get(user=stored, action=WITHDRAWN)
    assert withdrawal.reason == ConsentRecord.Reason.ERASURE
    assert withdrawal.consent_text_version == settings.CONSENT_TEXT_VERSION


def test_erase_customer_data_records_who_erased_and_why(stored):
    cm = UserFactory()

    erase_customer_data(user_id=stored.pk, by=cm, reason=ConsentRecord.Reason.RETENTION)

    withdrawal = ConsentRecord.objects.get(user=stored, action=WITHDRAWN)
    assert withdrawal.by == cm
    assert withdrawal.reason == ConsentRecord.Reason.RETENTION


def test_erasing_a_member_without_data_does_nothing(member):
    assert erase_customer_data(user_id=member.pk, by=member) is False
    assert not CustomerData.objects.filter(user=member).exists()
    assert not ConsentRecord.objects.exists()


def test_erasing_twice_records_one_withdrawal(stored):
    erase_customer_data(user_id=stored.pk, by=stored)
    erase_customer_data(user_id=stored.pk, by=stored)

    assert ConsentRecord.objects.filter(user=stored, action=WITHDRAWN).count() == 1


def test_erasing_one_member_leaves_another_members_data_alone(stored):
    other = UserFactory()
    CustomerDataFactory(user=other, full=True)

    erase_customer_data(user_id=stored.pk, by=stored)

    assert raw_row(other.pk)["customer_number"] is not None
    assert CustomerData.objects.get(user=other).fill_percentage == 100


# --- The fill percentage ---


@pytest.mark.parametrize(
    ("values", "percent"),
    [
        ({}, 0),
        ({"mobile_number": VALUES["mobile_number"]}, 33),
        ({"customer_number": VALUES["customer_number"], "further_info": "x"}, 67),
        (VALUES, 100),
    ],
    ids=["none", "one", "two", "three"],
)
def test_fill_percentage_counts_the_stored_fields(member, values, percent):
    consent_and_store(member, **values)

    data = CustomerData.objects.get(user=member)

    assert data.fill_percentage == percent
    assert data.filled_count == len(values)


def test_fill_percentage_needs_no_encrypted_column(stored, django_assert_num_queries):
    data = CustomerData.objects.defer(*ENCRYPTED_FIELDS).get(user=stored)

    with django_assert_num_queries(0):
        assert data.fill_percentage == 100


def test_a_member_without_a_row_has_no_fill(member):
    data = save_consent_and_values(user_id=member.pk, by=member, consent=False, cleaned={})

    assert data.fill_percentage == 0


# --- A new consent text ---


def test_consent_for_an_older_text_version_counts_as_absent(stored, settings):
    settings.CONSENT_TEXT_VERSION = "2099-01"

    data = CustomerData.objects.get(user=stored)

    assert data.consent is True
    assert data.consent_is_current is False
    assert data.fill_percentage == 0
    assert shown_values(Visibility.FULL, data) == {}


def test_re_consent_for_a_new_text_erases_the_old_values_and_records_the_new_version(
    stored, settings
):
    old_version = settings.CONSENT_TEXT_VERSION
    settings.CONSENT_TEXT_VERSION = "2099-01"

    consent_and_store(stored, mobile_number="+49228123456")

    data = CustomerData.objects.get(user=stored)
    assert data.customer_number is None
    assert data.further_info is None
    assert data.mobile_number == "+49228123456"
    assert data.customer_number_bidx is None
    assert data.consent_version == "2099-01"
    assert data.fill_percentage == 33
    assert records(stored) == [(GRANTED, old_version), (GRANTED, "2099-01")]


def test_withdrawing_an_outdated_consent_erases_and_records_the_old_version(stored, settings):
    old_version = settings.CONSENT_TEXT_VERSION
    settings.CONSENT_TEXT_VERSION = "2099-01"

    save_consent_and_values(user_id=stored.pk, by=stored, consent=False, cleaned={})

    assert raw_row(stored.pk)["customer_number"] is None
    assert records(stored)[-1] == (WITHDRAWN, old_version)


# --- The access log ---


def test_record_access_stores_field_names_only_never_values(stored):
    viewer = UserFactory()
    data = CustomerData.objects.get(user=stored)

    access = record_access(
        viewer=viewer,
        subject_id=stored.pk,
        channel=PersonalDataAccess.Channel.PROFILE,
        fields=shown_values(Visibility.FULL, data),
    )

    access.refresh_from_db()
    assert access.fields == ["customer_number", "mobile_number", "further_info"]
    assert access.viewer == viewer
    assert access.subject_id == stored.pk
    assert access.channel == PersonalDataAccess.Channel.PROFILE
    stored_text = str(access.fields)
    for value in VALUES.values():
        assert value not in stored_text


def test_record_access_drops_anything_that_is_not_a_field_name(stored):
    access = record_access(
        viewer=UserFactory(),
        subject_id=stored.pk,
        channel=PersonalDataAccess.Channel.ADMIN,
        fields=["further_info", VALUES["customer_number"], "customer_number", "password"],
    )

    access.refresh_from_db()
    assert access.fields == ["customer_number", "further_info"]


def test_access_and_consent_records_are_append_only(stored):
    access = record_access(
        viewer=UserFactory(),
        subject_id=stored.pk,
        channel=PersonalDataAccess.Channel.EXPORT,
        fields=["mobile_number"],
    )
    record = ConsentRecord.objects.get(user=stored)

    with pytest.raises(ValueError, match="append-only"):
        access.save()
    with pytest.raises(ValueError, match="append-only"):
        record.save()
