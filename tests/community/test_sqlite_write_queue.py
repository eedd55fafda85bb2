"""The SQLite backend queues writers for their turn (community/db_backends/sqlite3).

Each test opens its own connections to a database file of its own: the suite's database is in
memory, and has no queue.
"""

import fcntl
import multiprocessing
import os
import sqlite3
import threading

import pytest
from django.db import OperationalError, connection

from community.db_backends.sqlite3.base import DatabaseWrapper, write_queue

pytestmark = pytest.mark.skipif(
    connection.vendor != "sqlite", reason="the queue belongs to the SQLite backend"
)


OPENED = []


def open_database(path, timeout=5):
    settings_dict = {
        **connection.settings_dict,
        "NAME": str(path),
        "OPTIONS": {"transaction_mode": "IMMEDIATE", "timeout": timeout},
        "TEST": {},
    }
    wrapper = DatabaseWrapper(settings_dict, alias=f"queue-{id(settings_dict)}")
    wrapper.ensure_connection()
    OPENED.append(wrapper)
    return wrapper


def begin(wrapper):
    wrapper.set_autocommit(False, force_begin_transaction_with_broken_autocommit=True)


def commit(wrapper):
    wrapper.commit()
    wrapper.set_autocommit(True)


def rollback(wrapper):
    wrapper.rollback()
    wrapper.set_autocommit(True)


def file_lock_is_free(lock_path):
    """Whether another process could take the writers' file lock now."""
    if not os.path.exists(lock_path):
        return True  # no writer has queued yet
    fd = os.open(lock_path, os.O_RDWR)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        return False
    else:
        fcntl.flock(fd, fcntl.LOCK_UN)
        return True
    finally:
        os.close(fd)


@pytest.fixture
def database(tmp_path, django_db_blocker):
    """A database file of the test's own (pytest-django guards only the suite's database)."""
    path = tmp_path / "queue.sqlite3"
    with django_db_blocker.unblock():
        setup = open_database(path)
        with setup.cursor() as cursor:
            cursor.execute("CREATE TABLE counter (n INTEGER)")
            cursor.execute("INSERT INTO counter VALUES (0)")
        setup.close()
        yield path
        while OPENED:
            OPENED.pop().close()


def test_a_writing_transaction_holds_the_turn_until_it_ends(database):
    first = open_database(database)
    queue_file = f"{database.resolve()}.writers"
    begin(first)
    assert not file_lock_is_free(queue_file)
    commit(first)
    assert file_lock_is_free(queue_file)
    begin(first)
    rollback(first)
    assert file_lock_is_free(queue_file)
    begin(first)
    first.close()  # a connection closed mid-transaction gives its turn back
    assert file_lock_is_free(queue_file)


def test_a_second_writer_waits_for_the_first_and_then_goes_on(database):
    first, second = open_database(database), open_database(database)
    order = []
    begin(first)
    with first.cursor() as cursor:
        cursor.execute("UPDATE counter SET n = n + 1")

    def write_second():
        second.inc_thread_sharing()
        begin(second)
        order.append("second began")
        with second.cursor() as cursor:
            cursor.execute("UPDATE counter SET n = n + 1")
        commit(second)

    thread = threading.Thread(target=write_second)
    thread.start()
    thread.join(timeout=0.3)
    assert thread.is_alive()  # waiting for its turn, not failing
    order.append("first committed")
    commit(first)
    thread.join(timeout=10)
    assert order == ["first committed", "second began"]
    with first.cursor() as cursor:
        cursor.execute("SELECT n FROM counter")
        assert cursor.fetchone() == (2,)


def test_a_writer_that_does_not_get_its_turn_gets_sqlites_own_error(database):
    first, second = open_database(database), open_database(database, timeout=0.2)
    begin(first)
    with pytest.raises(OperationalError, match="database is locked"):
        begin(second)
    second.set_autocommit(True)
    commit(first)
    begin(second)  # the failed attempt left nothing behind: the turn is free again
    commit(second)


def _hold_turn_in_child(path, took, release):
    child = open_database(path)
    begin(child)
    took.set()
    release.wait(10)
    commit(child)


def test_processes_wait_for_each_other_also_after_a_fork(database):
    parent = open_database(database, timeout=0.2)
    begin(parent)  # the queue's file is open in this process before the fork
    commit(parent)
    context = multiprocessing.get_context("fork")
    took, release = context.Event(), context.Event()
    child = context.Process(target=_hold_turn_in_child, args=(database, took, release))
    child.start()
    try:
        assert took.wait(10)
        with pytest.raises(OperationalError, match="database is locked"):
            begin(parent)
        parent.set_autocommit(True)
    finally:
        release.set()
        child.join(10)
    begin(parent)
    commit(parent)


def test_a_killed_process_leaves_no_turn_behind(database):
    context = multiprocessing.get_context("fork")
    took, release = context.Event(), context.Event()
    child = context.Process(target=_hold_turn_in_child, args=(database, took, release))
    child.start()
    assert took.wait(10)
    child.kill()
    child.join(10)
    survivor = open_database(database, timeout=2)
    begin(survivor)
    commit(survivor)


def test_a_failed_begin_gives_the_turn_back(database, monkeypatch):
    wrapper = open_database(database)

    def refuse(self):
        raise sqlite3.OperationalError("disk I/O error")

    monkeypatch.setattr(
        "django.db.backends.sqlite3.base.DatabaseWrapper._start_transaction_under_autocommit",
        refuse,
    )
    with pytest.raises(sqlite3.OperationalError):
        begin(wrapper)
    assert file_lock_is_free(f"{database.resolve()}.writers")


def test_in_memory_databases_have_no_queue():
    assert write_queue(":memory:") is None
    assert write_queue("file:memorydb_default?mode=memory&cache=shared") is None
    assert connection.settings_dict["ENGINE"] == "community.db_backends.sqlite3"


def test_a_connection_renamed_to_another_database_queues_for_that_one(database, tmp_path):
    """The test runner renames the database of an open connection: its turns follow."""
    other = tmp_path / "other.sqlite3"
    wrapper = open_database(database)
    wrapper.close()
    wrapper.settings_dict["NAME"] = str(other)
    begin(wrapper)
    assert file_lock_is_free(f"{database.resolve()}.writers")
    assert not file_lock_is_free(f"{other.resolve()}.writers")
    commit(wrapper)
    assert write_queue(str(database)) is write_queue(str(database.resolve()))
