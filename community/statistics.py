"""Planner statistics refreshed after a migration.

A migration that adds an index leaves the planner without statistics about it: SQLite's
`sqlite_stat1` knows only the indexes that existed at the last ANALYZE, and PostgreSQL keeps
statistics for an expression index (the directory's name search) only once ANALYZE has run,
which autovacuum does only after enough rows changed. Until then the planner guesses: on the
benchmark's 10,000 members, SQLite read every member and sorted them for directory page 1
(10 ms) instead of walking the new `profile_directory_order` index (0.07 ms).
"""

from typing import Any

from django.db import connections


def analyze_after_migrate(
    *, using: str, plan: list[tuple[Any, bool]] | None = None, **_: Any
) -> None:
    """`post_migrate` receiver: ANALYZE the database once something was migrated forwards."""
    if not any(not backwards for _migration, backwards in plan or ()):
        return
    with connections[using].cursor() as cursor:
        cursor.execute("ANALYZE")
