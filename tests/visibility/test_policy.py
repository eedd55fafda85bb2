"""The policy module, unit level (every role, no queries), and the policy as the Datenschutz
tab explains it to the owner."""

import re

import pytest
from django.contrib.auth.models import AnonymousUser
from django.test import Client

from customer_data.permissions import (
    Visibility,
    can_browse_access_log,
    can_use_staff_tools,
    can_view_others_rings,
    is_disclosure,
    is_owner,
    list_visibility,
    preview_visibility,
    shown_values,
    visibility,
)
from tests.conftest import load_viewer
from tests.factories import CUSTOMER_NUMBER, CustomerDataFactory
from tests.visibility.conftest import RING_MARKER, leaks

pytestmark = pytest.mark.django_db

MATRIX = [
    ("anonymous", Visibility.NONE),
    ("member", Visibility.NONE),
    ("regular", Visibility.NONE),
    ("expert", Visibility.RING_ONLY),
    ("guide", Visibility.RING_ONLY),
    ("team", Visibility.FULL),
    ("cm", Visibility.FULL),
    ("admin", Visibility.NONE),
    ("owner", Visibility.FULL),
]


@pytest.fixture
def viewers(people):
    loaded = {name: load_viewer(user) for name, user in people.items()}
    loaded["anonymous"] = AnonymousUser()
    return loaded


@pytest.mark.parametrize(("who", "expected"), MATRIX)
def test_visibility_matrix_runs_no_queries(
    who, expected, viewers, people, django_assert_num_queries
):
    with django_assert_num_queries(0):
        assert visibility(viewers[who], people["owner"].pk) is expected


@pytest.mark.parametrize(("who", "expected"), MATRIX)
def test_only_staff_role_views_are_disclosures(who, expected, viewers, people):
    assert is_disclosure(viewers[who], people["owner"].pk) is (who in {"team", "cm"})


def test_superuser_and_staff_flags_grant_nothing(viewers, people):
    assert viewers["admin"].is_superuser
    assert visibility(viewers["admin"], people["owner"].pk) is Visibility.NONE
    assert not can_use_staff_tools(viewers["admin"])
    assert not can_view_others_rings(viewers["admin"])


def test_rings_in_lists_only_for_experienced_members_and_staff_roles(viewers):
    allowed = {name for name, viewer in viewers.items() if can_view_others_rings(viewer)}
    assert allowed == {"expert", "guide", "team", "cm"}


def test_only_community_management_browses_the_whole_access_log(viewers):
    assert {name for name, v in viewers.items() if can_browse_access_log(v)} == {"cm"}


def test_rank_change_counts_from_the_next_load(people, viewers):
    from community.models import Rank
    from profiles.models import Profile

    assert visibility(viewers["regular"], people["owner"].pk) is Visibility.NONE
    Profile.objects.filter(user=people["regular"]).update(
        rank=Rank.objects.get(code="mitgestalter")
    )
    assert visibility(load_viewer(people["regular"]), people["owner"].pk) is Visibility.RING_ONLY


def test_role_removal_counts_from_the_next_load(people):
    people["team"].groups.clear()
    assert visibility(load_viewer(people["team"]), people["owner"].pk) is Visibility.NONE


def test_shown_values_need_contents_rights_and_current_consent(people, settings):
    data = CustomerDataFactory.build(user=people["owner"], customer_number=CUSTOMER_NUMBER)
    assert shown_values(Visibility.FULL, data) == {"customer_number": CUSTOMER_NUMBER}
    assert shown_values(Visibility.RING_ONLY, data) == {}
    assert shown_values(Visibility.NONE, data) == {}
    settings.CONSENT_TEXT_VERSION = "newer"
    assert shown_values(Visibility.FULL, data) == {}


@pytest.mark.parametrize(("who", "expected"), MATRIX)
def test_lists_and_the_preview_never_show_values(who, expected, viewers):
    level = list_visibility(viewers[who])
    assert not level.shows_contents
    assert level.shows_ring is (who in {"expert", "guide", "team", "cm"})
    assert preview_visibility() is Visibility.RING_ONLY


@pytest.mark.parametrize(("who", "expected"), MATRIX)
def test_only_the_owner_is_the_owner(who, expected, viewers, people):
    assert is_owner(viewers[who], people["owner"].pk) is (who == "owner")


# --- What the Datenschutz tab tells a member ---

# The line of "Wer sieht diese Daten?" that speaks of each demo role, found by a word of it.
LINE_ABOUT = {
    "owner": "selbst",
    "team": "Telekom hilft Team",
    "cm": "Community Management",
    "expert": "Mitgestalter",
    "guide": "Mitgestalter",  # Community Guide ranks above Mitgestalter
    "member": "Alle anderen Mitglieder",
    "regular": "Alle anderen Mitglieder",
    "admin": "Administratoren",
    "anonymous": "ohne Anmeldung",
}


def who_sees_what(html: str) -> list[str]:
    """The lines of "Wer sieht diese Daten?" as a member reads them (tags removed)."""
    section = html[html.index("Wer sieht diese Daten?") :]
    items = re.findall(r"<li>(.*?)</li>", section[: section.index("</ul>")], re.DOTALL)
    return [" ".join(re.sub(r"<[^>]+>", " ", item).split()) for item in items]


def promised(line: str) -> tuple[bool, bool]:
    """(values, ring) that a line of the explanation promises."""
    if "nichts von" in line:
        return False, False
    if "nur, wie vollständig" in line:
        return False, True
    assert "Kundendaten und wie vollständig" in line, line
    return True, True


@pytest.mark.parametrize("who", list(LINE_ABOUT))
def test_the_datenschutz_tab_tells_the_owner_what_each_role_really_sees(
    who, people, login, owner_data
):
    owner_page = login(people["owner"]).get("/settings/privacy/").text
    lines = [line for line in who_sees_what(owner_page) if LINE_ABOUT[who] in line]
    assert len(lines) == 1, who_sees_what(owner_page)

    client = Client() if who == "anonymous" else login(people[who])
    profile = client.get("/members/owner/").text

    values, ring = promised(lines[0])
    assert bool(leaks(profile)) is values
    assert (RING_MARKER in profile) is ring
    # The tab also says whose every view is logged: exactly the roles shown the values.
    logged = re.search(r"Jeder Abruf durch (.*?) wird protokolliert", owner_page).group(1)
    assert (LINE_ABOUT[who] in logged) is (values and who != "owner")
