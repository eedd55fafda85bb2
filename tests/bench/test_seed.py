"""The benchmark's data set holds what the pages under test look for, checked on the real pages."""

import re

import pytest
from django.conf import settings
from django.contrib.auth import get_user_model

from bench import client, seed
from bench.names import COMMON_NAME_SEARCH, RARE_NAME_MEMBERS, RARE_NAME_SEARCH
from customer_data import selectors
from customer_data.models import (
    ENCRYPTED_FIELDS,
    ConsentRecord,
    CustomerData,
    PersonalDataAccess,
)
from customer_data.selectors import MatchKind

pytestmark = pytest.mark.django_db

SEARCH = "/admin/customer_data/customerdata/search/"


@pytest.fixture
def members(people):
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
    assert log.count() > seed.OWNER_ACCESS_ROWS  # the owner's, and other members' views
    assert log.filter(subject=owner).count() == seed.OWNER_ACCESS_ROWS
    assert log.exclude(subject__customer_data__filled_count__gt=0).count() == 0
    owner_row = log.filter(subject=owner).first()
    assert owner_row.fields == list(ENCRYPTED_FIELDS)
    assert owner_row.viewer_name == people["team"].profile.display_name


@pytest.mark.parametrize(
    ("term", "kind"),
    [
        (seed.SEARCHED_MOBILE, MatchKind.MOBILE_NUMBER),
        (seed.SEARCHED_CUSTOMER_NUMBER, MatchKind.CUSTOMER_NUMBER),
    ],
)
def test_each_searched_number_is_stored_for_one_member_other_than_the_owner(members, term, kind):
    (hit,) = selectors.list_search_hits(selectors.member_search(term))

    assert hit.data.user.username.startswith(seed.PREFIX)
    assert hit.data.user.username != seed.OWNER  # the Speichern row rewrites the owner's number
    assert hit.matched_by == [kind]
    assert seed.searched_members(term) == 1


def matches(checks, html: str) -> list[int]:
    return [len(re.findall(check.pattern, html)) for check in checks]


@pytest.mark.parametrize(
    ("term", "other"),
    [(seed.SEARCHED_MOBILE, "0172 3456780"), (seed.SEARCHED_CUSTOMER_NUMBER, "8800 4711 0043")],
)
def test_the_search_rows_find_one_member_on_the_real_page(members, people, login, term, other):
    """The bench's search requests as `team`, against the admin view and its template."""
    team = login(people["team"])
    page = team.post(SEARCH, {"q": term})
    nobody = team.post(SEARCH, {"q": other})

    assert page.status_code == 200
    assert matches(client.ONE_MEMBER_FOUND, page.content.decode()) == [1]
    assert matches(client.ONE_MEMBER_FOUND, nobody.content.decode()) == [0]


def test_the_admin_list_row_finds_its_table_on_the_real_page(members, people, login):
    page = login(people["team"]).get(client.CUSTOMER_DATA_ADMIN)

    assert page.status_code == 200
    assert matches(client.ADMIN_LIST_SHOWN, page.content.decode()) == [1]


def test_the_name_search_rows_find_their_members_on_the_real_page(members, people, login):
    member = login(people["member"])
    rare = member.get(client.name_search(RARE_NAME_SEARCH)).content.decode()
    common = member.get(client.name_search(COMMON_NAME_SEARCH)).content.decode()
    plain = member.get("/members/").content.decode()

    assert matches(client.RARE_NAME_FOUND, rare) == [1, RARE_NAME_MEMBERS]
    found = matches(client.COMMON_NAME_FOUND, common)
    assert found == [1, seed.named_members(COMMON_NAME_SEARCH)]  # 30 members: one page
    assert found[1] >= 1
    assert matches(client.RARE_NAME_FOUND, plain)[0] == 0  # no search: the box is empty


def test_the_deepest_directory_row_sees_the_200th_page_on_the_real_page(people, login, monkeypatch):
    """With pages of one member, 209 members make 200 pages (the cap): page 200 is the 200th."""
    from profiles import views

    monkeypatch.setattr(views, "DIRECTORY_PAGE_SIZE", 1)
    seed.create_members(202, "bench-password")
    page = login(people["member"]).get(client.DEEPEST_DIRECTORY).content.decode()
    before = login(people["member"]).get("/members/?page=199").content.decode()

    assert matches(client.DEEPEST_SHOWN, page) == [1]
    assert matches(client.DEEPEST_SHOWN, before) == [0]


def test_the_fill_directory_row_is_filtered_and_sorted_for_a_mitgestalter_only(
    members, people, login
):
    expert = login(people["expert"]).get(client.FILLED_DIRECTORY)
    member = login(people["member"]).get(client.FILLED_DIRECTORY)

    assert expert.status_code == member.status_code == 200
    assert matches(client.FILL_APPLIED, expert.content.decode()) == [1, 1]
    assert matches(client.FILL_APPLIED, member.content.decode()) == [0, 0]  # ignored for others
