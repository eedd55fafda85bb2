"""Database helpers for long-running maintenance."""

from collections.abc import Iterator
from contextlib import contextmanager

from django.db import connection
from django.db.backends.base.schema import BaseDatabaseSchemaEditor


@contextmanager
def without_statement_timeout() -> Iterator[None]:
    """Lift DATABASE_STATEMENT_TIMEOUT for this connection while a maintenance command runs.

    The timeout protects the site's requests from a hung database; a purge or a rotation
    works in short batches but may meet a large table, and must not be cut off midway.
    """
    if connection.vendor != "postgresql":
        yield
        return
    with connection.cursor() as cursor:
        cursor.execute("SET statement_timeout = 0")
    try:
        yield
    finally:
        with connection.cursor() as cursor:
            cursor.execute("RESET statement_timeout")


def lift_statement_timeout_in_migration(
    apps: object, schema_editor: BaseDatabaseSchemaEditor
) -> None:
    """A `RunPython` step, first in migrations that build indexes or rewrite tables: over a
    million rows that takes longer than DATABASE_STATEMENT_TIMEOUT, which is lifted for the
    migration's transaction only (both directions)."""
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute("SET LOCAL statement_timeout = 0")
