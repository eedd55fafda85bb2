"""One run of a job at a time, across processes and hosts.

`job_lock(name)` is taken without waiting: a second run finds it held and does nothing.

- PostgreSQL: a session-level advisory lock (`pg_try_advisory_lock`) keyed by the job's
  name, held by the connection the job itself works on. Every host shares it, and the server
  drops it with the session when a worker dies, however it dies. (It needs a real server
  session: behind a pooler in transaction mode, connect the workers directly.)
- SQLite: an exclusive `flock` on a file beside the database file. A SQLite database lives on
  one host (WAL needs shared memory), so every process that can open it sees the lock, and
  the kernel drops it when the holding process dies. A lock row would need an expiry longer
  than the longest run yet short enough to recover from a crash, and holding SQLite's own
  write lock for a whole run would stop every save on the site; the file lock needs neither.
  An in-memory database belongs to one process, so a lock within the process suffices.

In every case a name is held at most once per process too: two threads, or a job started
from inside another, do not both run (a PostgreSQL session may take its own lock twice).
"""

import fcntl
import hashlib
import logging
import os
import re
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from django.core.exceptions import ImproperlyConfigured
from django.db import DEFAULT_DB_ALIAS, DatabaseError, connections
from django.db.backends.base.base import BaseDatabaseWrapper

logger = logging.getLogger(__name__)

JOB_NAME = re.compile(r"[a-z0-9_]{1,64}")

_in_process: set[str] = set()
_in_process_guard = threading.Lock()


def advisory_key(name: str) -> int:
    """The 64-bit PostgreSQL advisory-lock key of job `name` (namespaced, so no other user
    of advisory locks in the same database picks the same key by accident)."""
    digest = hashlib.sha256(b"community job lock\0" + name.encode()).digest()
    return int.from_bytes(digest[:8], "big", signed=True)


def lock_file(database: str | Path, name: str) -> Path:
    """The file whose `flock` stands for job `name` on the SQLite database `database`."""
    database = Path(database)
    return database.with_name(f"{database.name}-job-{name}.lock")


@contextmanager
def job_lock(name: str, *, using: str = DEFAULT_DB_ALIAS) -> Iterator[bool]:
    """Hold the lock of job `name` for the block and yield True, or yield False at once,
    holding nothing, when another run holds it."""
    if not JOB_NAME.fullmatch(name):
        raise ValueError("A job name is 1 to 64 lower-case letters, digits or underscores.")
    with _process_lock(name) as held:
        if not held:
            yield False
            return
        connection = connections[using]
        if connection.vendor == "postgresql":
            with advisory_lock(connection, name) as held:
                yield held
        elif connection.vendor == "sqlite":
            if connection.is_in_memory_db():  # type: ignore[attr-defined]
                yield True
            else:
                with file_lock(lock_file(connection.settings_dict["NAME"], name)) as held:
                    yield held
        else:
            raise ImproperlyConfigured(
                f"Job locks support PostgreSQL and SQLite, not {connection.vendor}."
            )


@contextmanager
def _process_lock(name: str) -> Iterator[bool]:
    with _in_process_guard:
        held = name not in _in_process
        _in_process.add(name)
    try:
        yield held
    finally:
        if held:
            with _in_process_guard:
                _in_process.discard(name)


@contextmanager
def advisory_lock(connection: BaseDatabaseWrapper, name: str) -> Iterator[bool]:
    """A session-level advisory lock on `connection` (PostgreSQL), without waiting."""
    key = advisory_key(name)
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_try_advisory_lock(%s)", [key])
        (held,) = cursor.fetchone()
    if not held:
        yield False
        return
    session = connection.connection
    try:
        yield True
    finally:
        # A connection lost during the run took the lock with its session: nothing to undo.
        if connection.connection is session:
            _advisory_unlock(connection, key)


def _advisory_unlock(connection: BaseDatabaseWrapper, key: int) -> None:
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_advisory_unlock(%s)", [key])
    except DatabaseError:
        # Closing the session releases the lock too; inside a transaction that is the
        # caller's to end, and the lock then lasts until the connection closes.
        logger.warning("Could not release a job lock; closing the connection instead.")
        if not connection.in_atomic_block:
            connection.close()


@contextmanager
def file_lock(path: Path) -> Iterator[bool]:
    """An exclusive `flock` on `path` (created if missing), without waiting."""
    descriptor = os.open(path, os.O_RDWR | os.O_CREAT, 0o600)
    try:
        try:
            fcntl.flock(descriptor, fcntl.LOCK_EX | fcntl.LOCK_NB)
            held = True
        except BlockingIOError:
            held = False
        # The file stays: removing it would let a later run lock a new file while an
        # earlier one still holds the old.
        yield held
    finally:
        os.close(descriptor)
