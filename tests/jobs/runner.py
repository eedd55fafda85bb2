"""What a worker host does, run by the tests in a process of its own:
`python -m tests.jobs.runner MODE [ARG]`, with the database and keys in the environment.

- `seed N`: migrate, then store N members' customer data, unchanged for 800 days.
- `purge RELEASE`: the purge command, its work held until the file RELEASE exists (so two
  runs started together overlap for certain); prints "working" once it holds the lock.
- `hold JOB`: take JOB's lock, print "held", and keep it until killed.
- `count`: print the retention erasures recorded so far.
"""

import sys
import time
from pathlib import Path

import django

# How long a held purge waits for its release before going on regardless.
RELEASE_TIMEOUT = 60


def store_stale(members: int) -> None:
    """Store `members` members' customer data, unchanged for 800 days (due for the purge)."""
    from datetime import timedelta

    from django.utils import timezone

    from customer_data.models import CustomerData
    from tests.factories import CustomerDataFactory, UserFactory

    for _ in range(members):
        CustomerDataFactory(user=UserFactory(), full=True)
    CustomerData.objects.update(updated_at=timezone.now() - timedelta(days=800))


def seed(members: int) -> None:
    from django.core.management import call_command

    call_command("migrate", verbosity=0)
    store_stale(members)


def purge(release: Path) -> None:
    from django.core.management import call_command

    from customer_data import retention

    real = retention.purge_stale_customer_data

    def held(**kwargs: object) -> retention.PurgeResult:
        print("working", flush=True)
        deadline = time.monotonic() + RELEASE_TIMEOUT
        while not release.exists() and time.monotonic() < deadline:
            time.sleep(0.05)
        return real(**kwargs)  # type: ignore[arg-type]

    retention.purge_stale_customer_data = held  # type: ignore[assignment]
    call_command("purge_stale_customer_data")


def hold(job: str) -> None:
    from community.locks import job_lock

    with job_lock(job) as held:
        print("held" if held else "taken", flush=True)
        while held:
            time.sleep(1)


def count() -> None:
    from customer_data.models import ConsentRecord

    print(
        ConsentRecord.objects.filter(
            action=ConsentRecord.Action.WITHDRAWN, reason=ConsentRecord.Reason.RETENTION
        ).count()
    )


if __name__ == "__main__":
    django.setup()
    mode, *args = sys.argv[1:]
    if mode == "seed":
        seed(int(args[0]))
    elif mode == "purge":
        purge(Path(args[0]))
    elif mode == "hold":
        hold(args[0])
    elif mode == "count":
        count()
    else:
        raise SystemExit(f"unknown mode {mode}")
