"""The customer-data jobs: the daily retention purge and, on demand, key rotation and the
blind-index rebuild.

Each job is one function (`run_purge`, `run_rotation`, `run_index_rebuild`) that takes the
job's lock and lifts the statement timeout; the tasks below (run by `manage.py db_worker`) and
the management commands both call it. A run that finds the lock held does nothing and returns
None: another process or host is doing the same work.

Outputs (logs, task results, command lines) carry counts and row ids, never a value.
"""

import logging
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass
from datetime import datetime
from typing import Any

from crontask import cron
from django.conf import settings
from django.tasks import task

from community.db import without_statement_timeout
from community.locks import job_lock
from customer_data import retention, services
from customer_data.retention import PurgeResult
from customer_data.services import MaintenanceResult, Progress

logger = logging.getLogger(__name__)

PURGE = "purge_stale_customer_data"
ROTATION = "rotate_field_keys"
INDEX_REBUILD = "rebuild_blind_index"


@dataclass(frozen=True)
class Pace:
    """Where a batched run stands: rows done of the rows it set out to do, rows per second
    so far, and the seconds left at that rate."""

    seen: int
    total: int
    per_second: float
    seconds_left: float


def progress_meter(report: Callable[[Pace], None]) -> Progress:
    """A `progress(seen, total)` callback for `services._walk` that hands `report` the pace,
    timed from now."""
    started = time.monotonic()

    def progress(seen: int, total: int) -> None:
        elapsed = max(time.monotonic() - started, 1e-6)
        rate = seen / elapsed
        left = (total - seen) / rate if rate and total > seen else 0.0
        report(Pace(seen=seen, total=total, per_second=rate, seconds_left=left))

    return progress


def _log_pace(job: str) -> Callable[[Pace], None]:
    def report(pace: Pace) -> None:
        logger.info(
            "%s: %d of %d rows, %.0f/s, about %.0f s left",
            job,
            pace.seen,
            pace.total,
            pace.per_second,
            pace.seconds_left,
        )

    return report


def _locked[T](job: str, work: Callable[[], T]) -> T | None:
    with job_lock(job) as held:
        if not held:
            logger.info("%s is already running elsewhere; this run does nothing.", job)
            return None
        with without_statement_timeout():
            return work()


def run_purge(*, now: datetime | None = None) -> PurgeResult | None:
    """The retention purge under its lock; None when another run holds it."""
    return _locked(PURGE, lambda: retention.purge_stale_customer_data(now=now))


def run_rotation(
    *, batch_size: int = 500, skip_undecryptable: bool = False, progress: Progress | None = None
) -> MaintenanceResult | None:
    """Key rotation under its lock; None when another run holds it."""
    return _locked(
        ROTATION,
        lambda: services.rotate_field_keys(
            batch_size=batch_size, skip_undecryptable=skip_undecryptable, progress=progress
        ),
    )


def run_index_rebuild(
    *, batch_size: int = 500, skip_undecryptable: bool = False, progress: Progress | None = None
) -> MaintenanceResult | None:
    """The blind-index rebuild under its lock; None when another run holds it."""
    return _locked(
        INDEX_REBUILD,
        lambda: services.rebuild_blind_index(
            batch_size=batch_size, skip_undecryptable=skip_undecryptable, progress=progress
        ),
    )


def _summary(job: str, result: PurgeResult | MaintenanceResult | None) -> dict[str, Any]:
    if result is None:
        return {"ran": False}
    if isinstance(result, MaintenanceResult) and result.undecryptable:
        # The command exits with status 1 here; a task says it in the log (and its result).
        logger.error("%s skipped customer data rows no key decrypts: %s", job, result.undecryptable)
    return {"ran": True, **asdict(result)}


# No Sentry cron monitor: crontask would wrap the enqueueing, not the run; a failed run
# reaches Sentry as the worker's error log line.
@cron(settings.CUSTOMER_DATA_PURGE_CRON, sentry_monitor_config=None)
@task
def purge_stale_customer_data() -> dict[str, Any]:
    """The daily retention purge; the scheduler enqueues it (CUSTOMER_DATA_PURGE_CRON)."""
    return _summary(PURGE, run_purge())


@task
def rotate_field_keys(batch_size: int = 500, skip_undecryptable: bool = False) -> dict[str, Any]:
    """Re-encrypt every row with the newest key, logging its pace; on demand
    (`manage.py rotate_field_keys --enqueue`)."""
    result = run_rotation(
        batch_size=batch_size,
        skip_undecryptable=skip_undecryptable,
        progress=progress_meter(_log_pace(ROTATION)),
    )
    return _summary(ROTATION, result)


@task
def rebuild_blind_index(batch_size: int = 500, skip_undecryptable: bool = False) -> dict[str, Any]:
    """Recompute every blind index, logging its pace; on demand
    (`manage.py rebuild_blind_index --enqueue`)."""
    result = run_index_rebuild(
        batch_size=batch_size,
        skip_undecryptable=skip_undecryptable,
        progress=progress_meter(_log_pace(INDEX_REBUILD)),
    )
    return _summary(INDEX_REBUILD, result)
