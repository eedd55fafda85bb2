"""The page fragments kept in the "fragments" cache (the directory's rows, its selects, the fill
ring) are keyed by everything they show: a change to a member's name, rank, role, rank
visibility or consent, and the viewer's language or time zone, shows on the next request.
And no customer-data value ever enters any cache, whatever a journey through the site does."""

import datetime as dt
import pickle
import re

import pytest
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.core.cache import caches
from django.test import Client

from community.models import Rank, StaffRole
from customer_data.models import CustomerData
from profiles.models import Profile
from tests.factories import (
    CUSTOMER_NUMBER,
    FURTHER_INFO,
    MOBILE_NUMBER,
    MOBILE_NUMBER_SHOWN,
    OUTDATED_CONSENT_TEXT_VERSION,
    TYPED,
    CustomerDataFactory,
)

pytestmark = pytest.mark.django_db


def row_of(html: str, username: str) -> str:
    found = re.search(
        rf'<tr>\s*<td><a class="member-link" href="/members/{username}/">.*?</tr>', html, re.S
    )
    assert found, f"no row for {username}"
    return found.group(0)


def directory(client: Client, **query: str) -> str:
    response = client.get("/members/", {"q": "owner", **query})
    assert response.status_code == 200
    return response.text


@pytest.fixture
def watcher(client_for):
    """A Mitgestalter looking at the directory (rings shown), its fragments warm."""
    client = client_for("expert")
    directory(client)
    return client


def test_a_new_display_name_rank_or_rank_visibility_shows_at_once(watcher, people):
    owner = people["owner"]
    Profile.objects.filter(user=owner).update(display_name="Olga Neu")
    assert "Olga Neu" in row_of(directory(watcher), "owner")

    Profile.objects.filter(user=owner).update(rank=Rank.objects.get(code="stammgast"))
    assert "Stammgast" in row_of(directory(watcher), "owner")

    Profile.objects.filter(user=owner).update(show_rank=False)
    assert "Stammgast" not in row_of(directory(watcher), "owner")


def test_a_role_given_or_taken_shows_at_once(watcher, people):
    owner = people["owner"]
    group = Group.objects.get(staff_role__code=StaffRole.COMMUNITY_MANAGEMENT)
    owner.groups.add(group)
    assert 'role-badge">Community Management<' in row_of(directory(watcher), "owner")

    owner.groups.remove(group)
    assert "role-badge" not in row_of(directory(watcher), "owner")


def test_consent_and_fields_show_in_the_ring_at_once(watcher, people):
    assert "0 % Profildaten ausgefüllt" in row_of(directory(watcher), "owner")

    data = CustomerDataFactory(user=people["owner"], full=True)
    assert "100 % Profildaten ausgefüllt" in row_of(directory(watcher), "owner")

    # Consent given to a text that is no longer in force counts as none.
    CustomerData.objects.filter(pk=data.pk).update(consent_version=OUTDATED_CONSENT_TEXT_VERSION)
    assert "0 % Profildaten ausgefüllt" in row_of(directory(watcher), "owner")


def test_the_viewer_s_language_and_time_zone_show_at_once(watcher, people):
    # Joined late in the evening in UTC: the next day in Berlin, the same day in New York.
    get_user_model().objects.filter(pk=people["owner"].pk).update(
        date_joined=dt.datetime(2026, 3, 14, 23, 30, tzinfo=dt.UTC)
    )
    expert = people["expert"]
    Profile.objects.filter(user=expert).update(time_zone="Europe/Berlin")
    assert "15.03.2026" in row_of(directory(watcher), "owner")

    Profile.objects.filter(user=expert).update(time_zone="America/New_York", language="en")
    english = row_of(directory(watcher), "owner")
    assert "03/14/2026" in english
    assert "0 % profile data filled in" in english
    assert "Profildaten" not in directory(watcher)


def test_other_viewers_never_get_the_rings_of_a_cached_page(watcher, client_for):
    for who in ("anonymous", "member", "admin"):
        assert "fill-ring" not in directory(client_for(who))
    assert "fill-ring" in directory(watcher)


# --- No customer-data value in any cache ------------------------------------------------------

CANARIES = [
    CUSTOMER_NUMBER,
    TYPED["customer_number"],
    MOBILE_NUMBER,
    MOBILE_NUMBER_SHOWN,
    MOBILE_NUMBER.removeprefix("+49"),
    FURTHER_INFO,
    "A-99172",
]


def cached_text() -> str:
    """Everything the site's caches hold, keys and values, as text."""
    parts = []
    for alias in ("default", "fragments"):
        store = caches[alias]
        for key, value in getattr(store, "_cache", {}).items():
            parts.append(str(key))
            # The test's own local-memory caches, written by the site under test.
            parts.append(str(pickle.loads(value)))  # noqa: S301
    return "\n".join(parts)


def test_no_value_enters_a_cache_on_a_whole_journey(people, client_for, login):
    owner = people["owner"]
    owner_client = login(owner)
    owner_client.get("/settings/profile/")
    owner_client.post(
        "/settings/profile/",
        {
            "profile-display_name": "Olga Owner",
            "profile-about": "",
            "profile-location": "",
            "customer-consent": "on",
            **{f"customer-{name}": value for name, value in TYPED.items()},
            "confirm_withdrawal": "",
        },
    )
    for path in ("/settings/profile/", "/settings/privacy/", "/members/owner/", "/members/"):
        owner_client.get(path)
    for who in ("team", "cm", "expert", "member", "anonymous"):
        client = client_for(who)
        for path in ("/members/", "/members/?q=owner", "/members/owner/", "/members/?fill=100"):
            client.get(path)
    team = client_for("team")
    for term in (MOBILE_NUMBER_SHOWN, CUSTOMER_NUMBER, "owner"):
        team.post("/admin/customer_data/customerdata/search/", {"q": term})
    team.get("/admin/customer_data/customerdata/")
    # The page was in use: there is something in the caches to search.
    held = cached_text()
    assert "member-rows" in held or "fill-ring" in held or len(held) > 100

    assert [canary for canary in CANARIES if canary in held] == []
