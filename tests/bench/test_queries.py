"""Queries per measured request, counted in-process with the visitor's own cookies."""

import json

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from bench import client, queries
from bench.load import Target
from customer_data.models import PersonalDataAccess

pytestmark = pytest.mark.django_db

BASE_URL = "http://127.0.0.1:8000"


def cookie_header(test_client) -> str:
    return "; ".join(f"{name}={morsel.value}" for name, morsel in test_client.cookies.items())


def signed_in(test_client, **extra: str) -> dict[str, str]:
    return {**client.PROXY_HEADERS, "Cookie": cookie_header(test_client), **extra}


def warm_count(test_client, path: str) -> int:
    test_client.get(path)
    with CaptureQueriesContext(connection) as captured:
        test_client.get(path)
    return len(captured.captured_queries)


def test_a_page_is_counted_as_a_warm_worker_serves_it_to_that_visitor(people, login):
    member = login(people["member"])
    targets = [
        Target("healthz", "/healthz", "GET", "/healthz", dict(client.PROXY_HEADERS)),
        Target("directory_member", "p1", "GET", "/members/", signed_in(member)),
    ]

    counted = queries.count_queries(BASE_URL, targets)

    assert counted["healthz"] == {"queries": 0, "status": 200}
    assert counted["directory_member"] == {
        "queries": warm_count(login(people["member"]), "/members/"),
        "status": 200,
    }


def test_a_post_is_replayed_with_its_token_and_csrf_checks_on(people, login):
    team = login(people["team"])
    page = team.get(client.CUSTOMER_DATA_ADMIN).content.decode()
    token = client.CSRF_FIELD.search(page).group(1)
    posted = signed_in(
        team,
        **{
            "Content-Type": "application/x-www-form-urlencoded",
            "Referer": f"https://127.0.0.1:8000{client.CUSTOMER_DATA_ADMIN}",
        },
    )
    search = f"{client.CUSTOMER_DATA_ADMIN}search/"
    body = f"csrfmiddlewaretoken={token}&q=0170+1234567"
    targets = [
        Target("search", "s", "POST", search, posted, body),
        Target("forged", "f", "POST", search, posted, "q=0170+1234567"),
    ]

    counted = queries.count_queries(BASE_URL, targets)

    assert counted["search"]["status"] == 200
    assert counted["search"]["queries"] > 0
    assert counted["forged"]["status"] == 403  # no token: refused, as the server would
    assert not PersonalDataAccess.objects.exists()  # nobody holds the number: nothing logged


def test_a_failing_page_is_reported_by_its_status_and_the_others_still_counted(
    people, login, monkeypatch
):
    from profiles import selectors

    def timed_out(**kwargs):
        raise RuntimeError("canceling statement due to statement timeout")

    monkeypatch.setattr(selectors, "list_members", timed_out)
    member = login(people["member"])
    targets = [
        Target("directory_member", "p1", "GET", "/members/", signed_in(member)),
        Target("healthz", "/healthz", "GET", "/healthz", dict(client.PROXY_HEADERS)),
    ]

    counted = queries.count_queries(BASE_URL, targets)

    assert counted["directory_member"]["status"] == 500
    assert counted["healthz"] == {"queries": 0, "status": 200}


def test_the_targets_travel_as_json_without_their_checks():
    target = Target(
        "phone_search_team", "label", "POST", "/admin/x/", {"Cookie": "s=1"}, "q=1", 200,
        checks=client.ONE_MEMBER_FOUND,
    )  # fmt: skip

    base_url, (back,) = queries.targets_from_json(
        json.loads(queries.targets_to_json(BASE_URL, [target]))
    )

    assert base_url == BASE_URL
    assert back == Target(
        "phone_search_team", "label", "POST", "/admin/x/", {"Cookie": "s=1"}, "q=1"
    )


def test_headers_are_split_into_the_content_type_and_the_rest():
    assert queries.split_headers(
        {"Content-Type": "text/plain", "Host": "x", "Cookie": "a=b", "Referer": "r"}
    ) == ("text/plain", {"Cookie": "a=b", "Referer": "r"})
