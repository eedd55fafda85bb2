"""Django 6.1 model features where they guard something (README, "Customer data, privacy and
keys"): the fill count as a generated column, database-stamped append-only records, and the
staff admin's rows under FETCH_RAISE. On SQLite and PostgreSQL alike."""

from datetime import UTC, datetime, timedelta

import pytest
from django.contrib.admin.sites import site
from django.core.exceptions import FieldFetchBlocked
from django.db import IntegrityError, connection, transaction
from django.test import RequestFactory
from django.utils import timezone

from community.audit import record as record_structure_change
from community.models import StructureChange
from customer_data.models import ENCRYPTED_FIELDS, ConsentRecord, CustomerData, PersonalDataAccess
from customer_data.services import record_accesses
from tests.conftest import load_viewer
from tests.factories import (
    CUSTOMER_NUMBER,
    FURTHER_INFO,
    MOBILE_NUMBER,
    CustomerDataFactory,
    UserFactory,
)
from tests.helpers import raw_row

pytestmark = pytest.mark.django_db


# --- The fill count is a generated column ---------------------------------------------------


def test_the_fill_count_follows_a_queryset_update_that_erases_a_value(people):
    data = CustomerDataFactory(user=people["owner"], full=True)
    rows = CustomerData.objects.filter(pk=data.pk)

    rows.update(further_info=None)
    assert rows.get().filled_count == 2
    # Empty is stored as NULL (no empty ciphertext), so "" counts as erased too.
    rows.update(mobile_number="")
    assert raw_row(people["owner"].pk)["mobile_number"] is None
    assert rows.get().filled_count == 1
    assert rows.get().fill_percentage == 33


def test_the_fill_count_follows_a_queryset_update_that_stores_a_value(people):
    data = CustomerDataFactory(user=people["owner"], customer_number=CUSTOMER_NUMBER)
    rows = CustomerData.objects.filter(pk=data.pk)

    rows.update(mobile_number=MOBILE_NUMBER, further_info=FURTHER_INFO)

    assert rows.get().filled_count == 3
    assert raw_row(people["owner"].pk)["filled_count"] == 3


def test_a_value_written_past_the_consent_is_refused_by_the_database(people):
    """`no_contents_without_consent` now reads a count no writer can leave stale."""
    data = CustomerDataFactory(user=people["owner"], consent=False)
    assert (data.consent, data.filled_count) == (False, 0)

    with pytest.raises(IntegrityError), transaction.atomic():
        CustomerData.objects.filter(pk=data.pk).update(customer_number=CUSTOMER_NUMBER)

    assert raw_row(people["owner"].pk)["customer_number"] is None


def test_nobody_writes_the_fill_count(people):
    """Django leaves a generated column out of every write: a count set by hand is dropped."""
    data = CustomerDataFactory(user=people["owner"], customer_number=CUSTOMER_NUMBER)

    CustomerData.objects.filter(pk=data.pk).update(filled_count=3, consent=True)

    assert CustomerData.objects.get(pk=data.pk).filled_count == 1


def test_save_reads_the_new_fill_count_back_without_another_query(
    people, django_assert_num_queries
):
    CustomerDataFactory(user=people["owner"], full=True)
    data = CustomerData.objects.get(user=people["owner"])
    data.further_info = None

    with django_assert_num_queries(1):  # the UPDATE, returning the generated column
        data.save()
    with django_assert_num_queries(0):
        assert data.filled_count == 2


def test_a_new_row_has_its_fill_count_without_another_query(people, django_assert_num_queries):
    with django_assert_num_queries(1):  # the INSERT, returning the generated column
        data = CustomerData.objects.create(
            user=people["owner"], consent=True, customer_number=CUSTOMER_NUMBER
        )
    with django_assert_num_queries(0):
        assert data.filled_count == 1


def test_rows_written_in_bulk_carry_their_fill_count(people):
    members = [UserFactory() for _ in range(3)]

    rows = CustomerData.objects.bulk_create(
        CustomerData(user=user, consent=True, **dict.fromkeys(ENCRYPTED_FIELDS[:count], "1"))
        for count, user in enumerate(members, start=1)
    )

    assert [row.filled_count for row in rows] == [1, 2, 3]


def test_the_fill_index_still_serves_the_directory_on_the_generated_column():
    """The partial index on (consent_version, filled_count, user) holds after the column
    became generated (tests/profiles/test_directory_scale.py checks the plans)."""
    with connection.cursor() as cursor:
        constraints = connection.introspection.get_constraints(cursor, CustomerData._meta.db_table)
    fill_order = constraints["customerdata_fill_order"]
    assert fill_order["columns"] == ["consent_version", "filled_count", "user_id"]
    assert {"filled_count_at_most_three", "no_contents_without_consent"} <= set(constraints)


# --- Append-only records are stamped by the database ----------------------------------------

STAMPED = [ConsentRecord, PersonalDataAccess, StructureChange]


def smallest_row(model, member) -> dict[str, object]:
    """The fields a row of `model` needs, by attname, `at` left out."""
    return {
        ConsentRecord: {
            "user_id": member.pk,
            "action": ConsentRecord.Action.GRANTED,
            "reason": ConsentRecord.Reason.MEMBER,
            "consent_text_version": "v1",
        },
        PersonalDataAccess: {
            "subject_id": member.pk,
            "channel": PersonalDataAccess.Channel.PROFILE,
            "viewer_name": "",
            "viewer_roles": [],
            "fields": [],
        },
        StructureChange: {
            "kind": StructureChange.Kind.RANK_CHANGED,
            "actor_name": "",
            "member_name": "",
            "role": "",
            "detail": "",
        },
    }[model]


@pytest.mark.parametrize("model", STAMPED, ids=lambda model: model.__name__)
def test_a_row_inserted_without_its_time_gets_the_database_clock(model):
    """As a bulk load (COPY) or a hand-written INSERT writes it: no `at` column named."""
    row = smallest_row(model, UserFactory())
    fields = [model._meta.get_field(name) for name in row]
    quote = connection.ops.quote_name
    names = ", ".join(quote(field.column) for field in fields)
    marks = ", ".join(["%s"] * len(fields))
    values = [field.get_db_prep_save(row[field.attname], connection) for field in fields]
    earlier = set(model.objects.values_list("pk", flat=True))
    before = timezone.now()
    with connection.cursor() as cursor:
        cursor.execute(
            f"INSERT INTO {quote(model._meta.db_table)} ({names}) VALUES ({marks})",  # noqa: S608 (model names)
            values,
        )

    stamped = model.objects.exclude(pk__in=earlier).get().at
    # SQLite's clock counts milliseconds only.
    assert before - timedelta(milliseconds=1) <= stamped <= timezone.now()


@pytest.mark.parametrize("model", STAMPED, ids=lambda model: model.__name__)
def test_a_saved_row_has_its_time_without_another_query(model, django_assert_num_queries):
    row = model(**smallest_row(model, UserFactory()))

    with django_assert_num_queries(1):  # the INSERT, returning the stamp
        row.save()
    with django_assert_num_queries(0):
        assert isinstance(row.at, datetime)
        assert row.at.tzinfo is not None
        str(row)  # (the access log and the role log name their time)
    assert row.at == model.objects.get(pk=row.pk).at


def test_access_log_rows_written_in_one_insert_have_their_time(people, django_assert_num_queries):
    team = load_viewer(people["team"])
    subjects = [UserFactory().pk for _ in range(3)]

    with django_assert_num_queries(1):  # one INSERT for all rows, returning the stamps
        rows = record_accesses(
            viewer=team, entries=[(pk, "profile", ["customer_number"]) for pk in subjects]
        )

    assert {row.pk: row.at for row in rows} == dict(
        PersonalDataAccess.objects.values_list("pk", "at")
    )
    assert f"{rows[0].at:%Y-%m-%d %H:%M}" in str(rows[0])


def test_the_role_log_has_its_time_right_after_a_change_is_recorded(people):
    change = record_structure_change(StructureChange.Kind.RANK_CHANGED, detail="Ränge neu")

    assert change.at == StructureChange.objects.get(pk=change.pk).at


@pytest.mark.parametrize("model", STAMPED, ids=lambda model: model.__name__)
def test_a_time_given_explicitly_is_kept(model):
    long_ago = datetime(2020, 5, 17, 8, 30, 15, 250000, tzinfo=UTC)

    row = model.objects.create(**smallest_row(model, UserFactory()), at=long_ago)

    assert row.at == long_ago
    assert model.objects.get(pk=row.pk).at == long_ago


# --- The staff admin's rows never fetch a value ---------------------------------------------


def staff_request(user):
    request = RequestFactory().get("/admin/customer_data/customerdata/")
    request.user = load_viewer(user)
    return request


@pytest.mark.parametrize("who", ["team", "cm"])
def test_the_admin_rows_raise_instead_of_decrypting_a_value(people, who, django_assert_num_queries):
    CustomerDataFactory(user=people["owner"], full=True)
    admin = site.get_model_admin(CustomerData)
    request = staff_request(people[who])
    row = admin.get_queryset(request).get()

    for name in ENCRYPTED_FIELDS:
        with django_assert_num_queries(0), pytest.raises(FieldFetchBlocked):
            getattr(row, name)
    # What the list shows is loaded with the row.
    with django_assert_num_queries(0):
        assert admin.fill(row) == "100 %"
        assert "Olga Owner" in admin.member(row)


def test_the_admin_change_page_row_raises_too_but_the_page_shows_the_values(people, client_for):
    data = CustomerDataFactory(user=people["owner"], full=True)
    admin = site.get_model_admin(CustomerData)
    row = admin.get_object(staff_request(people["team"]), str(data.pk))
    with pytest.raises(FieldFetchBlocked):
        row.customer_number  # noqa: B018 (the access is the test)

    # The page itself reads the values through `services.disclose`, which logs the view.
    response = client_for("team").get(f"/admin/customer_data/customerdata/{data.pk}/change/")
    assert response.status_code == 200
    assert CUSTOMER_NUMBER in response.text
    assert PersonalDataAccess.objects.filter(subject=people["owner"], channel="admin").count() == 1
