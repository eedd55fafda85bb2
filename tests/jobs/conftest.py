"""Processes of their own for the job tests: each runs `tests.jobs.runner` as a worker host
would run a job, against a database the test names."""

import io
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from datetime import timedelta
from pathlib import Path
from urllib.parse import quote

import pytest
from django.conf import settings
from django.core.management import call_command
from django.db import connection
from django.utils import timezone

from customer_data.models import CustomerData

ROOT = Path(__file__).resolve().parents[2]


def environment(database_url: str) -> dict[str, str]:
    """The site's settings from the environment alone, with this test run's keys (so a
    process reads what the test stored) and the given database."""
    env = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith(("DJANGO_", "DATABASE_URL", "REDIS_URL"))
    }
    env.update(
        DJANGO_SETTINGS_MODULE="community.settings",
        COMMUNITY_SKIP_DOTENV="1",
        DJANGO_DEBUG="false",
        DJANGO_SECRET_KEY="a-secret-key-for-the-job-tests-" + "x" * 40,
        DATABASE_URL=database_url,
        FIELD_ENCRYPTION_KEYS=",".join(settings.FIELD_ENCRYPTION_KEYS),
        BLIND_INDEX_KEY=settings.BLIND_INDEX_KEY,
    )
    return env


def postgres_url() -> str:
    """The URL of the database this test runs on (PostgreSQL's test database)."""
    db = connection.settings_dict
    user = quote(db["USER"] or "")
    if db["PASSWORD"]:
        user += ":" + quote(db["PASSWORD"])
    return f"postgres://{user}@{db['HOST'] or '127.0.0.1'}:{db['PORT'] or 5432}/{db['NAME']}"


def start(env: dict[str, str], *args: str) -> subprocess.Popen:
    return subprocess.Popen(
        [sys.executable, "-m", "tests.jobs.runner", *args],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def manage(env: dict[str, str], *args: str) -> subprocess.Popen:
    """`manage.py ARGS` in a process of its own."""
    return subprocess.Popen(
        [sys.executable, "manage.py", *args],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def run(env: dict[str, str], *args: str) -> str:
    process = start(env, *args)
    out, err = process.communicate(timeout=180)
    assert process.returncode == 0, err[-3000:]
    return out


def first_to_finish(processes: list[subprocess.Popen], timeout: float) -> subprocess.Popen:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        for process in processes:
            if process.poll() is not None:
                return process
        time.sleep(0.05)
    raise AssertionError(f"none of the runs finished within {timeout} s")


def wait_for_line(process: subprocess.Popen, expected: str) -> None:
    assert process.stdout
    line = process.stdout.readline().strip()
    assert line == expected, (line, process.stderr.read() if process.stderr else "")


@pytest.fixture
def processes():
    """Processes a test started; any still running at its end are killed (only those)."""
    started: list[subprocess.Popen] = []
    yield started
    for process in started:
        if process.poll() is None:
            process.kill()
        process.communicate()


def make_stale(*users) -> None:
    CustomerData.objects.filter(user__in=users).update(
        updated_at=timezone.now() - timedelta(days=800)
    )


@pytest.fixture
def worker() -> Callable[[], str]:
    """Run the database worker here, as `make worker` runs it, until the queue is empty;
    returns what it printed."""

    def drain() -> str:
        handlers = {sig: signal.getsignal(sig) for sig in (signal.SIGINT, signal.SIGTERM)}
        out = io.StringIO()
        try:
            call_command(
                "db_worker",
                *("--batch", "--no-startup-delay", "--no-reload", "--interval", "0"),
                stdout=out,
                stderr=out,
            )
        finally:
            for sig, handler in handlers.items():  # the worker installs its own
                signal.signal(sig, handler)
        return out.getvalue()

    return drain
