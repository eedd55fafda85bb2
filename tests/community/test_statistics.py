"""After a migration the planner's statistics are refreshed (community/statistics.py)."""

import sqlite3

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from community.statistics import analyze_after_migrate
from tests.helpers import run_script
from tests.resilience.test_gunicorn import environment


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("plan", "analyzed"),
    [([("a migration", False)], True), ([("a migration", True)], False), ([], False)],
    ids=["forwards", "backwards", "nothing to do"],
)
def test_analyze_runs_once_something_was_migrated_forwards(plan, analyzed):
    with CaptureQueriesContext(connection) as queries:
        analyze_after_migrate(using="default", plan=plan)
    assert [q["sql"] for q in queries] == (["ANALYZE"] if analyzed else [])


def test_a_real_migrate_leaves_statistics_behind(tmp_path):
    run_script(
        "import django; django.setup(); from django.core.management import call_command; "
        "call_command('migrate', verbosity=0)",
        environment(tmp_path, "x" * 43 + "="),
    )
    database = sqlite3.connect(tmp_path / "db.sqlite3")
    try:
        tables = {name for (name,) in database.execute("SELECT name FROM sqlite_master")}
    finally:
        database.close()
    assert "sqlite_stat1" in tables  # written by ANALYZE only
