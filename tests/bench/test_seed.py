"""The benchmark's data set is written by the app's own form and services."""

import re

import pytest
from django.conf import settings
from django.contrib.auth import get_user_model

from bench import client, seed
from customer_data import selectors
from customer_data.models import ConsentRecord, CustomerData, PersonalDataAccess
from customer_data.selectors import MatchKind

pytestmark = pytest.mark.django_db

SEARCH = "/admin/customer_data/customerdata/search/"


@pytest.fixture
def members(people, monkeypatch):
    monkeypatch.setattr(seed, "ACCESS_ROWS", 20)
    seed.create_members(30, "bench-password")
    return get_user_model().objects.filter(username__startswith=seed.PREFIX)


def test_every_member_has_a_profile_and_the_shared_password(members):
    assert members.count() == 30
    assert all(user.profile.rank is not None for user in members.select_related("profile"))
    assert members.get(username=seed.OWNER).check_password("bench-password")


def test_a_third_store_consented_normalised_customer_data(members):
    rows = CustomerData.objects.filter(user__in=members)
    owner = rows.get(user__username=seed.OWNER)

    assert rows.count() == 10
    assert all(row.consent_is_current and 1 <= row.filled_count <= 3 for row in rows)
    assert owner.filled_count == 3
    assert owner.customer_number.isdigit()
    assert owner.customer_number_bidx
    assert owner.mobile_number.startswith("+49")


def test_consent_history_and_access_log_come_from_the_services(members, people):
    owner = members.get(username=seed.OWNER)
    history = ConsentRecord.objects.filter(user=owner).order_by("at", "pk")

    assert [(r.action, r.reason, r.consent_text_version) for r in history] == [
        ("granted", "member", seed.OLD_CONSENT_VERSION),
        ("withdrawn", "outdated", seed.OLD_CONSENT_VERSION),
        ("granted", "member", settings.CONSENT_TEXT_VERSION),
    ]
    log = PersonalDataAccess.objects.filter(viewer=people["team"])
    assert log.count() == 20 + seed.OWNER_ACCESS_ROWS
    assert log.filter(subject=owner).count() >= seed.OWNER_ACCESS_ROWS


def test_the_searched_number_is_stored_for_one_member_other_than_the_owner(members):
    (hit,) = selectors.list_search_hits(selectors.member_search(seed.SEARCHED_MOBILE))

    assert hit.data.user.username.startswith(seed.PREFIX)
    assert hit.data.user.username != seed.OWNER  # the Speichern row rewrites the owner's number
    assert hit.matched_by == [MatchKind.MOBILE_NUMBER]
    assert seed.searched_members() == 1


def matches(checks, html: str) -> list[int]:
    return [len(re.findall(check.pattern, html)) for check in checks]


def test_the_phone_search_row_finds_one_member_on_the_real_page(members, people, login):
    """The bench's search request as `team`, against the admin view and its template."""
    team = login(people["team"])
    page = team.post(SEARCH, {"q": seed.SEARCHED_MOBILE})
    nobody = team.post(SEARCH, {"q": "0172 3456780"})

    assert page.status_code == 200
    assert matches(client.ONE_MEMBER_FOUND, page.content.decode()) == [1]
    assert matches(client.ONE_MEMBER_FOUND, nobody.content.decode()) == [0]


def test_the_fill_directory_row_is_filtered_and_sorted_for_a_mitgestalter_only(
    members, people, login
):
    expert = login(people["expert"]).get(client.FILLED_DIRECTORY)
    member = login(people["member"]).get(client.FILLED_DIRECTORY)

    assert expert.status_code == member.status_code == 200
    assert matches(client.FILL_APPLIED, expert.content.decode()) == [1, 1]
    assert matches(client.FILL_APPLIED, member.content.decode()) == [0, 0]  # ignored for others
