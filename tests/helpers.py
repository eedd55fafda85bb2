"""Small helpers shared by several test modules."""

import os
import subprocess
import sys
from pathlib import Path

from django.db import connection

from customer_data.models import ENCRYPTED_FIELDS, CustomerData
from tests.factories import CUSTOMER_NUMBER, FURTHER_INFO, MOBILE_NUMBER, CustomerDataFactory

ROOT = Path(__file__).resolve().parents[1]
RAW_COLUMNS = [*ENCRYPTED_FIELDS, "customer_number_bidx", "consent", "filled_count"]


def raw_row(user_id: int, columns: list[str] = RAW_COLUMNS) -> dict[str, object] | None:
    """A member's customer-data columns exactly as the database holds them (no decryption),
    or None when the member has no row."""
    quote = connection.ops.quote_name
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT {', '.join(quote(c) for c in columns)} "  # noqa: S608 (fixed identifiers)
            f"FROM {quote(CustomerData._meta.db_table)} WHERE {quote('user_id')} = %s",
            [user_id],
        )
        row = cursor.fetchone()
    return None if row is None else dict(zip(columns, row, strict=True))


def store_customer_data(
    user,
    *,
    customer_number: str = CUSTOMER_NUMBER,
    mobile_number: str = MOBILE_NUMBER,
    further_info: str = FURTHER_INFO,
) -> CustomerData:
    """Give `user` consent and all three values, as the Profil tab would
    (`CustomerDataFactory(user=user, full=True)` under another name)."""
    return CustomerDataFactory(
        user=user,
        customer_number=customer_number,
        mobile_number=mobile_number,
        further_info=further_info,
    )


def rewrite_history(records, **values) -> int:
    """Change append-only rows for a test's time travel, bypassing the guard on purpose
    (the app itself has no way to do this)."""
    from django.db.models import QuerySet

    return QuerySet.update(records, **values)


def run_with_settings(code: str, **environ: str) -> str:
    """Run Python `code` in a fresh process with the site's settings as the environment makes
    them (not as this test run adjusts them), and return what it printed.

    Only `environ` and placeholder keys count: no DJANGO_*, DATABASE_URL or REDIS_URL of the
    caller, and no developer's .env.
    """
    env = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith(("DJANGO_", "DATABASE_URL", "REDIS_URL"))
    }
    env.update(
        DJANGO_SETTINGS_MODULE="community.settings",
        FIELD_ENCRYPTION_KEYS="x" * 43 + "=",
        BLIND_INDEX_KEY="blind-index-key-for-the-probe-" + "y" * 32,
        DJANGO_SECRET_KEY="probe-secret-key-" + "x" * 40,
        COMMUNITY_SKIP_DOTENV="1",
        **environ,
    )
    out = subprocess.run(
        [sys.executable, "-c", f"import sys; sys.path.insert(0, {str(ROOT)!r}); {code}"],
        env=env,
        cwd="/",
        capture_output=True,
        text=True,
        check=True,
    )
    return out.stdout.strip().splitlines()[-1]


def run_script(script: str, env: dict[str, str], *arguments: str) -> None:
    """Run Python `script` in a fresh process from the project root with exactly `env`;
    fail the test with the end of its error output if it fails."""
    done = subprocess.run(
        [sys.executable, "-c", script, *arguments],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stderr[-2000:]
