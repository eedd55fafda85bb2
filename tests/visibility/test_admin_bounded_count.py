"""The admin's lists count only so far: a LIMIT inside the COUNT, and "mehr als …" beyond it,
so a list of a million rows opens as fast as one of ten thousand."""

import re

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from community.paginators import BoundedCountPaginator
from tests.factories import CustomerDataFactory, UserFactory

pytestmark = pytest.mark.django_db

LIST = "/admin/customer_data/customerdata/"


@pytest.fixture
def limit_of_three(monkeypatch):
    monkeypatch.setattr(BoundedCountPaginator, "COUNT_LIMIT", 3)


def pager(html: str) -> str:
    found = re.search(r'<nav class="paginator".*?</nav>', html, re.S)
    assert found
    return " ".join(re.sub(r"<[^>]+>", " ", found.group(0)).split())


def test_more_rows_than_the_limit_say_more_than(client_for, limit_of_three):
    for _ in range(5):
        CustomerDataFactory(user=UserFactory(), full=True)

    with CaptureQueriesContext(connection) as queries:
        response = client_for("team").get(LIST)

    assert "mehr als 3 Kundendaten" in pager(response.text)
    counts = [query["sql"] for query in queries if "COUNT(" in query["sql"]]
    assert counts
    assert all("LIMIT 4" in sql for sql in counts)


def test_fewer_rows_are_counted_exactly(client_for, limit_of_three):
    for _ in range(2):
        CustomerDataFactory(user=UserFactory(), full=True)

    assert pager(client_for("cm").get(LIST).text).endswith("2 Kundendaten")


@pytest.mark.parametrize(
    "path",
    [
        "/admin/customer_data/personaldataaccess/",
        "/admin/community/structurechange/",
        "/admin/auth/user/",
        "/admin/profiles/profile/",
    ],
)
def test_every_long_list_counts_only_so_far(path):
    from django.contrib import admin
    from django.urls import resolve

    model_admin = resolve(path).func.model_admin
    assert model_admin.paginator is BoundedCountPaginator
    assert model_admin.show_full_result_count is False
    assert admin.site.is_registered(model_admin.model)
