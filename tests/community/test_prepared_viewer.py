"""The viewer lookup with SQL compiled once per connection: the same user, with the same
profile, rank, role flags and threshold as the ORM's own query, in one query; and nothing but
SQL kept, so every change counts from the next request."""

import pytest
from django.contrib.auth.models import Group
from django.db import connection
from django.test.utils import CaptureQueriesContext

from community.backends import VIEWER, CommunityBackend, viewer_queryset
from community.models import Rank, StaffRole
from community.prepared import PreparedLookup
from community.roles import (
    EXPERIENCED_ANNOTATION,
    THRESHOLD_NAME_ANNOTATION,
    role_annotations,
    roles_from_annotations,
    staff_roles,
)
from customer_data.permissions import Visibility
from customer_data.selectors import customer_data_of, with_customer_data
from profiles.models import Profile
from profiles.selectors import PROFILE_PAGES
from tests.factories import VALUES, CustomerDataFactory, UserFactory

pytestmark = pytest.mark.django_db

LOADED = ("pk", "username", "is_active", "is_staff", "is_superuser", "date_joined", "last_login")


def snapshot(user) -> dict:
    profile = user.profile
    return {
        **{name: getattr(user, name) for name in LOADED},
        "profile": (profile.pk, profile.display_name, profile.language, profile.time_zone),
        "rank": (profile.rank.code, profile.rank.order) if profile.rank else None,
        "roles": staff_roles(user),
        "experienced": getattr(user, EXPERIENCED_ANNOTATION),
        "threshold": getattr(user, THRESHOLD_NAME_ANNOTATION),
    }


@pytest.mark.parametrize("who", ["member", "regular", "expert", "guide", "team", "cm", "admin"])
def test_the_prepared_lookup_loads_what_the_orm_loads(people, who):
    user = people[who]
    expected = snapshot(viewer_queryset().get(pk=user.pk))

    with CaptureQueriesContext(connection) as first:
        loaded = VIEWER.get(user.pk)
    with CaptureQueriesContext(connection) as second:
        again = VIEWER.get(user.pk)

    assert snapshot(loaded) == snapshot(again) == expected
    assert len(first) == len(second) == 1
    assert first[0]["sql"] == second[0]["sql"]
    # Profile and rank came with the user: reading them costs nothing.
    with CaptureQueriesContext(connection) as reads:
        snapshot(loaded)
    assert len(reads) == 0


def test_each_lookup_reads_the_current_row(people):
    user = people["member"]
    assert not VIEWER.get(user.pk).rank_is_experienced

    Profile.objects.filter(user=user).update(rank=Rank.objects.get(code="mitgestalter"))
    user.groups.add(Group.objects.get(staff_role__code=StaffRole.TELEKOM_HILFT_TEAM))
    Profile.objects.filter(user=user).update(display_name="Neuer Name", language="en")

    loaded = VIEWER.get(user.pk)
    assert loaded.rank_is_experienced
    assert staff_roles(loaded) == {StaffRole.TELEKOM_HILFT_TEAM}
    assert (loaded.profile.display_name, loaded.profile.language) == ("Neuer Name", "en")


def test_a_new_threshold_setting_compiles_afresh(people, settings):
    expert = people["expert"]
    assert VIEWER.get(expert.pk).rank_is_experienced

    settings.COMMUNITY_RING_MIN_RANK = "community-guide"

    assert not VIEWER.get(expert.pk).rank_is_experienced


def test_unknown_missing_and_inactive_users_are_nobody(people):
    backend = CommunityBackend()
    inactive = UserFactory(is_active=False)

    assert VIEWER.get(2_000_000_000) is None
    assert backend.get_user(2_000_000_000) is None
    assert backend.get_user("not a number") is None
    assert backend.get_user(None) is None
    assert backend.get_user(10**40) is None
    assert backend.get_user(inactive.pk) is None
    assert backend.get_user(str(people["member"].pk)).pk == people["member"].pk


def test_a_query_that_does_not_use_the_key_once_is_refused():
    from django.contrib.auth import get_user_model

    User = get_user_model()
    lookup = PreparedLookup(User, lambda: User.objects.filter(pk__in=[-1_987_654_321]))

    with pytest.raises(ValueError, match="exactly once"):
        lookup.get(1)


# --- The profile page's lookup by username, one prepared query per visibility level -----------


@pytest.mark.parametrize("level", list(Visibility))
@pytest.mark.parametrize("with_data", [True, False], ids=["with data", "without data"])
def test_the_profile_page_lookup_loads_what_the_orm_loads(people, level, with_data):
    owner = people["owner"]
    if with_data:
        CustomerDataFactory(user=owner, full=True)
    orm = with_customer_data(Profile.objects.select_related("user", "rank"), level).annotate(
        **role_annotations("user_id")
    )
    expected = orm.get(user__username="owner")

    with CaptureQueriesContext(connection) as queries:
        loaded = PROFILE_PAGES[level].get("owner")
        data = customer_data_of(loaded.user) if level.shows_ring else None
        shown = (
            {name: getattr(data, name) for name in ("consent", "filled_count", *VALUES)}
            if data is not None and level.shows_contents
            else None
        )

    assert len(queries) == 1  # nothing loaded lazily, values included where the level allows
    assert (loaded.pk, loaded.display_name, loaded.rank.code) == (
        expected.pk,
        expected.display_name,
        expected.rank.code,
    )
    assert roles_from_annotations(loaded) == roles_from_annotations(expected)
    if level.shows_contents and with_data:
        assert shown == {"consent": True, "filled_count": 3, **VALUES}
    if level is Visibility.RING_ONLY and with_data:
        # The encrypted columns were not even read.
        assert not {*VALUES} & set(data.__dict__)


def test_the_profile_page_lookup_finds_no_one_else(people):
    UserFactory(username="gone", is_active=False)
    lookup = PROFILE_PAGES[Visibility.NONE]

    assert lookup.get("nobody") is None
    assert lookup.get("gone") is None
    assert lookup.get("OWNER") is None  # usernames match exactly, as the ORM's get did
    assert lookup.get("owner").user.username == "owner"


def test_the_session_lookup_reads_the_stored_session_in_one_query(people, login):
    from django.contrib.sessions.models import Session

    from community.sessions import SESSIONS, SessionStore

    key = login(people["member"]).session.session_key
    with CaptureQueriesContext(connection) as queries:
        loaded = SESSIONS.get(key)
    assert len(queries) == 1
    assert (loaded.session_key, loaded.session_data) == (
        key,
        Session.objects.get(session_key=key).session_data,
    )
    assert SessionStore(key).load()["_auth_user_id"] == str(people["member"].pk)
    assert SESSIONS.get("no-such-session") is None
