"""The job lock: one holder at a time, in a process and across processes, and dropped when
its holder dies (a PostgreSQL advisory lock; a file lock beside a SQLite database)."""

import signal
import threading
import time

import pytest
from django.db import connection, connections

from community.locks import advisory_key, file_lock, job_lock, lock_file
from tests.jobs.conftest import environment, postgres_url, start, wait_for_line

pytestmark = pytest.mark.django_db

on_postgresql = pytest.mark.skipif(
    connection.vendor != "postgresql", reason="advisory locks: PostgreSQL"
)


def held_elsewhere(name: str) -> bool:
    """Whether a run of `name` started now, in another thread (its own connection), would
    find the lock held."""
    found: list[bool] = []

    def attempt() -> None:
        try:
            with job_lock(name) as held:
                found.append(not held)
        finally:
            connections.close_all()

    thread = threading.Thread(target=attempt)
    thread.start()
    thread.join(timeout=30)
    return found == [True]


def test_a_second_run_finds_the_lock_held_until_the_first_ends():
    with job_lock("lock_test") as held:
        assert held
        assert held_elsewhere("lock_test")
        with job_lock("lock_test") as again:
            assert not again  # not even the same thread takes it twice
    assert not held_elsewhere("lock_test")


def test_locks_of_different_jobs_do_not_meet():
    with job_lock("lock_test_a") as first:
        assert first
        assert not held_elsewhere("lock_test_b")


def test_the_lock_is_released_when_the_job_raises():
    def job() -> None:
        with job_lock("lock_test") as held:
            assert held
            raise RuntimeError

    with pytest.raises(RuntimeError):
        job()
    assert not held_elsewhere("lock_test")


def test_a_job_name_must_be_plain():
    with pytest.raises(ValueError, match="job name"), job_lock("../etc/passwd"):
        pass


def test_a_sqlite_file_lock_is_dropped_when_its_holder_is_killed(tmp_path, processes):
    database = tmp_path / "db.sqlite3"
    holder = start(environment(f"sqlite:///{database}"), "hold", "lock_test")
    processes.append(holder)
    wait_for_line(holder, "held")
    path = lock_file(database, "lock_test")

    with file_lock(path) as held:
        assert not held
    holder.send_signal(signal.SIGKILL)
    holder.wait(timeout=10)
    with file_lock(path) as held:
        assert held


@on_postgresql
def test_the_postgresql_lock_is_an_advisory_lock_dropped_with_its_session(processes):
    holder = start(environment(postgres_url()), "hold", "lock_test")
    processes.append(holder)
    wait_for_line(holder, "held")
    key = advisory_key("lock_test") & 0xFFFFFFFFFFFFFFFF
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND granted "
            "AND classid::bigint = %s AND objid::bigint = %s AND pid <> pg_backend_pid()",
            [key >> 32, key & 0xFFFFFFFF],
        )
        assert cursor.fetchone() == (1,)

    with job_lock("lock_test") as held:
        assert not held
    holder.send_signal(signal.SIGKILL)  # a worker dying midway: no code of its own runs
    holder.wait(timeout=10)
    deadline = time.monotonic() + 10
    while True:
        with job_lock("lock_test") as held:
            if held or time.monotonic() > deadline:
                break
        time.sleep(0.1)
    assert held
