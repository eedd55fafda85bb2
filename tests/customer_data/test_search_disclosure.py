"""A staff search that finds a member by customer number or phone number ties the number to a
person: it is logged like a view of the values, one row per member found, naming the field
searched and never the value, and the member reads it on the Datenschutz tab. A search by
name, and a search that finds nobody, log nothing. The number never travels in a URL, a link,
a redirect or a log line."""

import json
import logging
import re

import jsonschema
import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import translation

from customer_data import crypto
from customer_data.models import PersonalDataAccess
from tests.factories import (
    CUSTOMER_NUMBER,
    MOBILE_NUMBER,
    MOBILE_NUMBER_SHOWN,
    CustomerDataFactory,
    UserFactory,
)
from tests.privacy.test_datenschutz import EXPORT_SCHEMA

pytestmark = pytest.mark.django_db

SEARCH = "/admin/customer_data/customerdata/search/"
PRIVACY = "/settings/privacy/"
# Every form in which the numbers searched for could leak: as stored, as typed, as digits,
# and as their index hashes.
NUMBER_MARKERS = [
    CUSTOMER_NUMBER,
    "4711 0815",
    MOBILE_NUMBER,
    MOBILE_NUMBER_SHOWN,
    "1701234567",
    "170 1234567",
]


def number_markers() -> list[str]:
    return [
        *NUMBER_MARKERS,
        crypto.blind_index(CUSTOMER_NUMBER),
        crypto.blind_index(MOBILE_NUMBER),
    ]


def row_text(access: PersonalDataAccess) -> str:
    """Every column of an access-log row, as the database holds it."""
    values = PersonalDataAccess.objects.filter(pk=access.pk).values().get()
    return repr(values)


@pytest.fixture
def owner_data(people):
    return CustomerDataFactory(user=people["owner"], full=True)


@pytest.mark.parametrize(
    ("who", "term", "channel", "field"),
    [
        ("team", MOBILE_NUMBER_SHOWN, "search_mobile_number", "mobile_number"),
        ("team", "+49 170 1234567", "search_mobile_number", "mobile_number"),
        ("cm", "(0170) 123 45 67", "search_mobile_number", "mobile_number"),
        ("team", CUSTOMER_NUMBER, "search_customer_number", "customer_number"),
        ("cm", "4711-0815 12", "search_customer_number", "customer_number"),
    ],
)
def test_a_search_by_number_logs_one_row_per_member_found_without_the_value(
    who, term, channel, field, people, client_for, owner_data
):
    response = client_for(who).post(SEARCH, {"q": term})

    assert "Olga Owner" in response.text
    row = PersonalDataAccess.objects.get()
    assert (row.viewer, row.subject, row.channel, row.fields) == (
        people[who],
        people["owner"],
        channel,
        [field],
    )
    assert row.viewer_roles == ["telekom-hilft-team" if who == "team" else "community-management"]
    assert [marker for marker in number_markers() if marker in row_text(row)] == []


def test_each_member_found_gets_their_own_row(people, client_for, owner_data):
    # A household: two members gave the same customer number.
    CustomerDataFactory(user=people["regular"], customer_number=CUSTOMER_NUMBER)
    response = client_for("team").post(SEARCH, {"q": CUSTOMER_NUMBER})
    assert "2 Mitglieder gefunden" in response.text
    rows = PersonalDataAccess.objects.order_by("subject__username")
    assert [(row.subject.username, row.channel) for row in rows] == [
        ("owner", "search_customer_number"),
        ("regular", "search_customer_number"),
    ]


def test_a_digits_only_term_logs_each_member_under_the_number_that_found_them(
    people, client_for, owner_data
):
    CustomerDataFactory(user=people["regular"], customer_number="01701234567")
    client_for("team").post(SEARCH, {"q": MOBILE_NUMBER_SHOWN})
    rows = PersonalDataAccess.objects.order_by("subject__username")
    assert [(row.subject.username, row.channel, row.fields) for row in rows] == [
        ("owner", "search_mobile_number", ["mobile_number"]),
        ("regular", "search_customer_number", ["customer_number"]),
    ]


def test_a_member_found_by_both_numbers_at_once_gets_a_row_for_each(people, client_for):
    CustomerDataFactory(
        user=people["owner"], customer_number="01701234567", mobile_number=MOBILE_NUMBER
    )
    client_for("team").post(SEARCH, {"q": MOBILE_NUMBER_SHOWN})
    assert sorted(PersonalDataAccess.objects.values_list("channel", flat=True)) == [
        "search_customer_number",
        "search_mobile_number",
    ]


@pytest.mark.parametrize("term", ["Olga", "owner", "olga owner", "wne"])
def test_a_search_by_name_logs_nothing(term, client_for, owner_data):
    response = client_for("team").post(SEARCH, {"q": term})
    assert "Olga Owner" in response.text
    assert not PersonalDataAccess.objects.exists()


@pytest.mark.parametrize("term", ["0170 7654321", "9999999999", "+49 228 123456", "Niemand"])
def test_a_search_that_finds_nobody_logs_nothing(term, client_for, owner_data):
    response = client_for("cm").post(SEARCH, {"q": term})
    assert "Niemand gefunden" in response.text
    assert not PersonalDataAccess.objects.exists()


def test_the_member_reads_who_found_them_by_which_number(people, client_for, login, owner_data):
    client_for("team").post(SEARCH, {"q": MOBILE_NUMBER_SHOWN})
    client_for("cm").post(SEARCH, {"q": CUSTOMER_NUMBER})

    text = login(people["owner"]).get(PRIVACY).text

    assert "Das Telekom hilft Team hat dich über deine Handynummer gefunden." in text
    assert "Das Community Management hat dich über deine Kundennummer gefunden." in text
    assert "Suche nach Handynummer" in text
    assert "Suche nach Kundennummer" in text
    assert [marker for marker in number_markers() if marker in text] == []


def test_the_sentence_names_the_role_held_at_the_time(people, client_for, login, owner_data):
    client_for("team").post(SEARCH, {"q": MOBILE_NUMBER_SHOWN})
    people["team"].groups.clear()  # the role is taken away afterwards
    text = login(people["owner"]).get(PRIVACY).text
    assert "Das Telekom hilft Team hat dich über deine Handynummer gefunden." in text


def test_the_sentence_in_english(people, client_for, login, owner_data):
    """The English catalogue is filled in separately; until then the sentence may fall back
    to German, but it is always the whole sentence, never a piece of one."""
    client_for("team").post(SEARCH, {"q": MOBILE_NUMBER_SHOWN})
    with translation.override("en"):
        from customer_data.templatetags.customer_data import found_by_sentence

        sentence = found_by_sentence(PersonalDataAccess.objects.get())
    assert sentence.casefold() in (
        "the telekom hilft team found you by your mobile number.",
        "das telekom hilft team hat dich über deine handynummer gefunden.",
    )


def test_other_access_rows_carry_no_search_sentence(people, owner_data):
    from customer_data.templatetags.customer_data import found_by_sentence

    viewer = UserFactory(username="viewer2")
    for channel in ("profile", "admin", "export"):
        row = PersonalDataAccess.objects.create(
            viewer=viewer, subject=people["owner"], channel=channel, fields=["mobile_number"]
        )
        assert found_by_sentence(row) == ""


def test_the_members_export_lists_the_search_without_the_number(
    people, client_for, login, owner_data
):
    client_for("team").post(SEARCH, {"q": MOBILE_NUMBER_SHOWN})
    response = login(people["owner"]).post("/settings/privacy/export/")
    payload = json.loads(response.content)
    jsonschema.validate(payload, EXPORT_SCHEMA)
    assert [(row["channel"], row["fields"]) for row in payload["access_log"]] == [
        ("search_mobile_number", ["mobile_number"])
    ]
    assert [marker for marker in number_markers() if marker in repr(payload["access_log"])] == []


HREF = re.compile(r"""(?:href|src|action|formaction)\s*=\s*["']([^"']*)["']""", re.IGNORECASE)


@pytest.mark.parametrize(
    "term", [MOBILE_NUMBER_SHOWN, "+49 170 1234567", CUSTOMER_NUMBER, "4711 0815 12"]
)
def test_the_number_is_in_no_url_link_redirect_or_log_line(
    term, people, client_for, owner_data, caplog
):
    client = client_for("team")
    caplog.set_level(logging.DEBUG)
    caplog.set_level(logging.DEBUG, logger="django")
    # With the SQL logged too (django.db.backends logs every query at DEBUG while captured).
    with CaptureQueriesContext(connection):
        response = client.post(SEARCH, {"q": term})

    assert response.status_code == 200  # rendered in place: no redirect carrying the term
    assert "Location" not in response
    assert "Olga Owner" in response.text
    links = HREF.findall(response.text)
    assert links  # the page has links: the member's change page among them
    digits = re.sub(r"\D", "", term)
    for link in links:
        assert digits not in re.sub(r"\D", "", link), link
        assert [marker for marker in NUMBER_MARKERS if marker in link] == []
    assert response.request["PATH_INFO"] == SEARCH
    assert not response.request.get("QUERY_STRING")
    assert "django.db.backends" in {record.name for record in caplog.records}
    for record in caplog.records:
        line = record.getMessage()
        assert [marker for marker in NUMBER_MARKERS if marker in line] == [], record.name
        assert digits not in re.sub(r"\D", "", line), record.name
        assert term not in line
