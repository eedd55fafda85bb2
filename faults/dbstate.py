"""The Django side of the fault run: build the data set, hold the first purge at the start line,
and read back what is stored, all through the app's own models and services.

Run as `python -m faults.dbstate COMMAND` in the run's environment; input arrives as JSON on
stdin, the answer leaves as one JSON line on stdout (`purge-on-go` prints what the purge
command prints). Stored values leave this process only as
digests (`faults.report.value_digest`), never in clear.
"""

from __future__ import annotations

import argparse
import io
import json
import os
import sys
from datetime import timedelta
from typing import Any

MEMBER_PREFIX = "faults-"
# Seeded customer data is older than any retention period, so the purge wants to erase it.
STALE_AGE = timedelta(days=3 * 365)
IDLE_INDEX_OFFSET = 500


def _setup() -> None:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "community.settings")
    import django

    django.setup()


def seed(config: dict[str, Any]) -> dict[str, Any]:
    """Members who will save, members nobody touches, staff with the Telekom hilft Team role,
    and one reader for the anonymous-ish pages. Every member with data starts stale."""
    from django.contrib.auth import get_user_model
    from django.contrib.auth.hashers import make_password
    from django.contrib.auth.models import Group
    from django.db import transaction
    from django.db.models import QuerySet
    from django.utils import timezone

    from community.models import StaffRole
    from customer_data.models import ConsentRecord, CustomerData
    from customer_data.services import save_consent_and_values
    from faults.report import StoredState, member_values

    users = get_user_model()._default_manager
    hashed = make_password(config["password"])  # once: one shared hash for everyone
    savers = [f"{MEMBER_PREFIX}saver-{index:02d}" for index in range(config["savers"])]
    idle = [f"{MEMBER_PREFIX}idle-{index:02d}" for index in range(config["idle"])]
    staff = [f"{MEMBER_PREFIX}staff-{index}" for index in range(config["staff"])]
    reader = f"{MEMBER_PREFIX}reader"
    indexes = {name: index for index, name in enumerate(savers)}
    indexes.update({name: IDLE_INDEX_OFFSET + index for index, name in enumerate(idle)})
    team = Group.objects.get(staff_role__code=StaffRole.TELEKOM_HILFT_TEAM)
    initial: dict[str, Any] = {}
    with transaction.atomic():
        created = {}
        # Idle members first: the purge works through the rows in the order they were
        # written, so it reaches the saving members only once they have started saving.
        for username in [*idle, *savers, *staff, reader]:
            created[username] = users.create(
                username=username,
                email=f"{username}@example.invalid",
                password=hashed,
                is_staff=username in staff,
            )
        for username in staff:
            created[username].groups.add(team)
        for username, index in indexes.items():
            values = member_values(index, 0)
            user = created[username]
            save_consent_and_values(
                user_id=user.pk,
                by=user,
                consent=True,
                cleaned=dict(
                    zip(("customer_number", "mobile_number", "further_info"), values, strict=True)
                ),
            )
            initial[username] = StoredState.of(consent=True, values=values).to_json()
        long_ago = timezone.now() - STALE_AGE
        ids = [created[username].pk for username in indexes]
        CustomerData.objects.filter(user_id__in=ids).update(
            updated_at=long_ago,
            consented_at=long_ago,
            numbers_updated_at=long_ago,
            further_info_updated_at=long_ago,
        )
        QuerySet.update(
            ConsentRecord.objects.filter(user_id__in=ids), at=long_ago
        )  # backdating on purpose
    return {
        "savers": savers,
        "idle": idle,
        "staff": staff,
        "reader": reader,
        "indexes": indexes,
        "initial": initial,
    }


def dump(config: dict[str, Any]) -> dict[str, Any]:
    """Each member's stored state (as digests), consent history, and the access log by pair."""
    from django.contrib.auth import get_user_model
    from django.db.models import Count

    from customer_data.crypto import DecryptionError
    from customer_data.models import (
        ENCRYPTED_FIELDS,
        ConsentRecord,
        CustomerData,
        PersonalDataAccess,
    )
    from faults.report import ERASED, StoredState

    names: list[str] = config["members"]
    ids = dict(
        get_user_model()._default_manager.filter(username__in=names).values_list("pk", "username")
    )
    members: dict[str, Any] = {name: {"state": ERASED.to_json(), "records": []} for name in names}
    undecryptable = 0
    filled_mismatch = 0
    for data in CustomerData.objects.filter(user_id__in=ids):
        name = ids[data.user_id]
        try:
            values = [getattr(data, field) for field in ENCRYPTED_FIELDS]
        except DecryptionError:
            undecryptable += 1
            members[name]["state"] = [data.consent, ["undecryptable"] * 3]
            continue
        stored = sum(value not in (None, "") for value in values)
        filled_mismatch += stored != data.filled_count
        if data.consent:
            state = StoredState.of(consent=True, values=values)
        else:
            # Without consent nothing may be stored: keep any leftover visible as a mismatch.
            state = ERASED if stored == 0 else StoredState(False, ("left-over",) * 3)  # type: ignore[arg-type]
        members[name]["state"] = state.to_json()
    records = (
        ConsentRecord.objects.filter(user_id__in=ids)
        .order_by("at", "pk")
        .values_list("user_id", "action", "reason", "at")
    )
    for user_id, action, reason, at in records:
        members[ids[user_id]]["records"].append([action, reason, at.timestamp()])
    pairs = (
        PersonalDataAccess.objects.values("viewer__username", "subject__username")
        .annotate(rows=Count("pk"))
        .order_by()
    )
    return {
        "members": members,
        "access": [
            [row["viewer__username"], row["subject__username"], row["rows"]] for row in pairs
        ],
        "access_total": PersonalDataAccess.objects.count(),
        "undecryptable": undecryptable,
        "filled_count_mismatches": filled_mismatch,
    }


def purge_on_go() -> str:
    """Load Django, say "ready", wait for a line on stdin, then run the purge command.

    Holding the process at the start line lets the first purge begin in the very moment the
    members start saving, which is when its list of stale members goes out of date.
    """
    from django.core.management import call_command

    sys.stdout.write("ready\n")
    sys.stdout.flush()
    sys.stdin.readline()
    out = io.StringIO()
    call_command("purge_stale_customer_data", stdout=out)
    return out.getvalue().strip()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m faults.dbstate")
    parser.add_argument("command", choices=("seed", "dump", "purge-on-go"))
    args = parser.parse_args(argv)
    _setup()
    if args.command == "purge-on-go":
        # The command's own output, so one parser reads every purge run.
        sys.stdout.write(purge_on_go() + "\n")
        return 0
    config = json.loads(sys.stdin.read() or "{}")
    result = seed(config) if args.command == "seed" else dump(config)
    sys.stdout.write(json.dumps(result) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
