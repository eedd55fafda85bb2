"""Many rows at once, for the tests that look at query plans: the planner chooses by the size
of the tables, so a plan test needs a few thousand rows, and factories would take minutes.

Rows are written with `bulk_create`, the way `bench` writes its members: no signals, no
services, no blind indexes (customer data holds 1 to 3 sample values, encrypted: its fill
count is a generated column, so it follows from the values stored).
"""

import json
from collections.abc import Iterator
from datetime import timedelta
from typing import Any

from django.conf import settings
from django.contrib.auth import get_user_model
from django.db import connection
from django.utils import timezone

from community.models import Rank
from customer_data.models import CustomerData
from profiles.models import Profile
from tests.factories import CUSTOMER_NUMBER, FURTHER_INFO, MOBILE_NUMBER

FIRST_NAMES = ["Anna", "Ben", "Carla", "Deniz", "Emil", "Frieda", "Goran", "Hanna", "Ida", "Jonas"]
LAST_NAMES = [
    "Albers", "Brandt", "Claussen", "Dreyer", "Ebert", "Franke", "Gerlach", "Heinze", "Iske",
    "Jansen", "Kühn", "Lorenz", "Marx", "Nagel", "Otte", "Pohl", "Rieger", "Sauer", "Thiel",
    "Ulrich", "Vogt", "Wendt", "Yilmaz", "Zander",
]  # fmt: skip


def bulk_members(count: int, *, prefix: str = "bulk-") -> list[int]:
    """`count` active members (user ids returned) named from the lists above, joined a minute
    apart, spread over the rank ladder; every third one with customer data of 1 to 3 fields
    under the consent text in force."""
    now = timezone.now()
    users = get_user_model()._default_manager.bulk_create(
        get_user_model()(
            username=f"{prefix}{index:05d}",
            password="!",  # an unusable password
            date_joined=now - timedelta(minutes=index),
        )
        for index in range(count)
    )
    ranks = list(Rank.objects.order_by("order"))
    Profile.objects.bulk_create(
        Profile(
            user=user,
            display_name=(
                f"{FIRST_NAMES[index % len(FIRST_NAMES)]} "
                f"{LAST_NAMES[index // len(FIRST_NAMES) % len(LAST_NAMES)]} {index}"
            ),
            rank=ranks[index % len(ranks)],
        )
        for index, user in enumerate(users)
    )
    samples = [
        ("customer_number", CUSTOMER_NUMBER),
        ("mobile_number", MOBILE_NUMBER),
        ("further_info", FURTHER_INFO),
    ]
    CustomerData.objects.bulk_create(
        CustomerData(
            user=user,
            consent=True,
            consent_version=settings.CONSENT_TEXT_VERSION,
            **dict(samples[: 1 + index // 3 % 3]),
        )
        for index, user in enumerate(users)
        if index % 3 == 0
    )
    return [user.pk for user in users]


def analyse() -> None:
    """The tables as autovacuum keeps them (PostgreSQL): fresh planner statistics, and the
    rows inserted into GIN indexes moved from their pending list into the index proper (the
    planner prices a long pending list as a scan). Inside the test's transaction, so it all
    goes with it."""
    if connection.vendor != "postgresql":
        return
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT gin_clean_pending_list(i.indexrelid) FROM pg_index i "
            "JOIN pg_class c ON c.oid = i.indexrelid JOIN pg_am a ON a.oid = c.relam "
            "WHERE a.amname = 'gin'"
        )
        cursor.execute("ANALYZE")


def plan_of(sql: str) -> str:
    """PostgreSQL's plan for a query the site ran (as captured, values included)."""
    with connection.cursor() as cursor:
        cursor.execute(f"EXPLAIN {sql}")
        return "\n".join(row[0] for row in cursor.fetchall())


def plan_tree(sql: str) -> dict[str, Any]:
    """The same plan as a tree of nodes (EXPLAIN's JSON format)."""
    with connection.cursor() as cursor:
        cursor.execute(f"EXPLAIN (FORMAT JSON) {sql}")
        found = cursor.fetchone()[0]
    return (json.loads(found) if isinstance(found, str) else found)[0]["Plan"]


def nodes(plan: dict[str, Any]) -> Iterator[dict[str, Any]]:
    yield plan
    for child in plan.get("Plans", []):
        yield from nodes(child)


def sorted_scans(plan: dict[str, Any], under_sort: bool = False) -> Iterator[dict[str, Any]]:
    """The scans whose rows reach a Sort without passing a Limit on the way up: a sort of
    however many rows they return. (A Limit above a Sort bounds only what it hands on.)"""
    kind = plan["Node Type"]
    if kind == "Limit" or plan.get("Parent Relationship") in ("InitPlan", "SubPlan"):
        under_sort = False
    elif kind == "Sort":  # (an Incremental Sort orders only rows tied on its presorted keys)
        under_sort = True
    if under_sort and "Relation Name" in plan:
        yield plan
    for child in plan.get("Plans", []):
        yield from sorted_scans(child, under_sort)
