"""The staff lists open in constant time however long they are: each page is read from an index
in the list's default order (PostgreSQL's own plan says so, on a few thousand rows with fresh
statistics), its count stops at a LIMIT, and no filter asks the database for its choices."""

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import resolve

from community.models import Rank, StructureChange
from customer_data.models import PersonalDataAccess
from tests.bulk import analyse, bulk_members, nodes, plan_of, plan_tree, sorted_scans

pytestmark = pytest.mark.django_db

postgresql_only = pytest.mark.skipif(
    connection.vendor != "postgresql", reason="query plans are PostgreSQL's"
)

LISTS = {
    # path: (the list's table, the index its page is read from)
    "/admin/customer_data/customerdata/": (
        "customer_data_customerdata",
        "Index Scan Backward using customerdata_updated",
    ),
    "/admin/customer_data/personaldataaccess/": (
        "customer_data_personaldataaccess",
        "Index Scan Backward using access_log_order",
    ),
    # Read backwards by time, from `role_log_order` or (the planner may take either) from the
    # single-column index on `at`, with an incremental sort of rows with the same time only.
    "/admin/community/structurechange/": ("community_structurechange", "Index Scan Backward"),
    "/admin/profiles/profile/": ("profiles_profile", "Index Scan using profile_directory_order"),
}
# With two indexes to walk (its own on `at` too), the planner may take the one on `at` alone and
# order the rows of the same instant by id as they come.
INCREMENTAL = {"/admin/community/structurechange/"}
# The staff role that browses each list (the policy decides; see tests/visibility/test_admin.py).
VIEWER = {"/admin/profiles/profile/": "admin"}


@pytest.fixture
def long_lists(people):
    """3,000 members (1,000 with customer data), 6,000 access-log rows, 3,000 role changes."""
    ids = bulk_members(3000)
    team = people["team"]
    PersonalDataAccess.objects.bulk_create(
        PersonalDataAccess(
            viewer=team,
            viewer_name="team",
            subject_id=user_id,
            channel=PersonalDataAccess.Channel.PROFILE,
            fields=["customer_number"],
        )
        for user_id in ids * 2
    )
    StructureChange.objects.bulk_create(
        StructureChange(
            kind=StructureChange.Kind.ROLE_GRANTED,
            actor=team,
            actor_name="team",
            member_id=user_id,
            member_name=str(user_id),
            role="telekom-hilft-team",
        )
        for user_id in ids
    )
    analyse()


def list_queries(client, path: str, table: str) -> tuple[list[str], list[str], list[str]]:
    """The list's page query (of 100 rows), its counts, and every statement of the request."""
    client.get("/")  # the session's first use, outside the capture
    with CaptureQueriesContext(connection) as captured:
        response = client.get(path)
    assert response.status_code == 200
    statements = [entry["sql"] for entry in captured.captured_queries]
    pages = [
        sql
        for sql in statements
        if sql.startswith("SELECT ") and f'FROM "{table}"' in sql and sql.endswith("LIMIT 100")
    ]
    counts = [sql for sql in statements if sql.startswith("SELECT COUNT(*)") and table in sql]
    return pages, counts, statements


def assert_page_walks_index(sql: str, table: str, *, exactly: bool) -> None:
    """The page's rows come from an index in the list's order: no scan of the whole table, no
    sort of it; `exactly`: no sort at all (not even an incremental one, which orders the rows
    an index hands over tied on its leading column, by the rest of the order)."""
    tree = plan_tree(sql)
    scanned = [n for n in nodes(tree) if n["Node Type"] == "Seq Scan"]
    sorted_whole = [n["Relation Name"] for n in sorted_scans(tree)]
    sorts = [n for n in nodes(tree) if n["Node Type"] in ("Sort", "Incremental Sort")]
    assert [n["Relation Name"] for n in scanned if n["Relation Name"] == table] == [], plan_of(sql)
    assert table not in sorted_whole, plan_of(sql)
    assert not (exactly and sorts), plan_of(sql)


@postgresql_only
@pytest.mark.parametrize("path", list(LISTS))
def test_each_list_reads_its_page_from_the_index_of_its_order(client_for, long_lists, path):
    table, index = LISTS[path]
    pages, counts, statements = list_queries(client_for(VIEWER.get(path, "cm")), path, table)

    assert len(pages) == 1, statements
    page = pages[0]
    plan = plan_of(page)
    assert index in plan, plan
    assert_page_walks_index(page, table, exactly=path not in INCREMENTAL)
    # "n Kundendaten" or "mehr als 10.000 …": one count, and it stops at its LIMIT.
    assert len(counts) == 1
    aggregate = plan_tree(counts[0])
    assert aggregate["Node Type"] == "Aggregate"
    assert aggregate["Plans"][0]["Node Type"] == "Limit", plan_of(counts[0])


@postgresql_only
@pytest.mark.parametrize(
    ("path", "query", "index"),
    [
        ("/admin/customer_data/customerdata/", "consent__exact=1", "customerdata_updated"),
        ("/admin/customer_data/personaldataaccess/", "channel__exact=profile", "Backward"),
        (
            "/admin/customer_data/personaldataaccess/",
            "at__gte=2000-01-01+00%3A00%3A00%2B00%3A00",
            "Backward",
        ),
        ("/admin/community/structurechange/", "kind__exact=granted", "Backward"),
        ("/admin/profiles/profile/", "rank__id__exact=2", "Index Scan using profile_rank_order"),
    ],
)
def test_a_filtered_list_still_walks_an_index(client_for, long_lists, path, query, index):
    table, _index = LISTS[path]
    pages, _counts, statements = list_queries(
        client_for(VIEWER.get(path, "cm")), f"{path}?{query}", table
    )

    assert len(pages) == 1, statements
    page = pages[0]
    plan = plan_of(page)
    assert index in plan, plan
    assert_page_walks_index(page, table, exactly=False)


@pytest.mark.parametrize("path", list(LISTS))
def test_no_list_asks_the_database_for_dates_or_filter_choices(client_for, people, path):
    """A date hierarchy reads the distinct years, months or days of the whole table; the
    filters here offer fixed choices (or the short rank ladder)."""
    table, _index = LISTS[path]
    _page, _counts, statements = list_queries(client_for(VIEWER.get(path, "cm")), path, table)

    assert not [sql for sql in statements if "DISTINCT" in sql], statements
    model_admin = resolve(path).func.model_admin
    assert model_admin.date_hierarchy is None


@pytest.mark.parametrize("path", list(LISTS))
def test_every_filter_offers_fixed_choices_or_the_rank_ladder(path):
    """Yes/no, a field's fixed choices, the fixed date ranges (on an indexed date), or the
    ranks: nothing a filter lists grows with the table."""
    model_admin = resolve(path).func.model_admin
    opts = model_admin.model._meta
    for name in model_admin.list_filter:
        field = opts.get_field(name)
        if field.is_relation:
            assert field.related_model is Rank, name
        elif field.get_internal_type() == "DateTimeField":
            assert field.db_index, name
        else:
            assert field.choices or field.get_internal_type() == "BooleanField", name
