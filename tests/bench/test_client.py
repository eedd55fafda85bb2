"""Cookies and CSRF tokens of the benchmark's visitors (no server: responses are built here)."""

from urllib.parse import parse_qs

import pytest
import requests

from bench import client, seed
from bench.client import Visitor
from bench.load import BenchError, Target


def page(html: str = "", url: str = "http://127.0.0.1:1/accounts/login/") -> requests.Response:
    response = requests.Response()
    response._content = html.encode()
    response.encoding = "utf-8"
    response.url = url
    return response


def test_visitor_sends_the_proxy_header_and_its_cookies():
    visitor = Visitor("http://127.0.0.1:8000", {"__Host-sessionid": "s", "__Host-csrftoken": "c"})

    assert visitor.origin == "https://127.0.0.1:8000"
    assert visitor.headers(Referer="r") == {
        "X-Forwarded-Proto": "https",
        "Cookie": "__Host-sessionid=s; __Host-csrftoken=c",
        "Referer": "r",
    }
    assert "Cookie" not in Visitor("http://127.0.0.1:8000").headers()


def test_csrf_token_comes_from_the_form_first():
    visitor = Visitor("http://x", {"__Host-csrftoken": "cookie-secret"})
    form = '<input type="hidden" name="csrfmiddlewaretoken" value="form-token">'

    assert visitor.csrf_token(page(form)) == "form-token"
    assert visitor.csrf_token(page("<p>no form</p>")) == "cookie-secret"


def test_missing_csrf_token_is_an_error():
    with pytest.raises(BenchError, match="No CSRF token"):
        Visitor("http://x").csrf_token(page())


CSRF_FORM = '<form><input type="hidden" name="csrfmiddlewaretoken" value="{}"></form>'


def test_rows_are_the_pages_under_test_with_their_checks(monkeypatch):
    """Every measured row: key, method, path, expected status; the two with body checks."""
    sent: list[tuple[str, str, str]] = []

    def fake_log_in(base_url, username, password):
        return Visitor(base_url, {"__Host-sessionid": f"session-of-{username}"})

    def fake_request(method, url, headers=None, **kwargs):
        sent.append((method, url, headers.get("Cookie", "")))
        return page(CSRF_FORM.format(f"token-{len(sent)}"), url)

    monkeypatch.setattr(client, "log_in", fake_log_in)
    monkeypatch.setattr(client.requests, "request", fake_request)
    owner = {"username": seed.OWNER, "display_name": "Anna", "about": "", "location": ""}
    built = client.build_targets("http://127.0.0.1:1", owner, "pw", members=10_000)
    targets = {t.key: t for t in built}
    profile = f"/members/{seed.OWNER}/"
    search = "/admin/customer_data/customerdata/search/"

    assert [(key, t.method, t.path, t.expect) for key, t in targets.items()] == [
        ("healthz", "GET", "/healthz", 200),
        ("signed_in_shell", "GET", "/", 200),
        ("profile_owner", "GET", profile, 200),
        ("profile_expert", "GET", profile, 200),
        ("profile_team", "GET", profile, 200),
        ("directory_expert", "GET", "/members/", 200),
        ("directory_member", "GET", "/members/", 200),
        ("directory_fill_expert", "GET", "/members/?fill=incomplete&sort=-fill", 200),
        ("directory_deep_expert", "GET", "/members/?page=200", 200),
        ("directory_deep_member", "GET", "/members/?page=200", 200),
        ("name_search_common", "GET", "/members/?q=m%C3%BCller", 200),
        ("name_search_rare", "GET", "/members/?q=qu%C3%A4ntzsch", 200),
        ("settings_get", "GET", "/settings/profile/", 200),
        ("settings_post", "POST", "/settings/profile/", 302),
        ("admin_list_team", "GET", "/admin/customer_data/customerdata/", 200),
        ("phone_search_team", "POST", search, 200),
        ("number_search_team", "POST", search, 200),
    ]
    assert all(len(t.label) <= 34 for t in targets.values())  # the table's first column
    assert "session-of-expert" in targets["directory_fill_expert"].headers["Cookie"]
    assert targets["directory_fill_expert"].checks == client.FILL_APPLIED
    assert "session-of-expert" in targets["directory_deep_expert"].headers["Cookie"]
    assert "session-of-member" in targets["directory_deep_member"].headers["Cookie"]
    assert targets["directory_deep_member"].checks == client.DEEPEST_SHOWN
    assert targets["name_search_common"].checks == client.COMMON_NAME_FOUND
    assert targets["name_search_rare"].checks == client.RARE_NAME_FOUND
    assert "session-of-member" in targets["name_search_rare"].headers["Cookie"]
    assert targets["admin_list_team"].checks == client.ADMIN_LIST_SHOWN
    assert "session-of-team" in targets["admin_list_team"].headers["Cookie"]
    by_number = targets["number_search_team"]
    assert parse_qs(by_number.body)["q"] == [seed.SEARCHED_CUSTOMER_NUMBER]
    assert by_number.checks == client.ONE_MEMBER_FOUND
    assert "session-of-team" in by_number.headers["Cookie"]

    search = targets["phone_search_team"]
    # The token comes from the change list, fetched as `team`.
    assert (
        "GET",
        "http://127.0.0.1:1/admin/customer_data/customerdata/",
        "__Host-sessionid=session-of-team",
    ) in sent
    assert parse_qs(search.body) == {
        "csrfmiddlewaretoken": [f"token-{len(sent)}"],
        "q": [seed.SEARCHED_MOBILE],
    }
    assert search.headers["Referer"] == "https://127.0.0.1:1/admin/customer_data/customerdata/"
    assert search.headers["Content-Type"] == "application/x-www-form-urlencoded"
    assert "session-of-team" in search.headers["Cookie"]
    assert search.checks == client.ONE_MEMBER_FOUND
    # Below 200 pages' worth of members page 200 is the last page: not checked as the 200th.
    small = client.build_targets("http://127.0.0.1:1", owner, "pw", members=9_999)
    assert next(t for t in small if t.key == "directory_deep_member").checks == ()


def answering(monkeypatch, status: int, html: str) -> None:
    def fake_request(method, url, **kwargs):
        response = page(html, url)
        response.status_code = status
        return response

    monkeypatch.setattr(client.requests, "request", fake_request)


SEARCH_ROW = Target(
    "phone_search_team", "search", "POST", "/admin/customer_data/customerdata/search/", {},
    body="q=x", checks=client.ONE_MEMBER_FOUND,
)  # fmt: skip
FOUND = '<tr><td><a href="/admin/customer_data/customerdata/{}/change/">Anna Secret</a></td></tr>'


def test_check_passes_an_answer_with_the_expected_status_and_matches(monkeypatch):
    answering(monkeypatch, 200, FOUND.format(17))

    client.check_targets("http://x", [SEARCH_ROW])


@pytest.mark.parametrize("rows", [0, 2])
def test_check_stops_a_search_that_finds_not_exactly_one_member(monkeypatch, rows):
    answering(monkeypatch, 200, "".join(FOUND.format(pk) for pk in range(rows)))

    with pytest.raises(BenchError, match=f"members found: {rows} matches") as error:
        client.check_targets("http://x", [SEARCH_ROW])
    assert "Secret" not in str(error.value)  # the answer is never quoted


def test_check_stops_a_wrong_status_before_the_body_checks(monkeypatch):
    answering(monkeypatch, 403, "")

    with pytest.raises(BenchError, match=r"answered 403, expected 200\."):
        client.check_targets("http://x", [SEARCH_ROW])


def test_check_stops_a_directory_whose_fill_filter_was_dropped(monkeypatch):
    row = Target(
        "directory_fill_expert", "fill", "GET", client.FILLED_DIRECTORY, {},
        checks=client.FILL_APPLIED,
    )  # fmt: skip
    answering(monkeypatch, 200, '<option value="name" selected>Name</option>')

    with pytest.raises(BenchError, match="the fill filter is applied: 0 matches"):
        client.check_targets("http://x", [row])


def test_the_directory_limits_are_the_sites():
    from profiles import views

    assert client.DIRECTORY_PAGE_SIZE == views.DIRECTORY_PAGE_SIZE
    assert client.DIRECTORY_MAX_PAGES == views.DIRECTORY_MAX_PAGES


def test_a_check_for_at_least_some_matches_passes_more_and_stops_none(monkeypatch):
    row = Target(
        "name_search_common", "common", "GET", client.name_search("müller"), {},
        checks=client.COMMON_NAME_FOUND,
    )  # fmt: skip
    member = '<a class="member-link" href="/members/bench-0000007/">Anna Müller</a>'
    box = '<input type="search" name="q" value="müller" class="form-control">'
    answering(monkeypatch, 200, box + member * 3)
    client.check_targets("http://x", [row])

    answering(monkeypatch, 200, box)
    with pytest.raises(BenchError, match=r"members found: 0 matches .* expected at least 1"):
        client.check_targets("http://x", [row])
    answering(monkeypatch, 200, member)  # the search box lost the term: the search was dropped
    with pytest.raises(BenchError, match="the search is applied: 0 matches"):
        client.check_targets("http://x", [row])


def test_a_page_slower_than_the_statement_timeout_is_tried_again_then_measured_as_it_is(
    monkeypatch,
):
    statuses = iter([503, 503, 200])

    def fake_request(method, url, **kwargs):
        response = page(FOUND.format(17), url)
        response.status_code = next(statuses)
        return response

    monkeypatch.setattr(client.requests, "request", fake_request)
    assert client.check_targets("http://x", [SEARCH_ROW]) == []  # the third try answers

    answering(monkeypatch, 503, "")
    (warning,) = client.check_targets("http://x", [SEARCH_ROW])
    assert "answered 503 3 times: slower than the site's statement timeout" in warning
