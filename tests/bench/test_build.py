"""The bulk builder stores what the app stores: builder-made rows against service-made ones."""

import random
import re
from datetime import timedelta

import pytest
from django.contrib.auth import get_user_model
from django.db import connection
from django.db.models import TextField
from django.db.models.functions import Cast
from django.test.utils import override_settings
from django.utils import timezone

from bench import build, names, seed
from community.backends import viewer_queryset
from customer_data import services
from customer_data.forms import CustomerDataForm
from customer_data.models import (
    ENCRYPTED_FIELDS,
    ConsentRecord,
    CustomerData,
    KeyCheck,
    PersonalDataAccess,
)
from profiles import services as profile_services
from profiles.models import Profile
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db

User = get_user_model()
TYPED = [
    {"consent": "on", "customer_number": "123 4567 890", "mobile_number": "0170 1234567",
     "further_info": "  Auftrag 12345678, erreichbar ab 17 Uhr  "},
    {"consent": "on", "customer_number": "4711-0815/42"},
    {"consent": "on", "mobile_number": "+49 160 9876543"},
    {"consent": "on", "mobile_number": "0171/2345678", "further_info": "Zweiter Vertrag: 1"},
    {"consent": "on", "further_info": "Störungsticket 4711"},
    {"consent": "on", "mobile_number": seed.SEARCHED_MOBILE},
    {"consent": "on", "customer_number": seed.SEARCHED_CUSTOMER_NUMBER},
]  # fmt: skip
COMPARED = (
    "consent", "consent_version", "filled_count", *ENCRYPTED_FIELDS, "customer_number_bidx",
    "mobile_number_bidx",
)  # fmt: skip
DATES = ("consented_at", "numbers_updated_at", "further_info_updated_at", "updated_at")


def service_made(typed: dict[str, str]) -> CustomerData:
    """The row the Profil tab's "Speichern" stores for `typed`."""
    user = UserFactory()
    form = CustomerDataForm(typed)
    assert form.is_valid()
    services.save_consent_and_values(
        user_id=user.pk, by=user, consent=True, cleaned=form.cleaned_data
    )
    return CustomerData.objects.get(user=user)


def builder_made(typed: dict[str, str]) -> CustomerData:
    """The row the builder writes for `typed`, through its bulk writer."""
    user = UserFactory()
    values = build.stored_values(typed, who="test", validate=True)
    now = timezone.now()
    row = build.customer_data_row(user_id=user.pk, values=values, saved_at=now, created_at=now)
    build.Sink().write(CustomerData, build.CUSTOMER_DATA_COLUMNS, [row])
    return CustomerData.objects.get(user=user)


def raw_tokens(data: CustomerData) -> dict[str, str | None]:
    raw = {name: Cast(name, output_field=TextField()) for name in ENCRYPTED_FIELDS}
    stored = CustomerData.objects.filter(pk=data.pk).annotate(
        **{f"raw_{name}": expression for name, expression in raw.items()}
    )
    return stored.values(*(f"raw_{name}" for name in ENCRYPTED_FIELDS)).get()


@pytest.mark.parametrize("typed", TYPED)
def test_a_builder_row_is_the_row_the_services_store_for_the_same_input(typed):
    by_services, by_builder = service_made(typed), builder_made(typed)

    for name in COMPARED:  # the values decrypt alike; same indexes, fill count, consent
        assert getattr(by_builder, name) == getattr(by_services, name), name
    for name in DATES:  # set together at the save, or not at all
        assert (getattr(by_builder, name) is None) == (getattr(by_services, name) is None), name
    dates = {getattr(by_builder, name) for name in DATES} - {None}
    assert dates == {by_builder.updated_at}
    built, served = raw_tokens(by_builder), raw_tokens(by_services)
    for name in ENCRYPTED_FIELDS:
        assert (built[f"raw_{name}"] is None) == (served[f"raw_{name}"] is None)
        if built[f"raw_{name}"] is not None:
            assert built[f"raw_{name}"].startswith("gAAAAA")
            assert built[f"raw_{name}"] != served[f"raw_{name}"]  # a fresh token per save


def test_the_builders_normalisation_is_the_forms_for_every_shape_it_types():
    rng = random.Random(3)
    for _ in range(300):
        typed = build.typed_customer_data(rng, set(ENCRYPTED_FIELDS))
        assert build.normalised(typed) == build.validated(typed, who="test")
    for typed in TYPED:
        assert build.normalised(typed) == build.validated(typed, who="test")


def test_a_sample_that_the_form_normalises_otherwise_stops_the_build_without_the_value(
    monkeypatch,
):
    monkeypatch.setattr(build, "normalised", lambda typed: {"mobile_number": "+4917000000"})

    with pytest.raises(build.BuildError, match=r"normalises \['mobile_number'\]") as error:
        build.stored_values(TYPED[2], who="bench-0000042", validate=True)
    assert "bench-0000042" in str(error.value)
    assert "160" not in str(error.value)
    assert "+49" not in str(error.value)
    build.stored_values(TYPED[2], who="bench-0000042", validate=False)  # unchecked: no error


def test_input_the_form_refuses_stops_the_build_naming_the_field_only():
    with pytest.raises(build.BuildError, match=r"does not validate in \['customer_number'\]"):
        build.validated({"consent": "on", "customer_number": "12a45"}, who="test")


def history(user) -> list[tuple]:
    records = ConsentRecord.objects.filter(user=user).order_by("at", "pk")
    return [
        (r.action, r.reason, r.consent_text_version, "self" if r.by_id == user.pk else r.by_id)
        for r in records
    ]


def test_a_builder_history_is_the_records_the_services_write_for_it(people):
    by_services = UserFactory()
    with override_settings(CONSENT_TEXT_VERSION=seed.OLD_CONSENT_VERSION):
        services.save_consent_and_values(
            user_id=by_services.pk, by=by_services, consent=True, cleaned={}
        )
    services.erase_customer_data(
        user_id=by_services.pk, by=None, reason=ConsentRecord.Reason.OUTDATED_CONSENT
    )
    services.save_consent_and_values(
        user_id=by_services.pk, by=by_services, consent=True, cleaned={"further_info": "x"}
    )
    seed.create_members(3, "bench-password")
    owner = User.objects.get(username=seed.OWNER)  # always with that history

    assert history(owner) == history(by_services)


def test_a_builder_access_row_is_the_row_record_access_writes(people):
    team = viewer_queryset().get(username="team")
    subject = UserFactory()
    fields = ["further_info", "customer_number"]
    served = services.record_access(
        viewer=team, subject_id=subject.pk, channel="profile", fields=fields
    )
    row = build.Viewer.of(team).access_row(subject_id=subject.pk, fields=fields, at=served.at)
    build.Sink().write(PersonalDataAccess, build.ACCESS_COLUMNS, [row])
    built = PersonalDataAccess.objects.exclude(pk=served.pk).get()

    columns = ("viewer_id", "subject_id", "viewer_name", "viewer_roles", "channel", "fields", "at")
    assert [getattr(built, c) for c in columns] == [getattr(served, c) for c in columns]


def test_a_builder_profile_has_every_column_the_app_gives_one(people):
    seed.create_members(2, "bench-password")
    built = Profile.objects.get(user__username=seed.OWNER)
    by_app = User.objects.create_user(username="app-made").profile  # the sign-up signal
    profile_services.update_public_profile(
        profile=by_app,
        cleaned={
            "display_name": built.display_name,
            "about": built.about,
            "location": built.location,
        },
    )
    by_app.rank = built.rank
    by_app.save()

    def columns(profile: Profile) -> dict:
        return {
            f.attname: getattr(profile, f.attname)
            for f in Profile._meta.concrete_fields
            if f.attname not in ("id", "user_id")
        }

    assert columns(Profile.objects.get(pk=by_app.pk)) == columns(built)


@pytest.fixture
def built(people):
    return seed.create_members(60, "bench-password")


def test_the_build_reports_its_rows_and_steps(built):
    assert built["members"] == 60
    assert built["rows"]["auth.User"] == 60
    assert built["rows"]["profiles.Profile"] == 60
    assert built["rows"]["customer_data.CustomerData"] == 20
    assert set(built["steps"]) == {"drop", "ready", "rows", "indexes", "analyse"}
    assert User.objects.filter(username__startswith=seed.PREFIX).count() == 60


def test_members_are_numbered_with_seven_digits_and_sort_as_made(built):
    usernames = list(
        User.objects.filter(username__startswith=seed.PREFIX)
        .order_by("username")
        .values_list("username", flat=True)
    )
    assert usernames[0] == seed.OWNER == "bench-0000001"
    assert usernames[-1] == "bench-0000060"
    assert list(User.objects.filter(username__in=usernames).order_by("pk").values_list(
        "username", flat=True
    )) == usernames  # fmt: skip


def test_new_users_after_the_build_get_fresh_ids(built):
    assert UserFactory().pk > User.objects.get(username="bench-0000060").pk


def test_the_rare_name_is_given_to_exactly_its_members(built):
    assert seed.named_members(names.RARE_NAME_SEARCH) == names.RARE_NAME_MEMBERS
    assert seed.is_complete(60)
    assert not seed.is_complete(61)


def test_a_rebuild_replaces_the_members_and_keeps_everyone_else(built, people):
    seed.create_members(9, "bench-password")

    assert User.objects.filter(username__startswith=seed.PREFIX).count() == 9
    assert all(User.objects.filter(pk=user.pk).exists() for user in people.values())
    assert CustomerData.objects.filter(user__username__startswith=seed.PREFIX).count() == 3


def test_cascade_delete_removes_what_hangs_off_members_and_clears_what_points_at_them(
    built, people
):
    member = User.objects.get(username="bench-0000002")
    # A bench member as viewer of someone else's data, and as the actor of a consent record.
    outsider = people["member"]
    PersonalDataAccess.objects.create(viewer=member, subject=outsider, channel="profile")
    ConsentRecord.objects.create(
        user=outsider, action="granted", consent_text_version="1", by=member
    )

    deleted = build.cascade_delete(User.objects.filter(username__startswith=seed.PREFIX))

    assert deleted == 60
    assert not Profile.objects.filter(user__username__startswith=seed.PREFIX).exists()
    assert not CustomerData.objects.exclude(user__in=people.values()).exists()
    assert PersonalDataAccess.objects.get(subject=outsider).viewer_id is None
    assert ConsentRecord.objects.get(user=outsider).by_id is None


def test_key_checks_of_lost_keys_are_forgotten_only_when_no_data_is_left(built):
    lost = KeyCheck.objects.create(token="gAAAAA-written-with-a-key-that-is-gone")
    KeyCheck.objects.filter(pk=lost.pk).update(created_at=timezone.now() + timedelta(days=1))

    assert not build.forget_key_checks_without_data()  # the members' data is still there
    build.cascade_delete(User.objects.filter(username__startswith=seed.PREFIX))
    assert build.forget_key_checks_without_data()
    assert not KeyCheck.objects.exists()


def test_no_drawn_name_contains_the_rare_fragment_and_the_common_one_is_frequent():
    rng = random.Random(1)
    drawn = [names.display_name(rng).lower() for _ in range(20_000)]
    tokens = [name.lower() for name in (*names.FIRST_NAMES, *names.LAST_NAMES)]

    assert not any(names.RARE_NAME_SEARCH in token for token in tokens)
    assert not any(names.RARE_NAME_SEARCH in name for name in drawn)
    assert names.RARE_NAME_SEARCH in names.RARE_NAME.lower()
    share = sum(names.COMMON_NAME_SEARCH in name for name in drawn) / len(drawn)
    assert 0.02 < share < 0.06
    assert len(set(drawn)) > 5_000  # varied
    assert {"Müller", "Özdemir", "Weiß", "Schäfer"} <= set(names.LAST_NAMES)
    assert "Jürgen" in names.FIRST_NAMES


@pytest.mark.skipif(connection.vendor != "postgresql", reason="COPY and index rebuild: PostgreSQL")
def test_a_postgresql_load_recreates_every_index_and_foreign_key(people):
    tables = [model._meta.db_table for model in build.LOADED_MODELS]

    def schema() -> tuple[list, list]:
        with connection.cursor() as cursor:
            cursor.execute(
                "SELECT indexname, indexdef FROM pg_indexes WHERE tablename = ANY(%s) ORDER BY 1",
                [tables],
            )
            indexes = cursor.fetchall()
            cursor.execute(
                "SELECT conname, pg_get_constraintdef(oid) FROM pg_constraint "
                "WHERE conrelid = ANY(%s::regclass[]) ORDER BY 1",
                [tables],
            )
            return indexes, cursor.fetchall()

    before = schema()
    seed.create_members(30, "bench-password")

    assert schema() == before
    assert any(re.search(r"FOREIGN KEY", definition) for _, definition in before[1])


def test_the_writer_leaves_the_generated_fill_count_to_the_database():
    assert "filled_count" not in build.CUSTOMER_DATA_COLUMNS
    with pytest.raises(build.BuildError, match=r"\['filled_count'\] are computed by the database"):
        build.Sink().write(CustomerData, ("user_id", "filled_count"), [(1, 0)])
