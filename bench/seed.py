"""Scaled demo data for the benchmark: many members, a third of them with customer data.

Run as `python -m bench.seed --members N --password PW [--fresh]` in the environment the
harness builds (`bench.config.site_environment`); it prints one JSON line describing the data
set and the Django settings in force, and its progress on stderr. The demo users of
`seed_demo` must exist already.

The rows are written in bulk (`bench/build.py`): COPY on PostgreSQL, batched INSERTs on
SQLite, with the app's own encryption, blind index and normalisation, so they are what the
Profil tab and the services would store; all members share one password hash.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from typing import Any, cast

PREFIX = "bench-"
# Member numbers are zero-padded to this width, so usernames sort as the members were made.
NUMBER_WIDTH = 7
MAX_MEMBERS = 10**NUMBER_WIDTH - 1
OWNER = f"{PREFIX}{1:0{NUMBER_WIDTH}d}"
SEED = 7
# Share of members per rung of a five-rung ladder, lowest first (most are Neuling).
RANK_SHARES = (0.70, 0.15, 0.09, 0.05, 0.01)
HISTORY_SHARE = 0.1  # members who granted consent for an older text before the current one
OLD_CONSENT_VERSION = "2024-01"
# Members with customer data viewed by the team (once or twice each: about one access-log
# row per five members), and the owner's own rows on top.
ACCESS_SHARE = 0.4
OWNER_ACCESS_ROWS = 40

CITIES = (
    "Berlin", "Hamburg", "München", "Köln", "Frankfurt am Main", "Stuttgart", "Düsseldorf",
    "Leipzig", "Dortmund", "Essen", "Bremen", "Dresden", "Hannover", "Nürnberg", "Bonn",
    "Münster", "Kiel", "Erfurt", "Lübeck", "Göttingen", "Würzburg", "Saarbrücken",
)  # fmt: skip
ABOUTS = (
    "",
    "",
    "Glasfaser-Neukunde.",
    "Frage gern zu Festnetz und Router.",
    "Seit Jahren dabei, meist im Mobilfunk-Board.",
    "MagentaTV-Fan und Heimnetz-Bastler.",
    "Hilft gern bei Speedport-Fragen. Antworten meist abends.",
)
# (prefix, subscriber digits) of German mobile numbers, typed in a few of the ways members do.
MOBILE_PREFIXES = (("0170 ", 7), ("0171/", 7), ("0175-", 7), ("+49 160 ", 7), ("0151 ", 8))
# The number the staff search by phone number looks for (`bench/client.py`), typed as members
# type it. Stored for one member only, the first one with customer data after the owner: its
# prefix is none of MOBILE_PREFIXES, so no generated number equals it, and it is 11 digits,
# so no generated customer number (10 digits) does either. Test data, not a real person's.
SEARCHED_MOBILE = "0172 3456789"
# The customer number the staff search by customer number looks for, stored for the second
# member with customer data: 12 digits, where generated ones have 10 (and the owner's
# Speichern row saves another 10-digit one). Test data.
SEARCHED_CUSTOMER_NUMBER = "8800 4711 0042"
INFOS = (
    "Auftragsnummer {n}",
    "Störungsticket {n}, erreichbar werktags ab 17 Uhr",
    "Zweiter Vertrag: {n}",
    "Am besten vormittags anrufen. Auftrag {n}",
)


def drop() -> dict[str, Any]:
    """Delete the generated members with everything that hangs off them."""
    from django.contrib.auth import get_user_model
    from django.db import transaction

    from bench.build import cascade_delete
    from bench.progress import Phase
    from community.db import without_statement_timeout

    users = get_user_model()._default_manager.filter(username__startswith=PREFIX)
    with Phase("bench members deleted"), without_statement_timeout(), transaction.atomic():
        deleted = cascade_delete(users)
    return {"deleted": deleted}


def searched_members(term: str = SEARCHED_MOBILE) -> int:
    """How many members the staff search for `term` finds (one for each searched number
    after seeding); the search as the admin runs it, without its access log."""
    from customer_data import selectors

    return len(selectors.list_search_hits(selectors.member_search(term)))


def named_members(fragment: str) -> int:
    """How many members' display names contain `fragment` (case-insensitive)."""
    from profiles.models import Profile

    return Profile.objects.filter(
        user__username__startswith=PREFIX, display_name__icontains=fragment
    ).count()


def is_complete(members: int) -> bool:
    """Whether the database holds this data set: the member count, the owner with all three
    fields, and the rows the searches under test look for (data kept by an older version of
    the benchmark lacks some of them and is built again)."""
    from django.contrib.auth import get_user_model

    from bench import names
    from customer_data.models import CustomerData

    bench_users = get_user_model()._default_manager.filter(username__startswith=PREFIX)
    return (
        bench_users.count() == members
        and CustomerData.objects.filter(user__username=OWNER, filled_count=3).exists()
        and searched_members(SEARCHED_MOBILE) == 1
        and searched_members(SEARCHED_CUSTOMER_NUMBER) == 1
        and named_members(names.RARE_NAME_SEARCH) == names.RARE_NAME_MEMBERS
    )


def create_members(members: int, password: str) -> dict[str, Any]:
    """Replace the generated members with `members` new ones, in one transaction; then the
    planner statistics. Returns what was written and how long each step took."""
    from django.contrib.auth import get_user_model
    from django.db import transaction

    from bench import build
    from bench.progress import Phase
    from community.db import without_statement_timeout

    started = time.monotonic()
    users = get_user_model()._default_manager.filter(username__startswith=PREFIX)
    with without_statement_timeout():
        with transaction.atomic():
            with Phase("old bench members deleted") as dropped:
                build.cascade_delete(users)
                build.check_pending_constraints()
            build.forget_key_checks_without_data()
            built = build.build(members, password)
        with Phase("planner statistics") as analysed:
            build.analyse()
    total = time.monotonic() - started
    return {
        "members": members,
        "seconds": round(total, 1),
        "members_per_second": round(members / total) if total else 0,
        "steps": {
            "drop": round(dropped.seconds, 1),
            **built.seconds,
            "analyse": round(analysed.seconds, 1),
        },
        "rows": built.rows,
    }


def seed(*, members: int, password: str, fresh: bool) -> dict[str, Any]:
    """Create the members (or reuse them) and describe the data set."""
    from django.conf import settings
    from django.contrib.auth import get_user_model
    from django.db import connection
    from django.db.models import Count, Q

    from bench import names
    from community.models import Rank
    from customer_data.models import ConsentRecord, CustomerData, PersonalDataAccess
    from profiles.models import Profile

    users = get_user_model()._default_manager
    bench_users = users.filter(username__startswith=PREFIX)
    started = time.monotonic()
    reused = not fresh and is_complete(members)
    build = None if reused else create_members(members, password)

    owner = Profile.objects.filter(user__username=OWNER).values("display_name", "about", "location")
    ranks = Rank.objects.order_by("order").annotate(
        members=Count("profiles", filter=Q(profiles__user__username__startswith=PREFIX))
    )
    database = settings.DATABASES["default"]
    template_options = cast(dict[str, Any], settings.TEMPLATES[0]).get("OPTIONS", {})
    return {
        "reused": reused,
        "seconds": round(time.monotonic() - started, 1),
        "build": build,
        "owner": {"username": OWNER, **owner.get()},
        "counts": {
            "members": bench_users.count(),
            "users_total": users.count(),
            "with_customer_data": CustomerData.objects.filter(
                user__username__startswith=PREFIX, filled_count__gt=0
            ).count(),
            "consent_records": ConsentRecord.objects.count(),
            "access_log_rows": PersonalDataAccess.objects.count(),
            "profiles_by_rank": dict(ranks.values_list("name", "members")),
            # Members the directory's name searches under test find by display name.
            "named": {
                fragment: named_members(fragment)
                for fragment in (names.COMMON_NAME_SEARCH, names.RARE_NAME_SEARCH)
            },
        },
        "database": {
            "engine": database["ENGINE"],
            "vendor": connection.vendor,
            "version": ".".join(map(str, connection.get_database_version())),
            "conn_max_age": database.get("CONN_MAX_AGE"),
            "conn_health_checks": database.get("CONN_HEALTH_CHECKS"),
        },
        "django": {
            "DEBUG": settings.DEBUG,
            "SESSION_ENGINE": settings.SESSION_ENGINE,
            "CACHE_BACKEND": settings.CACHES["default"]["BACKEND"],
            "REDIS": bool(getattr(settings, "REDIS_URL", "")),
            "STATICFILES_STORAGE": settings.STORAGES["staticfiles"]["BACKEND"],
            "TEMPLATE_LOADERS": json.loads(
                json.dumps(template_options.get("loaders", []), default=str)
            ),
            "PASSWORD_HASHER": settings.PASSWORD_HASHERS[0],
            "SESSION_SAVE_EVERY_REQUEST": settings.SESSION_SAVE_EVERY_REQUEST,
            "CONSENT_TEXT_VERSION": settings.CONSENT_TEXT_VERSION,
        },
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.seed")
    parser.add_argument("--members", type=int, default=0)
    parser.add_argument("--password", default="")
    parser.add_argument("--fresh", action="store_true", help="always regenerate")
    parser.add_argument("--drop", action="store_true", help="delete the generated members")
    args = parser.parse_args(argv)
    if not args.drop and (args.members < 1 or not args.password):
        parser.error("--members and --password are required")
    if args.members > MAX_MEMBERS:
        parser.error(
            f"--members can be at most {MAX_MEMBERS:,} (usernames have {NUMBER_WIDTH} digits)"
        )
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "community.settings")
    import django

    django.setup()
    result = (
        drop()
        if args.drop
        else seed(members=args.members, password=args.password, fresh=args.fresh)
    )
    sys.stdout.write(json.dumps(result, default=str) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
