"""The members directory with many members: the name search finds names in any case (and on
PostgreSQL without accents, through trigram indexes), every order pages through all members in
order, searches are counted only so far and say so, and on PostgreSQL every order and the
search read an index instead of sorting or scanning the members (the database's own plans)."""

import re

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from community.models import Rank
from customer_data.models import CustomerData
from profiles import views
from profiles.models import Profile
from tests.bulk import analyse, bulk_members, nodes, plan_of, plan_tree, sorted_scans
from tests.factories import CUSTOMER_NUMBER, MOBILE_NUMBER, CustomerDataFactory, UserFactory

pytestmark = pytest.mark.django_db

postgresql_only = pytest.mark.skipif(
    connection.vendor != "postgresql", reason="the trigram indexes and plans are PostgreSQL's"
)


def listed(response) -> list[str]:
    return [row["username"] for row in response.context["rows"]]


def caption(html: str) -> str:
    return re.search(r"<caption>(.*?)</caption>", html, re.S).group(1).strip()


# --- Search --------------------------------------------------------------------------------------


@pytest.fixture
def named(db):
    return {
        "lisa": UserFactory(username="lisa.kaiser", display_name="Lisa Kaiserin"),
        "jorg": UserFactory(username="jm-1982", display_name="Jörg Müller"),
        "anna": UserFactory(username="anna_m", display_name="ANNA MÜLLER"),
        "karl": UserFactory(username="karl.muller", display_name="Karl"),
        "other": UserFactory(username="someone", display_name="Otto Normal"),
    }


@pytest.mark.parametrize(
    ("term", "expected"),
    [
        ("kaiserin", ["lisa.kaiser"]),  # part of the display name
        ("KAISER", ["lisa.kaiser"]),  # in any case, display name and username alike
        ("isa.kai", ["lisa.kaiser"]),  # part of the username only
        ("1982", ["jm-1982"]),
        ("Normal", ["someone"]),
        ("nobody-by-that-name", []),
    ],
)
def test_the_search_finds_part_of_a_display_name_or_username_in_any_case(
    client, named, term, expected
):
    response = client.get("/members/", {"q": term})

    assert listed(response) == expected
    assert response.context["page"].paginator.count == len(expected)


@postgresql_only
@pytest.mark.parametrize("term", ["muller", "Müller", "MÜLLER", "mÜlLeR"])
def test_muller_finds_mueller_with_and_without_accents_in_any_case(client, named, term):
    response = client.get("/members/", {"q": term, "sort": "-name"})

    # By display name (Jörg Müller, ANNA MÜLLER) and by username (karl.muller).
    assert sorted(listed(response)) == ["anna_m", "jm-1982", "karl.muller"]


@postgresql_only
def test_a_term_shorter_than_a_trigram_finds_the_start_of_a_word(client, named):
    assert sorted(listed(client.get("/members/", {"q": "mü"}))) == [
        "anna_m",
        "jm-1982",
        "karl.muller",  # "karl.muller": a word of the username starts after the dot
    ]
    assert sorted(listed(client.get("/members/", {"q": "KA"}))) == ["karl.muller", "lisa.kaiser"]
    # Inside a word, two letters find nothing: the index could only be read whole for them.
    assert listed(client.get("/members/", {"q": "ll"})) == []


@postgresql_only
@pytest.mark.parametrize("sort", ["name", "rank", "-fill"])
def test_a_term_without_a_letter_or_digit_finds_no_one(client_for, named, sort):
    response = client_for("cm").get("/members/", {"q": "...", "sort": sort})

    assert listed(response) == []
    assert "Keine Mitglieder gefunden." in response.text


@pytest.fixture
def shallow(monkeypatch, people):
    """3 pages of 2 members: 6 listed at most; the people and 10 more members exist."""
    monkeypatch.setattr(views, "DIRECTORY_PAGE_SIZE", 2)
    monkeypatch.setattr(views, "DIRECTORY_MAX_PAGES", 3)
    for index in range(10):
        UserFactory(username=f"tief-{index:02}")


def test_a_search_with_more_hits_than_pages_says_more_than_so_many_hits(client, shallow):
    first = client.get("/members/", {"q": "tief"})
    assert caption(first.text) == "Mehr als 6 Treffer"

    last = client.get("/members/", {"q": "tief", "page": 3})
    assert "Gib mehr vom Namen ein, um die Treffer einzugrenzen." in last.text
    assert "Such nach einem Namen" not in last.text


def test_a_search_within_the_pages_names_the_members_found(client, shallow):
    assert caption(client.get("/members/", {"q": "tief-0"}).text) == "Mehr als 6 Treffer"
    assert caption(client.get("/members/", {"q": "tief-01"}).text) == "1 Mitglied"
    assert caption(client.get("/members/", {"q": "tief-0", "page": 2}).text).startswith("Mehr")


def test_the_unfiltered_list_still_counts_members(client, shallow):
    assert caption(client.get("/members/").text) == "Mehr als 6 Mitglieder"


def test_a_fill_filter_with_more_hits_than_pages_says_hits(client_for, shallow):
    # Every "tief-" member has no customer data: all are "0 %".
    response = client_for("expert").get("/members/", {"fill": "0"})

    assert caption(response.text) == "Mehr als 6 Treffer"


# --- Every order, page by page ---------------------------------------------------------------------


@pytest.fixture
def ordered(people, monkeypatch):
    """Eleven "ord-" members across the ranks (one without any), the fill levels (one with
    consent for an outdated text) and join dates; two a page, so pages span ranks and levels."""
    monkeypatch.setattr(views, "DIRECTORY_PAGE_SIZE", 2)
    spec = [
        # username, display name, rank code or None, fill level or "outdated"
        ("ord-a", "Ord Zeta", "neuling", 0),
        ("ord-b", "Ord Alpha", "neuling", 3),
        ("ord-c", "Ord Mid", "stammgast", 1),
        ("ord-d", "Ord Alpha", "stammgast", 2),
        ("ord-e", "Ord Beta", "mitgestalter", 0),
        ("ord-f", "Ord Omega", "community-guide", "outdated"),
        ("ord-g", "Ord Gamma", None, 3),
        ("ord-h", "Ord Delta", "aufsteiger", 1),
        ("ord-i", "Ord Delta", "neuling", 2),
        ("ord-j", "Ord Kappa", "community-guide", 0),
        ("ord-k", "Ord Epsilon", None, 1),
    ]
    values = [
        {},
        {"customer_number": CUSTOMER_NUMBER},
        {"customer_number": CUSTOMER_NUMBER, "mobile_number": MOBILE_NUMBER},
        {"full": True},
    ]
    members = []
    for username, name, rank, fill in spec:
        user = UserFactory(username=username, display_name=name)
        Profile.objects.filter(user=user).update(rank=Rank.objects.get(code=rank) if rank else None)
        if fill == "outdated":
            CustomerDataFactory(user=user, outdated_consent=True)
        elif fill:
            CustomerDataFactory(user=user, **values[fill])
        members.append(
            {
                "username": username,
                "user_id": user.pk,
                "name": name,
                "rank": Rank.objects.get(code=rank).order if rank else None,
                "filled": fill if isinstance(fill, int) else 0,
                "joined": user.date_joined,
            }
        )
    return members


def expected_order(members: list[dict], sort: str) -> list[str]:
    """The order each sort promises, worked out here independently of the database."""
    lowest = -1  # no rank counts below the lowest rank
    keys = {
        "name": lambda m: (m["name"], m["user_id"]),
        "rank": lambda m: (-(m["rank"] if m["rank"] is not None else lowest), m["name"], m["user_id"]),
        "-rank": lambda m: (m["rank"] if m["rank"] is not None else lowest, m["name"], m["user_id"]),
        "joined": lambda m: (m["joined"], m["user_id"]),
        "fill": lambda m: (m["filled"], m["user_id"]),
        "-fill": lambda m: (-m["filled"], m["user_id"]),
    }  # fmt: skip
    if sort in ("-name", "-joined"):
        return expected_order(members, sort[1:])[::-1]
    return [member["username"] for member in sorted(members, key=keys[sort])]


@pytest.mark.parametrize("sort", [*views.DirectoryForm.SORT_LABELS, "fill", "-fill"])
def test_every_order_pages_through_all_members_in_its_order(client_for, ordered, sort):
    client = client_for("cm")  # a ring viewer: the fill orders exist for them
    pages = []
    for number in range(1, 7):
        response = client.get("/members/", {"q": "ord-", "sort": sort, "page": number})
        assert response.context["page"].number == number
        assert response.context["page"].paginator.count == len(ordered)
        pages.append(listed(response))

    assert [username for page in pages for username in page] == expected_order(ordered, sort)
    assert all(len(page) == 2 for page in pages[:-1])


def test_every_sort_of_the_form_has_an_order():
    from profiles.selectors import DIRECTORY_ORDER

    form_sorts = {*views.DirectoryForm.SORT_LABELS, *views.DirectoryForm.FILL_SORT_LABELS}
    assert form_sorts == set(DIRECTORY_ORDER)


# --- PostgreSQL reads an index for every order and for the search ----------------------------------

MEMBERS = 3000


@pytest.fixture
def crowd(people):
    ids = bulk_members(MEMBERS)
    # Three members by one rare name, written three ways.
    for user_id, name in zip(ids[:3], ["Jörg Müller", "ANNA MÜLLER", "Karl Muller"], strict=True):
        Profile.objects.filter(user_id=user_id).update(display_name=name)
    analyse()
    return ids


def page_queries(client, query: dict) -> tuple[list[str], list[str]]:
    """The directory's SQL for `query`: its counts, and its page of members."""
    with CaptureQueriesContext(connection) as captured:
        response = client.get("/members/", query)
    assert response.status_code == 200
    sql = [entry["sql"] for entry in captured.captured_queries]
    counts = [statement for statement in sql if statement.startswith("SELECT (SELECT COUNT(*)")]
    pages = [
        statement
        for statement in sql
        if re.match(r'^\(?SELECT "profiles_profile"."user_id" AS "user_id"', statement)
    ]
    return counts, pages


MEMBER_TABLES = {"profiles_profile", "auth_user", "customer_data_customerdata"}


def assert_reads_no_table_whole(sql: str, *, sorts_matches: bool = False) -> None:
    """No member table read whole; and no sort of more rows than the page's own (each sort
    in the plan orders rows that passed a LIMIT: a page's slice of each group), or, for a
    search, of more than the rows its index found (`sorts_matches`)."""
    tree = plan_tree(sql)
    scanned = [
        node["Relation Name"]
        for node in nodes(tree)
        if node["Node Type"] == "Seq Scan" and node.get("Relation Name") in MEMBER_TABLES
    ]
    sorted_whole = [
        node["Relation Name"]
        for node in sorted_scans(tree)
        if node["Relation Name"] in MEMBER_TABLES
        and not (sorts_matches and node["Node Type"] in ("Bitmap Heap Scan", "Index Scan"))
    ]
    assert (scanned, sorted_whole) == ([], []), plan_of(sql)


def assert_counts_only_so_far(sql: str) -> None:
    """Every count in the query counts the rows of a LIMIT."""
    counts = [node for node in nodes(plan_tree(sql)) if node["Node Type"] == "Aggregate"]
    assert counts
    assert all(count["Plans"][0]["Node Type"] == "Limit" for count in counts), plan_of(sql)


@postgresql_only
def test_the_name_search_reads_both_trigram_indexes(client, crowd):
    counts, pages = page_queries(client, {"q": "muller"})

    assert len(counts) == 1
    assert len(pages) == 1
    for sql in (*counts, *pages):
        plan = plan_of(sql)
        assert "Bitmap Index Scan on profile_name_search" in plan, plan
        assert "Bitmap Index Scan on member_username_search" in plan, plan
        assert_reads_no_table_whole(sql, sorts_matches=True)
    assert_counts_only_so_far(counts[0])
    assert sorted(listed(client.get("/members/", {"q": "muller"}))) == [
        "bulk-00000",
        "bulk-00001",
        "bulk-00002",
    ]


@postgresql_only
@pytest.mark.parametrize(
    ("sort", "number", "indexes"),
    [
        ("name", 1, ["Index Scan using profile_directory_order"]),
        ("-name", 3, ["Index Scan Backward using profile_directory_order"]),
        ("joined", 1, ["Index Scan using member_joined_order"]),
        ("-joined", 3, ["Index Scan Backward using member_joined_order"]),
        # Within the page's rank: the top rank for "rank", the lowest for "-rank".
        ("rank", 1, ["Index Scan using profile_rank_order"]),
        ("-rank", 2, ["Index Scan using profile_rank_order"]),
        # Fill level 0 first: the members by account, less those with counted data.
        ("fill", 1, ["profiles_profile_user_id_key", "customer_data_customerdata_user_id_key"]),
        # Fill level 3 first: the customer data of that level, by account.
        ("-fill", 2, ["customer_data_customerdata"]),
    ],
)
def test_every_order_reads_its_index(client_for, crowd, sort, number, indexes):
    counts, pages = page_queries(client_for("cm"), {"sort": sort, "page": number})

    assert len(pages) == 1
    plan = plan_of(pages[0])
    for index in indexes:
        assert index in plan, plan
    assert_reads_no_table_whole(pages[0])
    for sql in counts:
        assert_counts_only_so_far(sql)


@postgresql_only
@pytest.mark.parametrize("sort", ["rank", "-fill"])
def test_a_page_across_two_groups_reads_a_slice_of_each(client_for, crowd, sort):
    """A page that ends one rank (or fill level) and begins the next: a LIMIT in each group's
    range of its index, and a sort of the page's rows alone."""
    # The first group made small, so that the first page reaches into the second.
    if sort == "rank":
        top, second = Rank.objects.order_by("-order")[:2]
        kept = Profile.objects.filter(rank=top).order_by("user_id").values("pk")[:10]
        Profile.objects.filter(rank=top).exclude(pk__in=kept).update(rank=second)
    else:
        level_3 = CustomerData.objects.filter(filled_count=3)
        kept = level_3.order_by("user_id").values("pk")[:10]
        # The fill count is generated: erasing a value is what lowers it.
        level_3.exclude(pk__in=kept).update(further_info=None)
    analyse()

    response = client_for("cm").get("/members/", {"sort": sort})
    assert len(response.context["rows"]) == views.DIRECTORY_PAGE_SIZE
    _counts, pages = page_queries(client_for("cm"), {"sort": sort})

    plan = plan_of(pages[0])
    assert "Append" in plan, plan
    assert plan.count("Limit") >= 2, plan
    assert_reads_no_table_whole(pages[0])
