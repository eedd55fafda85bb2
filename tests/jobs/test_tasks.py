"""The jobs as tasks: the daily purge on the scheduler, tasks run by the database worker
through the same code as the commands, one run at a time, and rotation and index rebuild
that resume after an interruption and report their pace."""

import io
import logging
import signal
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from cryptography.fernet import Fernet
from django.core.management import call_command
from django.db import connection, connections
from django.test.utils import CaptureQueriesContext
from django.utils import timezone
from django_tasks_db.models import DBTaskResult

from community.locks import job_lock
from customer_data import crypto, retention, tasks
from customer_data.models import CustomerData, MaintenanceCheckpoint
from tests.factories import UserFactory
from tests.helpers import raw_row, store_customer_data
from tests.jobs.conftest import environment, make_stale, manage

BERLIN = ZoneInfo("Europe/Berlin")
LOCK_HELD = "läuft bereits in einem anderen Prozess; dieser Aufruf tut nichts."


def new_key() -> str:
    return Fernet.generate_key().decode()


@pytest.fixture
def members(settings, db) -> list:
    settings.FIELD_ENCRYPTION_KEYS = [new_key()]
    users = [UserFactory() for _ in range(5)]
    for user in users:
        store_customer_data(user)
    return users


@contextmanager
def held_elsewhere(job: str) -> Iterator[None]:
    """Another run of `job` holds its lock (in a thread with a connection of its own)."""
    taken, done = threading.Event(), threading.Event()

    def hold() -> None:
        try:
            with job_lock(job) as held:
                assert held
                taken.set()
                done.wait(timeout=60)
        finally:
            connections.close_all()

    thread = threading.Thread(target=hold)
    thread.start()
    assert taken.wait(timeout=30)
    try:
        yield
    finally:
        done.set()
        thread.join(timeout=30)


# --- The schedule ---


def scheduled_jobs() -> dict:
    from crontask import scheduler

    return {job.name: job for job in scheduler.get_jobs()}


def test_the_scheduler_enqueues_the_purge_every_night_at_half_past_three():
    job = scheduled_jobs()["purge_stale_customer_data"]

    # The task itself (compared by identity: Sentry's integration may patch `Task.enqueue`).
    assert job.func.__self__ is tasks.purge_stale_customer_data
    assert job.func.__name__ == "enqueue"
    # A week across the change to summer time (the night of 27 to 28 March 2027).
    fire = datetime(2027, 3, 26, 12, 0, tzinfo=BERLIN)
    fired = []
    for _ in range(7):
        fire = job.trigger.get_next_fire_time(None, fire + timedelta(seconds=1))
        fired.append(fire.astimezone(BERLIN))
    assert [(f.month, f.day, f.hour, f.minute) for f in fired] == [
        (3, 27, 3, 30),
        (3, 28, 3, 30),
        (3, 29, 3, 30),
        (3, 30, 3, 30),
        (3, 31, 3, 30),
        (4, 1, 3, 30),
        (4, 2, 3, 30),
    ]


def test_rotation_and_index_rebuild_run_on_demand_only():
    assert {"rotate_field_keys", "rebuild_blind_index"}.isdisjoint(scheduled_jobs())


def test_the_scheduler_command_loads_the_purge(tmp_path, processes):
    scheduler = manage(
        environment(f"sqlite:///{tmp_path / 'db.sqlite3'}"), "crontask", "--no-heartbeat"
    )
    processes.append(scheduler)
    assert scheduler.stdout
    assert scheduler.stderr
    said = ""
    while "Starting scheduler" not in said:
        said += scheduler.stdout.readline() or pytest.fail(scheduler.stderr.read())
    logged = ""
    while "Scheduler started" not in logged:
        logged += scheduler.stderr.readline() or pytest.fail(logged)
    scheduler.send_signal(signal.SIGTERM)
    scheduler.communicate(timeout=30)

    assert "Loaded tasks from customer_data." in said
    added = [line for line in logged.splitlines() if "Added job" in line]
    assert any("purge_stale_customer_data" in line for line in added)


# --- Through the worker ---


@pytest.mark.django_db(transaction=True)
def test_a_purge_enqueued_through_the_database_backend_runs_the_commands_code(
    members, worker, monkeypatch
):
    make_stale(members[0])
    calls = []
    real = retention.purge_stale_customer_data

    def counted(**kwargs):
        calls.append(kwargs)
        return real(**kwargs)

    monkeypatch.setattr(retention, "purge_stale_customer_data", counted)
    queued = tasks.purge_stale_customer_data.enqueue()
    worker()

    row = DBTaskResult.objects.get(id=queued.id)
    assert row.status == "SUCCESSFUL"
    assert row.return_value == {"ran": True, "stale": 1, "outdated_consent": 0, "access_rows": 0}
    assert len(calls) == 1
    assert CustomerData.objects.get(user=members[0]).filled_count == 0
    assert CustomerData.objects.get(user=members[1]).filled_count == 3


@pytest.mark.django_db(transaction=True)
def test_an_interrupted_rotation_task_resumes_on_the_next_run_and_logs_its_pace(
    members, settings, worker, monkeypatch, caplog
):
    caplog.set_level(logging.INFO, logger="customer_data.tasks")
    new = new_key()
    settings.FIELD_ENCRYPTION_KEYS = [new, *settings.FIELD_ENCRYPTION_KEYS]
    real_rotate = crypto.rotate
    calls = {"n": 0}

    def fails_in_the_third_batch(token: str) -> str:
        calls["n"] += 1
        if calls["n"] == 5 * 3:  # the fifth row's last value: a batch of two is half done
            raise RuntimeError("the worker's host went away")
        return real_rotate(token)

    monkeypatch.setattr(crypto, "rotate", fails_in_the_third_batch)
    failed = tasks.rotate_field_keys.enqueue(batch_size=2)
    worker()
    assert DBTaskResult.objects.get(id=failed.id).status == "FAILED"
    ids = sorted(CustomerData.objects.values_list("pk", flat=True))
    assert MaintenanceCheckpoint.objects.get(job="rotate_field_keys").last_pk == ids[3]

    monkeypatch.setattr(crypto, "rotate", real_rotate)
    resumed = tasks.rotate_field_keys.enqueue(batch_size=2)
    worker()

    row = DBTaskResult.objects.get(id=resumed.id)
    assert row.status == "SUCCESSFUL"
    assert row.return_value == {
        "ran": True,
        "done": 1,
        "undecryptable": [],
        "resumed_after": ids[3],
    }
    paces = [r.getMessage() for r in caplog.records if r.name == "customer_data.tasks"]
    assert any(p.startswith("rotate_field_keys: 2 of 5 rows, ") for p in paces)
    assert any(p.startswith("rotate_field_keys: 1 of 1 rows, ") for p in paces)
    assert all("/s, about " in p and p.endswith(" s left") for p in paces)
    settings.FIELD_ENCRYPTION_KEYS = [new]  # every row now reads with the new key alone
    assert all(data.customer_number for data in CustomerData.objects.all())


# --- Resumable, and cheap to run again ---


def test_an_interrupted_index_rebuild_resumes_without_redoing_finished_batches(
    members, settings, monkeypatch
):
    settings.BLIND_INDEX_KEY = "another-blind-index-key-" + "q" * 32
    real_index = crypto.blind_index
    calls = {"n": 0, "fail_at": 2 * 2 + 1}  # two values per row: the third row's first

    def fails_once_in_the_second_batch(value: str) -> str:
        calls["n"] += 1
        if calls["n"] == calls["fail_at"]:
            raise RuntimeError("interrupted")
        return real_index(value)

    monkeypatch.setattr(crypto, "blind_index", fails_once_in_the_second_batch)
    with pytest.raises(RuntimeError):
        call_command("rebuild_blind_index", "--batch-size", "2", stdout=io.StringIO())
    calls["n"], calls["fail_at"] = 0, 0
    out, err = io.StringIO(), io.StringIO()
    call_command("rebuild_blind_index", "--batch-size", "2", stdout=out, stderr=err)

    ids = sorted(CustomerData.objects.values_list("pk", flat=True))
    assert f"Fortgesetzt nach Zeile {ids[1]}." in out.getvalue()
    assert "Suchindizes von 3 Datensätzen neu berechnet." in out.getvalue()
    assert calls["n"] == 3 * 2  # the two rows of the finished batch were not indexed again
    assert "3 von 3 Zeilen, " in err.getvalue()
    assert "/s, noch etwa " in err.getvalue()
    for user in members:
        assert raw_row(user.pk)["customer_number_bidx"] == real_index("4711081512")


def test_a_rotation_run_again_after_it_finished_writes_nothing(members, settings):
    settings.FIELD_ENCRYPTION_KEYS = [new_key(), *settings.FIELD_ENCRYPTION_KEYS]
    assert tasks.run_rotation(batch_size=2).done == 5
    assert not MaintenanceCheckpoint.objects.exists()

    with CaptureQueriesContext(connection) as queries:
        again = tasks.run_rotation(batch_size=2)

    assert again.done == 0
    table = CustomerData._meta.db_table
    writes = [q for q in queries.captured_queries if q["sql"].startswith(("UPDATE", "INSERT"))]
    assert not [q for q in writes if table in q["sql"]]


# --- One run at a time ---


@pytest.mark.parametrize(
    "command", ["purge_stale_customer_data", "rotate_field_keys", "rebuild_blind_index"]
)
def test_a_command_finding_its_job_running_elsewhere_does_nothing(members, settings, command):
    make_stale(*members)
    settings.FIELD_ENCRYPTION_KEYS = [new_key(), *settings.FIELD_ENCRYPTION_KEYS]
    settings.BLIND_INDEX_KEY = "another-blind-index-key-" + "q" * 32
    before = [raw_row(user.pk) for user in members]
    out = io.StringIO()

    with held_elsewhere(command):
        call_command(command, stdout=out, stderr=io.StringIO())

    assert out.getvalue() == f"{command} {LOCK_HELD}\n"
    assert [raw_row(user.pk) for user in members] == before


def test_a_task_finding_its_job_running_elsewhere_returns_without_work(members):
    make_stale(*members)

    with held_elsewhere("purge_stale_customer_data"):
        summary = tasks.purge_stale_customer_data.call()

    assert summary == {"ran": False}
    assert all(data.filled_count == 3 for data in CustomerData.objects.all())


@pytest.mark.parametrize("command", ["rotate_field_keys", "rebuild_blind_index"])
def test_enqueue_hands_a_maintenance_run_to_the_worker(members, command):
    out = io.StringIO()

    call_command(command, "--enqueue", "--batch-size", "7", stdout=out)

    row = DBTaskResult.objects.get()
    assert row.task_path == f"customer_data.tasks.{command}"
    assert row.args_kwargs == {"args": [], "kwargs": {"batch_size": 7, "skip_undecryptable": False}}
    assert (
        out.getvalue()
        == f"Als Aufgabe {row.id} eingereiht; ein Worker (make worker) führt sie aus.\n"
    )
    assert not MaintenanceCheckpoint.objects.exists()


# --- Expired sessions ---


def test_the_scheduler_clears_expired_sessions_every_night(db):
    from django.contrib.sessions.models import Session

    from community import tasks as community_tasks

    job = scheduled_jobs()["clear_expired_sessions"]
    assert job.func.__self__ is community_tasks.clear_expired_sessions
    fire = job.trigger.get_next_fire_time(None, datetime(2027, 1, 4, 12, 0, tzinfo=BERLIN))
    assert fire.astimezone(BERLIN) == datetime(2027, 1, 5, 4, 0, tzinfo=BERLIN)
    now = timezone.now()
    Session.objects.create(session_key="a" * 32, session_data="", expire_date=now - timedelta(1))
    Session.objects.create(session_key="b" * 32, session_data="", expire_date=now + timedelta(1))

    assert community_tasks.clear_expired_sessions.call() == {"ran": True}

    assert list(Session.objects.values_list("session_key", flat=True)) == ["b" * 32]
