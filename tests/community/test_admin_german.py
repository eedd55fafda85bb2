"""The admin in German, as the two staff roles see it: no English left over, titled for its
users, objects named by the member, and no doubled breadcrumb.

Every admin page a role reaches is visited by following the admin's own links from the
index (each filter on its own, change pages and history included; re-sorting and delete
links aside), plus the customer-data search, which answers a POST.
"""

import html
import itertools
import re
from urllib.parse import urlsplit

import pytest
from django.conf import settings
from django.test import Client
from django.utils import translation

from tests.factories import PersonalDataAccessFactory
from tests.helpers import store_customer_data

pytestmark = pytest.mark.django_db

# Words of Django's English admin; matched as whole words in the visible text only.
ENGLISH = [
    "Django administration",
    "Django site admin",
    "Site administration",
    "Filter by",
    "Select",
    "to view",
    "to change",
    "Change",
    "View",
    "Add",
    "Delete",
    "Search",
    "Home",
    "Log out",
    "Recent actions",
    "My actions",
    "None available",
    "History",
    "Show counts",
    "Hide counts",
    "Show all",
    "Clear all filters",
    "All",
    "Any date",
    "Today",
    "Past 7 days",
    "This month",
    "This year",
    "Yes",
    "No",
    "Unknown",
    "result",
    "results",
    "entries",
    "Pagination",
    "Welcome",
    "View site",
    "Documentation",
    "Change password",
    "Toggle theme",
    "Skip to main content",
    "Close",
    "Save",
    "Run",
    "administration",
    "Model name",
]
ENGLISH_WORDS = re.compile(r"\b(" + "|".join(map(re.escape, ENGLISH)) + r")\b")
# Django's German names for a site that has not been given its own.
UNTITLED = ["Django-Verwaltung", "Django-Systemverwaltung", "Website-Verwaltung"]

MAX_PAGES = 80


def visible_text(page: str) -> str:
    page = re.sub(r"(?is)<(script|style)\b.*?</\1>", " ", page)
    page = re.sub(r"(?s)<!--.*?-->|<[^>]+>", " ", page)
    return re.sub(r"\s+", " ", html.unescape(page))


# Attributes a screen reader announces: an image's text, a label, a button's value, a tooltip.
ANNOUNCED = re.compile(
    r'\b(?:alt|aria-label|title|placeholder)="([^"]*)"|<input[^>]+type="submit"[^>]+value="([^"]*)"'
)


def announced_text(page: str) -> str:
    return " ".join(" ".join(parts) for parts in ANNOUNCED.findall(page))


def english_in(page: str) -> list[str]:
    heard = visible_text(page) + " " + html.unescape(announced_text(page))
    return sorted(set(ENGLISH_WORDS.findall(heard)))


def breadcrumb_trail(page: str) -> list[str]:
    """The breadcrumb items, in order (Django's list or the search page's own trail)."""
    match = re.search(r'class="breadcrumbs">(.*?)</(ol|div)>', page, re.DOTALL)
    if match is None:
        return []
    items = re.split(r"<[^>]+>|›|&rsaquo;", match.group(1))
    return [text for item in items if (text := " ".join(html.unescape(item).split()))]


def doubled(trail: list[str]) -> list[str]:
    return [item for item, following in itertools.pairwise(trail) if item == following]


def worth_following(url: str) -> bool:
    """Admin links a role can follow without changing anything or only re-sorting."""
    parts = urlsplit(url)
    if not parts.path.startswith("/admin/") or parts.netloc:
        return False
    if any(word in parts.path for word in ("/logout/", "/delete/", "/jsi18n/", "/r/")):
        return False
    return not re.search(r"(^|&)(o|_changelist_filters|_to_field|_popup)=", parts.query)


def crawl(client: Client) -> dict[str, str]:
    """Every admin page reachable from the index, by the admin's own links: url -> HTML."""
    pages: dict[str, str] = {}
    queue = ["/admin/"]
    while queue and len(pages) < MAX_PAGES:
        url = queue.pop(0)
        if url in pages:
            continue
        response = client.get(url)
        assert response.status_code == 200, url
        pages[url] = response.text
        for href in re.findall(r'href="([^"#]+)"', response.text):
            link = html.unescape(href)
            if link.startswith("?"):
                link = urlsplit(url).path + link
            # One filter at a time: from a filtered list, only its rows are followed.
            if urlsplit(url).query and urlsplit(link).query:
                continue
            if worth_following(link) and link not in pages:
                queue.append(link)
    return pages


@pytest.fixture
def admin_pages(people, client_for):
    """For each staff role: every admin page it reaches, and the search's result page."""
    store_customer_data(people["owner"])
    PersonalDataAccessFactory(subject=people["owner"], fields=["mobile_number"])

    def _pages(who: str) -> dict[str, str]:
        client = client_for(who)
        pages = crawl(client)
        search = client.post("/admin/customer_data/customerdata/search/", {"q": "owner"})
        assert search.status_code == 200
        pages["POST search"] = search.text
        return pages

    yield _pages
    translation.activate(settings.LANGUAGE_CODE)


# Pages each role must have reached (as regular expressions), or the crawl proves nothing.
REACHED = {
    "team": [
        r"/admin/",
        r"/admin/customer_data/",
        r"/admin/customer_data/customerdata/",
        r"/admin/customer_data/customerdata/\?consent__exact=1",
        r"/admin/customer_data/customerdata/\d+/change/",
        r"/admin/customer_data/customerdata/\d+/history/",
        r"/admin/password_change/",
        r"POST search",
    ],
    "cm": [
        r"/admin/",
        r"/admin/community/",
        r"/admin/customer_data/",
        r"/admin/customer_data/customerdata/",
        r"/admin/customer_data/personaldataaccess/",
        r"/admin/customer_data/personaldataaccess/\?at__gte=[^&]+&at__lt=[^&]+",
        r"/admin/customer_data/personaldataaccess/\?channel__exact=\w+",
        r"/admin/customer_data/personaldataaccess/\d+/change/",
        r"/admin/customer_data/personaldataaccess/\d+/history/",
        r"/admin/community/structurechange/",
        r"/admin/community/structurechange/\d+/change/",
        r"/admin/customer_data/customerdata/\d+/history/",
        r"POST search",
    ],
}


@pytest.mark.parametrize("who", list(REACHED))
def test_every_admin_page_a_staff_role_reaches_is_german_and_titled_for_it(who, admin_pages):
    pages = admin_pages(who)
    # The crawl went everywhere, or it proves nothing.
    unreached = [
        pattern for pattern in REACHED[who] if not any(re.fullmatch(pattern, url) for url in pages)
    ]
    assert unreached == []

    english = {url: found for url, page in pages.items() if (found := english_in(page))}
    assert english == {}

    untitled = {url: [n for n in UNTITLED if n in page] for url, page in pages.items()}
    assert {url: names for url, names in untitled.items() if names} == {}
    assert "Telekom hilft – Kundenservice" in visible_text(pages["/admin/"])

    trails = {url: breadcrumb_trail(page) for url, page in pages.items()}
    assert {url: doubled(trail) for url, trail in trails.items() if doubled(trail)} == {}


def test_the_customer_data_page_is_named_after_the_member_below_a_distinct_app(people, client_for):
    data = store_customer_data(people["owner"])
    page = client_for("team").get(f"/admin/customer_data/customerdata/{data.pk}/change/").text

    assert breadcrumb_trail(page) == [
        "Start",
        "Datenschutz & Kundenservice",
        "Kundendaten",
        "Kundendaten von Olga Owner (owner)",
    ]
    assert "von Mitglied" not in visible_text(page)


@pytest.mark.parametrize(
    "sample",
    [
        "Filter by Zeitpunkt",
        "Select Kundendaten to view",
        "Site administration",
        "Pagination Zugriffsprotokoll",
        "Django administration",
        "2 results (Show all)",
    ],
)
def test_the_check_catches_english_in_text_and_in_what_is_announced_but_not_in_markup(sample):
    assert english_in(f"<p>{sample}</p>") != []
    assert english_in(f'<a href="/admin/x/" title="{sample}">Ansehen</a>') != []
    assert english_in(f'<img src="/s.svg" alt="{sample}">') != []
    assert english_in(f'<input type="submit" value="{sample}">') != []
    slug = sample.replace(" ", "-")
    assert english_in(f'<a class="{slug} viewlink" href="/admin/{slug}/">Ansehen</a>') == []
