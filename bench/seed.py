"""Scaled demo data for the benchmark: many members, a third of them with customer data.

Run as `python -m bench.seed --members N --password PW [--fresh]` in the environment the
harness builds (`bench.config.site_environment`); it prints one JSON line describing the data
set and the Django settings in force. The demo users of `seed_demo` must exist already.

Everything is written with `bulk_create`, so neither `save()` nor signals run: the profile
(normally made by a post_save signal), `filled_count` and the blind index are set here.
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
BATCH = 1000
SEED = 7
# Share of members per rung of a five-rung ladder, lowest first (most are Neuling).
RANK_SHARES = (0.70, 0.15, 0.09, 0.05, 0.01)
# Old consent-text version for members with a consent history.
OLD_CONSENT_VERSION = "2024-01"
# Access-log rows spread over members with customer data, and extra rows for the owner.
ACCESS_ROWS = 2000
OWNER_ACCESS_ROWS = 40

FIRST_NAMES = (
    "Anna",
    "Ben",
    "Clara",
    "David",
    "Elif",
    "Felix",
    "Greta",
    "Hannes",
    "Ida",
    "Jonas",
    "Kira",
    "Lukas",
    "Mara",
    "Noah",
    "Olga",
    "Paul",
    "Quirin",
    "Rosa",
    "Sven",
    "Tilda",
    "Ugur",
    "Vera",
    "Willi",
    "Xenia",
    "Yusuf",
    "Zoe",
    "Leonie",
    "Mehmet",
    "Sophie",
    "Tobias",
)
LAST_NAMES = (
    "Müller",
    "Schmidt",
    "Schneider",
    "Fischer",
    "Weber",
    "Meyer",
    "Wagner",
    "Becker",
    "Schulz",
    "Hoffmann",
    "Schäfer",
    "Koch",
    "Bauer",
    "Richter",
    "Klein",
    "Wolf",
    "Schröder",
    "Neumann",
    "Schwarz",
    "Zimmermann",
    "Braun",
    "Krüger",
    "Hofmann",
    "Hartmann",
    "Lange",
    "Schmitt",
    "Werner",
    "Krause",
    "Meier",
    "Lehmann",
    "Yilmaz",
    "Kaya",
    "Nowak",
    "Jankowski",
)
CITIES = (
    "Berlin",
    "Hamburg",
    "München",
    "Köln",
    "Frankfurt",
    "Stuttgart",
    "Düsseldorf",
    "Leipzig",
    "Dortmund",
    "Essen",
    "Bremen",
    "Dresden",
    "Hannover",
    "Nürnberg",
    "Bonn",
    "Münster",
    "Kiel",
    "Rostock",
    "Freiburg",
    "Erfurt",
)
ABOUTS = (
    "",
    "",
    "Glasfaser-Neukunde.",
    "Frage gern zu Festnetz und Router.",
    "Seit Jahren dabei, meist im Mobilfunk-Board.",
    "MagentaTV-Fan und Heimnetz-Bastler.",
    "Hilft gern bei Speedport-Fragen. Antworten meist abends.",
)
# (prefix, subscriber digits) of valid German mobile numbers.
MOBILE_PREFIXES = (("170", 7), ("171", 7), ("175", 7), ("160", 7), ("151", 8), ("152", 8))
INFOS = (
    "Auftragsnummer {n}",
    "Störungsticket {n}, erreichbar werktags ab 17 Uhr",
    "Zweiter Vertrag: {n}",
    "Am besten vormittags anrufen. Auftrag {n}",
)


def _digits(rng: random.Random, count: int) -> str:
    return "".join(rng.choice("0123456789") for _ in range(count))


def _mobile(rng: random.Random) -> str:
    prefix, length = rng.choice(MOBILE_PREFIXES)
    return f"+49{prefix}{rng.choice('123456789')}{_digits(rng, length - 1)}"


def _rank_weights(count: int) -> list[float]:
    if count == len(RANK_SHARES):
        return list(RANK_SHARES)
    return [0.5**position for position in range(count)]


def _batched(rows: list[Any], model: Any) -> None:
    for start in range(0, len(rows), BATCH):
        model.objects.bulk_create(rows[start : start + BATCH])


def drop() -> dict[str, Any]:
    """Delete the generated members with everything that hangs off them."""
    from django.contrib.auth import get_user_model

    deleted, _by_model = (
        get_user_model()._default_manager.filter(username__startswith=PREFIX).delete()
    )
    return {"deleted": deleted}


def seed(*, members: int, password: str, fresh: bool) -> dict[str, Any]:
    """Create the members (or reuse them) and describe the data set."""
    from django.conf import settings
    from django.contrib.auth import get_user_model
    from django.contrib.auth.hashers import make_password
    from django.db import connection, transaction
    from django.utils import timezone

    from community.models import Rank
    from customer_data.crypto import blind_index
    from customer_data.models import (
        ENCRYPTED_FIELDS,
        ConsentRecord,
        CustomerData,
        PersonalDataAccess,
    )
    from profiles.models import Profile

    User = get_user_model()
    users = User._default_manager
    bench_users = users.filter(username__startswith=PREFIX)
    owner_name = f"{PREFIX}00001"
    started = time.monotonic()

    reused = (
        not fresh
        and bench_users.count() == members
        and CustomerData.objects.filter(user__username=owner_name, filled_count=3).exists()
    )
    if not reused:
        rng = random.Random(SEED)  # noqa: S311 (test data, not security)
        now = timezone.now()
        ranks = list(Rank.objects.order_by("order"))
        weights = _rank_weights(len(ranks))
        hashed = make_password(password)  # once: hashing 10,000 times would take minutes
        version = settings.CONSENT_TEXT_VERSION
        team = users.filter(username="team").first()
        with transaction.atomic():
            bench_users.delete()
            _batched(
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
                User,
            )
            ids: dict[str, int] = dict(bench_users.values_list("username", "pk"))
            owner_id = ids[owner_name]
            profiles = []
            for user_id in ids.values():
                rank = ranks[0] if user_id == owner_id else rng.choices(ranks, weights)[0]
                profiles.append(
                    Profile(
                        user_id=user_id,
                        display_name=f"{rng.choice(FIRST_NAMES)} {rng.choice(LAST_NAMES)}",
                        about=rng.choice(ABOUTS),
                        location=rng.choice(CITIES) if rng.random() < 0.4 else "",
                        rank=rank,
                    )
                )
            _batched(profiles, Profile)

            # A third of the members store customer data; the owner of the page under test
            # is one of them, with all three fields.
            others = [user_id for user_id in ids.values() if user_id != owner_id]
            with_data = [owner_id, *rng.sample(others, max(0, members // 3 - 1))]
            rows, records = [], []
            for user_id in with_data:
                count = 3 if user_id == owner_id else rng.choice((1, 2, 3))
                chosen = set(rng.sample(ENCRYPTED_FIELDS, count))
                consented_at = now - timedelta(days=rng.uniform(1, 700))
                number = _digits(rng, 10) if "customer_number" in chosen else None
                info = None
                if "further_info" in chosen:
                    info = rng.choice(INFOS).format(n=_digits(rng, 8))
                rows.append(
                    CustomerData(
                        user_id=user_id,
                        consent=True,
                        consent_version=version,
                        consented_at=consented_at,
                        customer_number=number,
                        customer_number_bidx=blind_index(number) if number else None,
                        mobile_number=_mobile(rng) if "mobile_number" in chosen else None,
                        further_info=info,
                        further_info_updated_at=consented_at if info else None,
                        filled_count=len(chosen),
                    )
                )
                if rng.random() < 0.1 or user_id == owner_id:
                    # An older history: granted for an old text, withdrawn when it changed.
                    first = consented_at - timedelta(days=rng.uniform(30, 400))
                    records += [
                        ConsentRecord(
                            user_id=user_id,
                            action=ConsentRecord.Action.GRANTED,
                            consent_text_version=OLD_CONSENT_VERSION,
                            at=first,
                            by_id=user_id,
                        ),
                        ConsentRecord(
                            user_id=user_id,
                            action=ConsentRecord.Action.WITHDRAWN,
                            reason=ConsentRecord.Reason.OUTDATED_CONSENT,
                            consent_text_version=OLD_CONSENT_VERSION,
                            at=first + timedelta(days=10),
                        ),
                    ]
                records.append(
                    ConsentRecord(
                        user_id=user_id,
                        action=ConsentRecord.Action.GRANTED,
                        consent_text_version=version,
                        at=consented_at,
                        by_id=user_id,
                    )
                )
            _batched(rows, CustomerData)
            _batched(records, ConsentRecord)

            accesses = [
                PersonalDataAccess(
                    viewer=team,
                    subject_id=subject_id,
                    channel=PersonalDataAccess.Channel.PROFILE,
                    fields=list(ENCRYPTED_FIELDS),
                    at=now - timedelta(days=rng.uniform(0, 365)),
                )
                for subject_id in [
                    *rng.choices(with_data, k=ACCESS_ROWS),
                    *[owner_id] * OWNER_ACCESS_ROWS,
                ]
            ]
            _batched(accesses, PersonalDataAccess)
        with connection.cursor() as cursor:
            # Planner statistics after a bulk load (autovacuum would do it on PostgreSQL).
            cursor.execute("ANALYZE")

    owner = Profile.objects.select_related("user").get(user__username=owner_name)
    database = settings.DATABASES["default"]
    template_options = cast(dict[str, Any], settings.TEMPLATES[0]).get("OPTIONS", {})
    template_loaders = template_options.get("loaders", [])
    return {
        "reused": reused,
        "seconds": round(time.monotonic() - started, 1),
        "owner": {
            "username": owner_name,
            "display_name": owner.display_name,
            "about": owner.about,
            "location": owner.location,
        },
        "counts": {
            "members": bench_users.count(),
            "users_total": users.count(),
            "with_customer_data": CustomerData.objects.filter(
                user__username__startswith=PREFIX
            ).count(),
            "consent_records": ConsentRecord.objects.count(),
            "access_log_rows": PersonalDataAccess.objects.count(),
            "profiles_by_rank": {
                rank.name: Profile.objects.filter(
                    rank=rank, user__username__startswith=PREFIX
                ).count()
                for rank in Rank.objects.order_by("order")
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
            "TEMPLATE_LOADERS": json.loads(json.dumps(template_loaders, default=str)),
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
    if args.drop:
        result = drop()
    else:
        result = seed(members=args.members, password=args.password, fresh=args.fresh)
    sys.stdout.write(json.dumps(result, default=str) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
