"""The Mitgestalter's round: ring viewers filter and sort the directory by fill level and get a
hint how to help on an incomplete profile; for everyone else the filter does not exist, down to
the SQL. Staff roles show as badges for every viewer."""

import re

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from tests.factories import (
    CUSTOMER_NUMBER,
    MOBILE_NUMBER,
    OUTDATED_CONSENT_TEXT_VERSION,
    CustomerDataFactory,
    UserFactory,
)

pytestmark = pytest.mark.django_db

RING_VIEWERS = ["expert", "guide", "team", "cm"]
OTHERS = ["anonymous", "member", "regular", "admin", "owner"]
NOW = re.compile(r"'\d{4}-\d\d-\d\d \d\d:\d\d:\d\d(\.\d+)?([+-]\d\d:\d\d)?'")


@pytest.fixture
def fills(people):
    """Members by counted fields: 0 (no row), 0 (outdated consent), 1, 2, 3."""
    members = {
        "fill-none": UserFactory(username="fill-none", display_name="Fill None"),
        "fill-old": UserFactory(username="fill-old", display_name="Fill Old"),
        "fill-one": UserFactory(username="fill-one", display_name="Fill One"),
        "fill-two": UserFactory(username="fill-two", display_name="Fill Two"),
        "fill-all": UserFactory(username="fill-all", display_name="Fill All"),
    }
    CustomerDataFactory(user=members["fill-old"], outdated_consent=True)
    CustomerDataFactory(user=members["fill-one"], customer_number=CUSTOMER_NUMBER)
    CustomerDataFactory(
        user=members["fill-two"], customer_number=CUSTOMER_NUMBER, mobile_number=MOBILE_NUMBER
    )
    CustomerDataFactory(user=members["fill-all"], full=True)
    assert OUTDATED_CONSENT_TEXT_VERSION
    return members


def listed(response) -> list[str]:
    return [row["username"] for row in response.context["rows"]]


@pytest.mark.parametrize("who", RING_VIEWERS)
@pytest.mark.parametrize(
    ("fill", "expected"),
    [
        ("", ["fill-all", "fill-none", "fill-old", "fill-one", "fill-two"]),
        ("incomplete", ["fill-none", "fill-old", "fill-one", "fill-two"]),
        ("0", ["fill-none", "fill-old"]),
        ("33", ["fill-one"]),
        ("67", ["fill-two"]),
        ("100", ["fill-all"]),
    ],
)
def test_ring_viewers_filter_by_fill_level(client_for, fills, who, fill, expected):
    response = client_for(who).get("/members/", {"q": "fill-", "fill": fill})

    assert listed(response) == expected
    assert response.context["page"].paginator.count == len(expected)
    html = response.text
    assert '<select name="fill"' in html
    for label in ("alle", "unvollständig (0–67 %)", "0 %", "33 %", "67 %", "100 %"):
        assert f">{label}</option>" in html
    if fill:
        # The pager keeps the filter.
        assert f"fill={fill}" in response.context["page_query"]


@pytest.mark.parametrize("who", RING_VIEWERS)
def test_ring_viewers_sort_by_fill_level(client_for, fills, who):
    client = client_for(who)
    most_first = listed(client.get("/members/", {"q": "fill-", "sort": "-fill"}))
    least_first = listed(client.get("/members/", {"q": "fill-", "sort": "fill"}))

    assert most_first == ["fill-all", "fill-two", "fill-one", "fill-none", "fill-old"]
    assert least_first == ["fill-none", "fill-old", "fill-one", "fill-two", "fill-all"]


def sql_and_page(client, query: dict) -> tuple[list[str], list[str], int, str]:
    with CaptureQueriesContext(connection) as captured:
        response = client.get("/members/", query)
    assert response.status_code == 200
    # What differs between any two requests: the CSRF token, the CSP nonce, the clock; and the
    # way back to this very address (the language button's and the login link's `next`).
    body = re.sub(
        r'(name="csrfmiddlewaretoken" value|nonce|name="next" value)="[^"]+"|\?next=[^"]+',
        "",
        response.text,
    )
    sql = [NOW.sub("<now>", query["sql"]) for query in captured.captured_queries]
    return sql, listed(response), response.context["page"].paginator.count, body


@pytest.mark.parametrize("who", OTHERS)
@pytest.mark.parametrize(
    "extra",
    [{"fill": "0"}, {"fill": "incomplete"}, {"sort": "fill"}, {"sort": "-fill", "fill": "100"}],
)
def test_for_anyone_else_the_parameters_do_not_exist(client_for, fills, who, extra):
    client = client_for(who)
    for base in ({"q": "fill-"}, {"q": "fill-", "sort": "-name"}, {}):
        client.get("/members/", base)  # the member count is cached by the first call
        without = sql_and_page(client, base)
        with_it = sql_and_page(client, {**extra, **base})

        assert with_it[0] == without[0], "other SQL"
        assert with_it[1:3] == without[1:3], "other rows, order or count"
        assert with_it[3] == without[3], "another page"
    assert '<select name="fill"' not in without[3]
    assert ">Profildaten (vollständigste zuerst)</option>" not in without[3]


def test_the_selector_refuses_a_fill_filter_without_rings():
    from customer_data.permissions import Visibility
    from profiles.selectors import list_members

    with pytest.raises(ValueError, match="ring viewer"):
        list_members(fill="0", level=Visibility.NONE)
    with pytest.raises(ValueError, match="ring viewer"):
        list_members(order="fill", level=Visibility.NONE)


# --- The hint on an incomplete profile ----------------------------------------------------------

HINT = "beim Ergänzen der Kundendaten"


@pytest.mark.parametrize("who", ["expert", "guide"])
@pytest.mark.parametrize("member", ["fill-none", "fill-old", "fill-one", "fill-two"])
def test_a_ring_viewer_gets_a_hint_on_an_incomplete_profile(client_for, fills, who, member):
    html = client_for(who).get(f"/members/{member}/").text

    hint = re.search(r'<p class="form-text mb-0 mt-2">(.*?)</p>', html, re.S)
    assert hint is not None
    text = hint.group(1)
    name = member.replace("-", " ").title()
    assert f"Hilf {name} {HINT}" in text
    assert "Meine Einstellungen → Profil" in text
    assert 'href="/hilfe/kundendaten/"' in text
    # The ring says how many, never which: no field is named.
    for field in ("Kundennummer", "Handynummer", "Weitere Informationen"):
        assert field not in text


@pytest.mark.parametrize(
    ("who", "member"),
    [
        ("expert", "fill-all"),
        ("team", "fill-one"),
        ("cm", "fill-none"),
        ("member", "fill-one"),
        ("anonymous", "fill-one"),
        ("admin", "fill-one"),
    ],
)
def test_no_hint_when_complete_or_for_anyone_but_ring_viewers(client_for, fills, who, member):
    assert HINT not in client_for(who).get(f"/members/{member}/").text


@pytest.mark.parametrize("who", ["anonymous", "member", "expert", "team"])
def test_the_help_page_explains_the_steps_and_who_sees_the_data(client_for, who):
    response = client_for(who).get("/hilfe/kundendaten/")

    assert response.status_code == 200
    html = response.text
    for fact in ("Meine Einstellungen", "Rechnung", "Festnetznummer", "Störungsnummern"):
        assert fact in html
    assert "<strong>Das Telekom hilft Team</strong> sieht deine Kundendaten" in html


# --- Role badges --------------------------------------------------------------------------------


@pytest.mark.parametrize("who", ["anonymous", "member", "expert", "team", "cm", "admin"])
def test_staff_roles_are_badges_in_the_directory_and_on_the_profile(client_for, people, who):
    client = client_for(who)
    directory = client.get("/members/", {"q": "team"}).text
    profile = client.get("/members/cm/").text

    assert '<span class="role-badge">Telekom hilft Team</span>' in directory
    assert '<span class="role-badge">Community Management</span>' in profile
    plain = client.get("/members/", {"q": "regular"}).text
    assert "role-badge" not in plain
