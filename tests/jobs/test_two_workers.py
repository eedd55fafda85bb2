"""Two purges started at the same moment, as two workers or hosts would start them: exactly
one erases, the other finds the lock held and does nothing, on SQLite and on PostgreSQL."""

import pytest
from django.db import connection

from customer_data.models import ConsentRecord
from tests.jobs.conftest import environment, first_to_finish, postgres_url, run, start
from tests.jobs.runner import store_stale

MEMBERS = 3
LOCK_HELD = "purge_stale_customer_data läuft bereits in einem anderen Prozess"
DONE = f"Gelöscht: {MEMBERS} Kundendaten nach Speicherfrist"


def two_purges_at_once(env: dict[str, str], release, processes) -> tuple[str, str]:
    """Start two purges together; return what the one that finished first printed, and then
    (after releasing the other's held work) what the other printed."""
    runs = [start(env, "purge", str(release)) for _ in range(2)]
    processes.extend(runs)
    # The run holding the lock waits for the release, so the other meets it for certain.
    first = first_to_finish(runs, timeout=120)
    first_out, first_err = first.communicate()
    assert first.returncode == 0, first_err[-3000:]
    release.touch()
    (second,) = [run for run in runs if run is not first]
    second_out, second_err = second.communicate(timeout=120)
    assert second.returncode == 0, second_err[-3000:]
    return first_out, second_out


def assert_one_worked(waited: str, worked: str) -> None:
    assert LOCK_HELD in waited
    assert "working" not in waited  # it never reached the purge
    assert "Gelöscht" not in waited
    assert "working" in worked
    assert DONE in worked


def test_two_purges_at_once_on_one_sqlite_file_erase_each_member_once(tmp_path, processes):
    env = environment(f"sqlite:///{tmp_path / 'db.sqlite3'}")
    run(env, "seed", str(MEMBERS))

    waited, worked = two_purges_at_once(env, tmp_path / "release", processes)

    assert_one_worked(waited, worked)
    assert run(env, "count").strip() == str(MEMBERS)


@pytest.mark.skipif(connection.vendor != "postgresql", reason="the PostgreSQL test database")
@pytest.mark.django_db(transaction=True)
def test_two_purges_at_once_on_postgresql_erase_each_member_once(tmp_path, processes):
    store_stale(MEMBERS)  # committed: the test is transactional

    waited, worked = two_purges_at_once(
        environment(postgres_url()), tmp_path / "release", processes
    )

    assert_one_worked(waited, worked)
    assert ConsentRecord.objects.filter(reason=ConsentRecord.Reason.RETENTION).count() == MEMBERS
