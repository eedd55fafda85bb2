"""Scaled demo data for the benchmark: many members, a third of them with customer data.

Run as `python -m bench.seed --members N --password PW [--fresh]` in the environment the
harness builds (`bench.config.site_environment`); it prints one JSON line describing the data
set and the Django settings in force. The demo users of `seed_demo` must exist already.

Members and profiles are inserted in bulk (all members share one password hash). Customer
data, consent records and access-log rows are written by the app's own form and services, as
the Profil tab and the profile page write them, so they cannot drift from the real thing.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import sys
import time
from datetime import timedelta
from typing import Any, cast

PREFIX = "bench-"
OWNER = f"{PREFIX}00001"
BATCH = 1000
SEED = 7
# Share of members per rung of a five-rung ladder, lowest first (most are Neuling).
RANK_SHARES = (0.70, 0.15, 0.09, 0.05, 0.01)
HISTORY_SHARE = 0.1  # members who granted consent for an older text before the current one
OLD_CONSENT_VERSION = "2024-01"
# Access-log rows spread over members with customer data, and extra rows for the owner.
ACCESS_ROWS = 2000
OWNER_ACCESS_ROWS = 40

FIRST_NAMES = ("Anna", "Ben", "Clara", "David", "Elif", "Felix", "Greta", "Jonas", "Kira", "Mehmet")
LAST_NAMES = ("Müller", "Schmidt", "Fischer", "Weber", "Becker", "Koch", "Yilmaz", "Nowak")
CITIES = ("Berlin", "Hamburg", "München", "Köln", "Leipzig", "Dresden", "Bonn", "Kiel", "Erfurt")
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
INFOS = (
    "Auftragsnummer {n}",
    "Störungsticket {n}, erreichbar werktags ab 17 Uhr",
    "Zweiter Vertrag: {n}",
    "Am besten vormittags anrufen. Auftrag {n}",
)


def typed_customer_data(rng: random.Random, fields: set[str]) -> dict[str, str]:
    """The Profil tab's customer fields as a member might fill them in (consent on)."""

    def digits(count: int) -> str:
        return "".join(rng.choice("0123456789") for _ in range(count))

    typed = {"consent": "on"}
    if "customer_number" in fields:
        typed["customer_number"] = f"{digits(3)} {digits(4)} {digits(3)}"
    if "mobile_number" in fields:
        prefix, length = rng.choice(MOBILE_PREFIXES)
        typed["mobile_number"] = f"{prefix}{rng.choice('123456789')}{digits(length - 1)}"
    if "further_info" in fields:
        typed["further_info"] = rng.choice(INFOS).format(n=digits(8))
    return typed


def drop() -> dict[str, Any]:
    """Delete the generated members with everything that hangs off them."""
    from django.contrib.auth import get_user_model

    users = get_user_model()._default_manager.filter(username__startswith=PREFIX)
    deleted, _by_model = users.delete()
    return {"deleted": deleted}


def create_members(members: int, password: str) -> None:
    """Members, profiles on a realistic rank spread, customer data, consents and access log."""
    from django.contrib.auth import get_user_model
    from django.contrib.auth.hashers import make_password
    from django.test.utils import override_settings
    from django.utils import timezone

    from community.backends import viewer_queryset
    from community.models import Rank
    from customer_data import services
    from customer_data.forms import CustomerDataForm
    from customer_data.models import ENCRYPTED_FIELDS, ConsentRecord, PersonalDataAccess
    from profiles.models import Profile

    User = get_user_model()
    rng = random.Random(SEED)  # noqa: S311 (test data, not security)
    now = timezone.now()
    hashed = make_password(password)  # once: hashing for every member would take minutes
    users = User._default_manager.bulk_create(
        [
            User(
                username=f"{PREFIX}{index:05d}",
                email=f"{PREFIX}{index:05d}@example.invalid",
                password=hashed,
                date_joined=now - timedelta(days=rng.uniform(1, 5 * 365)),
                last_login=now - timedelta(days=rng.uniform(0, 60)),
            )
            for index in range(1, members + 1)
        ],
        batch_size=BATCH,
    )
    owner, others = users[0], users[1:]
    # bulk_create sends no post_save signal: the profiles the signal would make are made here.
    ranks = list(Rank.objects.order_by("order"))
    weights = (
        list(RANK_SHARES) if len(ranks) == len(RANK_SHARES) else [0.5**i for i in range(len(ranks))]
    )
    Profile.objects.bulk_create(
        [
            Profile(
                user=user,
                display_name=f"{rng.choice(FIRST_NAMES)} {rng.choice(LAST_NAMES)}",
                about=rng.choice(ABOUTS),
                location=rng.choice(CITIES) if rng.random() < 0.4 else "",
                rank=ranks[0] if user is owner else rng.choices(ranks, weights)[0],
            )
            for user in users
        ],
        batch_size=BATCH,
    )

    # A third store customer data; the owner of the page under test with all three fields.
    with_data = [owner, *rng.sample(others, max(0, members // 3 - 1))]
    with_history = [owner, *(user for user in with_data[1:] if rng.random() < HISTORY_SHARE)]
    with override_settings(CONSENT_TEXT_VERSION=OLD_CONSENT_VERSION):
        for user in with_history:
            services.save_consent_and_values(user_id=user.pk, by=user, consent=True, cleaned={})
    for user in with_history:  # as the retention job does once the old text's grace is over
        services.erase_customer_data(
            user_id=user.pk, by=None, reason=ConsentRecord.Reason.OUTDATED_CONSENT
        )
    searched = with_data[1] if len(with_data) > 1 else None
    for user in with_data:
        count = 3 if user is owner else rng.choice((1, 2, 3))
        typed = typed_customer_data(rng, set(rng.sample(ENCRYPTED_FIELDS, count)))
        if user is searched:  # after drawing, so the other members' data stays as it was
            typed["mobile_number"] = SEARCHED_MOBILE
        form = CustomerDataForm(typed)
        if not form.is_valid():
            raise ValueError(f"Generated customer data does not validate: {form.errors.as_json()}")
        services.save_consent_and_values(
            user_id=user.pk, by=user, consent=True, cleaned=form.cleaned_data
        )

    team = viewer_queryset().get(username="team")
    for subject in [*rng.choices(with_data, k=ACCESS_ROWS), *[owner] * OWNER_ACCESS_ROWS]:
        services.record_access(
            viewer=team,
            subject_id=subject.pk,
            channel=PersonalDataAccess.Channel.PROFILE,
            fields=ENCRYPTED_FIELDS,
        )


def searched_members() -> int:
    """How many members the staff search for SEARCHED_MOBILE finds (one after seeding); the
    search as the admin runs it, without its access log."""
    from customer_data import selectors

    return len(selectors.list_search_hits(selectors.member_search(SEARCHED_MOBILE)))


def seed(*, members: int, password: str, fresh: bool) -> dict[str, Any]:
    """Create the members (or reuse them) and describe the data set."""
    from django.conf import settings
    from django.contrib.auth import get_user_model
    from django.db import connection, transaction
    from django.db.models import Count, Q

    from community.models import Rank
    from customer_data.models import ConsentRecord, CustomerData, PersonalDataAccess
    from profiles.models import Profile

    users = get_user_model()._default_manager
    bench_users = users.filter(username__startswith=PREFIX)
    started = time.monotonic()
    reused = (
        not fresh
        and bench_users.count() == members
        and CustomerData.objects.filter(user__username=OWNER, filled_count=3).exists()
        and searched_members() == 1  # data kept before the phone search row: regenerate
    )
    if not reused:
        with transaction.atomic():
            bench_users.delete()
            create_members(members, password)
        with connection.cursor() as cursor:
            # Planner statistics after a bulk load (autovacuum would do it on PostgreSQL).
            cursor.execute("ANALYZE")

    owner = Profile.objects.filter(user__username=OWNER).values("display_name", "about", "location")
    ranks = Rank.objects.order_by("order").annotate(
        members=Count("profiles", filter=Q(profiles__user__username__startswith=PREFIX))
    )
    database = settings.DATABASES["default"]
    template_options = cast(dict[str, Any], settings.TEMPLATES[0]).get("OPTIONS", {})
    return {
        "reused": reused,
        "seconds": round(time.monotonic() - started, 1),
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
