"""The directory pages only so deep, and counts only so far: past the last page it says how many
there are at least and asks for a search; no count reads more rows than the pages show."""

import re

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from profiles import views
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def shallow(monkeypatch, people):
    """3 pages of 2 members: 6 listed at most; the people and 10 more members exist."""
    monkeypatch.setattr(views, "DIRECTORY_PAGE_SIZE", 2)
    monkeypatch.setattr(views, "DIRECTORY_MAX_PAGES", 3)
    for index in range(10):
        UserFactory(username=f"tief-{index:02}")


def caption(html: str) -> str:
    return re.search(r"<caption>(.*?)</caption>", html, re.S).group(1).strip()


def test_more_members_than_pages_says_more_than_and_stops_at_the_last_page(client, shallow):
    first = client.get("/members/")
    assert caption(first.text) == "Mehr als 6 Mitglieder"
    assert "Seite 1 von 3" in first.text

    beyond = client.get("/members/", {"page": 50})
    assert beyond.context["page"].number == 3
    assert "Such nach einem Namen" in beyond.text
    assert "Die Liste zeigt höchstens 3 Seiten" in beyond.text


def test_a_search_within_the_pages_is_counted_exactly(client, shallow):
    response = client.get("/members/", {"q": "tief-0"})

    assert caption(response.text) == "Mehr als 6 Treffer"
    few = client.get("/members/", {"q": "tief-01"})
    assert caption(few.text) == "1 Mitglied"
    assert "Such nach einem Namen" not in few.text


def test_no_count_reads_past_what_the_pages_show(client, shallow):
    with CaptureQueriesContext(connection) as queries:
        client.get("/members/", {"q": "tief"})
    counts = [query["sql"] for query in queries if "COUNT(" in query["sql"]]

    assert len(counts) == 1
    assert "LIMIT 7" in counts[0]


def test_in_english_too(client, shallow):
    client.cookies["django_language"] = "en"

    assert caption(client.get("/members/").text) == "More than 6 members"
