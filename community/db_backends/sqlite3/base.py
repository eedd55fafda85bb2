"""Django's SQLite backend, with writing transactions queued instead of polling for the lock.

SQLite lets one transaction write at a time. The site opens every transaction with
`BEGIN IMMEDIATE` (`transaction_mode` in settings), so a second writer finds the database
locked and SQLite's busy handler retries after sleeps that grow from 1 ms to 100 ms. Under
load those sleeps, not the work, make the slow tail of every save: `make bench` measured the
Speichern POST's p99 at 3.9 × the GET's (203 ms against 52 ms, p50 equal at 12 ms), the waiting
writers oversleeping the moment the lock came free.

Here a writer first takes its turn in a queue: a lock among the threads of the process, then
an advisory file lock (`flock`) beside the database file among processes, held until its
transaction ends. The next writer is woken when the turn is free and then finds SQLite's own
lock free, so SQLite's busy handler stays for writers outside this backend (the `sqlite3`
shell). A writer that cannot get its turn within the connection's `timeout` gets SQLite's own
error, "database is locked", as it would have from SQLite. The kernel drops a process's file
lock when the process dies, so a killed worker cannot leave the queue blocked. In-memory
databases (the test suite's) have no file and no other process: there is no queue.
"""

from __future__ import annotations

import fcntl
import os
import sqlite3
import threading
import time
from pathlib import Path
from typing import Any

from django.db.backends.sqlite3 import base

# Polling the file lock between processes: only one thread per process polls (the others
# wait on the thread lock, woken at once), and a transaction of the site holds the lock for
# a few milliseconds, so short sleeps cost little and keep the wake-up close to the release.
FIRST_SLEEP_S = 0.0002
LONGEST_SLEEP_S = 0.002


class WriteQueue:
    """The turn to write one database file, for the threads and processes that use it."""

    def __init__(self, path: str) -> None:
        self.lock_path = f"{path}.writers"
        self.threads = threading.Lock()
        self._fd = -1
        self._fd_pid = 0

    def _file(self) -> int:
        # A descriptor inherited across fork (gunicorn's preloading master) shares its lock
        # with the parent, so each process opens its own.
        if self._fd_pid != os.getpid():
            self._fd = os.open(self.lock_path, os.O_RDWR | os.O_CREAT, 0o600)
            self._fd_pid = os.getpid()
        return self._fd

    def acquire(self, timeout: float) -> bool:
        deadline = time.monotonic() + timeout
        if not self.threads.acquire(timeout=max(timeout, 0)):
            return False
        sleep = FIRST_SLEEP_S
        try:
            while True:
                try:
                    fcntl.flock(self._file(), fcntl.LOCK_EX | fcntl.LOCK_NB)
                    return True
                except BlockingIOError:
                    if time.monotonic() >= deadline:
                        break
                    time.sleep(sleep)
                    sleep = min(2 * sleep, LONGEST_SLEEP_S)
        except BaseException:
            self.threads.release()
            raise
        self.threads.release()
        return False

    def release(self) -> None:
        try:
            fcntl.flock(self._file(), fcntl.LOCK_UN)
        finally:
            self.threads.release()


_queues: dict[str, WriteQueue] = {}
_queues_lock = threading.Lock()


def write_queue(name: str) -> WriteQueue | None:
    """The queue of the database file `name`, or None for an in-memory database."""
    if not name or name == ":memory:" or "mode=memory" in name:
        return None
    queue = _queues.get(name)
    if queue is None:
        path = str(Path(name).resolve())
        with _queues_lock:
            queue = _queues.get(path) or WriteQueue(path)
            _queues[name] = _queues[path] = queue
    return queue


class DatabaseWrapper(base.DatabaseWrapper):
    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._turn: WriteQueue | None = None  # the queue whose turn this connection holds

    def _start_transaction_under_autocommit(self) -> None:
        # The queue of the file named now: the test runner renames the database of an
        # existing connection (to its in-memory test database).
        queue = write_queue(str(self.settings_dict["NAME"]))
        if queue is not None and self._turn is None:
            timeout = float(self.settings_dict.get("OPTIONS", {}).get("timeout", 5))
            if not queue.acquire(timeout):
                with self.wrap_database_errors:
                    raise sqlite3.OperationalError("database is locked")
            self._turn = queue
        try:
            super()._start_transaction_under_autocommit()  # type: ignore[misc]  # private, not in django-stubs
        except BaseException:
            self._end_turn()
            raise

    def _end_turn(self) -> None:
        turn, self._turn = self._turn, None
        if turn is not None:
            turn.release()

    def _commit(self) -> None:
        try:
            super()._commit()  # type: ignore[misc]  # private, not in django-stubs
        finally:
            self._end_turn()

    def _rollback(self) -> None:
        try:
            super()._rollback()  # type: ignore[misc]  # private, not in django-stubs
        finally:
            self._end_turn()

    def _close(self) -> None:
        try:
            super()._close()  # type: ignore[misc]  # private, not in django-stubs
        finally:
            self._end_turn()
