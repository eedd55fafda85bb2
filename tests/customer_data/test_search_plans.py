"""The staff search by number looks its rows up through the blind-index columns' indexes, on
SQLite and on PostgreSQL: the database's own query plan says so."""

import pytest
from django.db import connection

from customer_data.models import ENCRYPTED_FIELDS, CustomerData
from customer_data.selectors import member_search
from tests.factories import CUSTOMER_NUMBER, MOBILE_NUMBER_SHOWN, CustomerDataFactory, UserFactory

pytestmark = pytest.mark.django_db

INDEX_NAMES = {"customer_number": "customer_number_bidx", "mobile_number": "mobile_number_bidx"}


def plan_for(term: str) -> str:
    rows = (
        CustomerData.objects.filter(member_search(term).condition())
        .defer(*ENCRYPTED_FIELDS)
        .order_by("user_id")
    )
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            # A test table is small enough that a scan would win; what matters is whether
            # the index can serve the lookup at all.
            cursor.execute("SET LOCAL enable_seqscan = off")
    return rows.explain()


@pytest.fixture
def stored():
    for _ in range(20):
        CustomerDataFactory(user=UserFactory(), full=True)


@pytest.mark.parametrize(
    ("term", "column"),
    [(CUSTOMER_NUMBER, "customer_number"), (MOBILE_NUMBER_SHOWN, "mobile_number")],
)
def test_a_search_by_number_uses_the_index_of_its_column(stored, term, column):
    plan = plan_for(term)

    if connection.vendor == "postgresql":
        assert "Index" in plan, plan
        assert "Seq Scan on customer_data_customerdata" not in plan, plan
    else:
        assert "USING INDEX" in plan, plan
    assert INDEX_NAMES[column] in plan, plan
