"""Pinned query counts for the public profile page and the directory.

Built with 35 extra members with customer data and 35 access-log rows, so an N+1 would show
as a changed number. Every count for a signed-in viewer includes:
  1 session read, 1 viewer (user + profile + rank + role flags + rank threshold, one query).
The session itself is not written: it was refreshed less than COMMUNITY_SESSION_REFRESH_INTERVAL ago.
"""

import pytest
from django.test import Client

from tests.factories import CustomerDataFactory, PersonalDataAccessFactory, UserFactory

pytestmark = pytest.mark.django_db

SIGNED_IN = 1 + 1


@pytest.fixture
def crowd(people, owner_data):
    for _ in range(35):
        CustomerDataFactory(user=UserFactory(rank="stammgast"), partly=True)
        PersonalDataAccessFactory(viewer=people["team"], subject=people["owner"])


@pytest.mark.parametrize(
    ("who", "expected"),
    [
        # 1 query: the profile with rank and role flags; no customer data joined.
        ("anonymous", 1),
        # + the profile (no customer-data join for them).
        ("member", SIGNED_IN + 1),
        # + the profile joined to the ring columns of its customer data.
        ("expert", SIGNED_IN + 1),
        # + the profile joined to the full customer data, + 1 access-log insert.
        ("team", SIGNED_IN + 1 + 1),
        # + the profile joined to the full customer data (the owner's view is not logged).
        ("owner", SIGNED_IN + 1),
    ],
)
def test_profile_page_query_count_is_fixed(
    who, expected, people, login, crowd, django_assert_num_queries
):
    client = Client() if who == "anonymous" else login(people[who])
    with django_assert_num_queries(expected):
        assert client.get("/members/owner/").status_code == 200


@pytest.mark.parametrize(
    ("who", "query", "expected"),
    [
        # count (cached for the next 30 s) + one page of members (with rank); nothing about
        # customer data.
        ("anonymous", "", 2),
        ("member", "?sort=rank", SIGNED_IN + 2),
        # count + one page of members joined to their ring columns.
        ("expert", "", SIGNED_IN + 2),
        ("guide", "?q=user&sort=-joined", SIGNED_IN + 2),
        ("team", "?page=1", SIGNED_IN + 2),
        # Filtered or sorted by fill level (ring viewers only): the count and the page, each
        # joined to the ring columns.
        ("expert", "?fill=incomplete", SIGNED_IN + 2),
        ("guide", "?fill=67&sort=-fill", SIGNED_IN + 2),
        ("cm", "?sort=fill&page=1", SIGNED_IN + 2),
        # For anyone else the parameters do not exist: the unfiltered page.
        ("member", "?fill=0&sort=fill", SIGNED_IN + 2),
    ],
)
def test_directory_query_count_does_not_grow_with_members(
    who, query, expected, people, login, crowd, django_assert_num_queries
):
    client = Client() if who == "anonymous" else login(people[who])
    with django_assert_num_queries(expected):
        response = client.get(f"/members/{query}")
    assert response.status_code == 200
    assert response.text.count('class="member-link"') >= 30


def test_directory_member_count_is_reused_for_half_a_minute(
    people, login, crowd, django_assert_num_queries
):
    client = login(people["expert"])
    client.get("/members/")
    # session, viewer, one page: the unfiltered count comes from the cache.
    with django_assert_num_queries(SIGNED_IN + 1):
        client.get("/members/?page=1")
    # A search is counted afresh.
    with django_assert_num_queries(SIGNED_IN + 2):
        client.get("/members/?q=user")
