"""Liveness and readiness: what a load balancer asks before it sends members here.

The readiness checks are named in `COMMUNITY_READINESS_CHECKS` (settings), so each part is
checked where its knowledge lives: the database and the cache here, the encryption keys in
`customer_data.keycheck`. Each check returns (ok, short detail) and may raise; no detail
ever carries a value, a host name or a password.
"""

import logging

from django.conf import settings
from django.core.cache import cache
from django.db import DEFAULT_DB_ALIAS, connections
from django.utils.module_loading import import_string

logger = logging.getLogger(__name__)


def database() -> tuple[bool, str]:
    """`SELECT 1`. A database server gets a connection of its own: a kept-open one may be
    stuck on a hung server, a new one gives up after DATABASE_CONNECT_TIMEOUT. SQLite is a
    local file and answers on the request's own connection."""
    local = connections[DEFAULT_DB_ALIAS].vendor == "sqlite"
    conn = (
        connections[DEFAULT_DB_ALIAS] if local else connections.create_connection(DEFAULT_DB_ALIAS)
    )
    try:
        with conn.cursor() as cursor:
            cursor.execute("SELECT 1")
            cursor.fetchone()
    finally:
        if not local:
            conn.close()
    return True, "ok"


def redis() -> tuple[bool, str]:
    """Redis answers PING within REDIS_TIMEOUT, when the site is configured to use it."""
    if not settings.REDIS_URL:
        return True, "not configured"
    cache.ping()  # type: ignore[attr-defined]
    cache.wake()  # type: ignore[attr-defined]
    return True, "ok"


def readiness() -> tuple[bool, dict[str, str]]:
    """Run every readiness check, in the order configured. A check marked `needs_database`
    is skipped once the database check failed, instead of waiting on the same database."""
    results: dict[str, str] = {}
    database_ok = True
    for name, path in settings.COMMUNITY_READINESS_CHECKS.items():
        check = import_string(path)
        if getattr(check, "needs_database", False) and not database_ok:
            results[name] = "skipped: database unavailable"
            continue
        try:
            ok, detail = check()
        except Exception as exc:  # any failure means "not ready"; its kind is enough to say
            logger.warning("Readiness check %s failed: %s", name, type(exc).__name__)
            ok, detail = False, f"error: {type(exc).__name__}"
        results[name] = detail
        if check is database:
            database_ok = ok
    ready = all(detail in ("ok", "not configured") for detail in results.values())
    return ready, results


def run_startup_checks() -> None:
    """Run `COMMUNITY_STARTUP_CHECKS` when an app server loads; one that raises stops it."""
    try:
        for path in settings.COMMUNITY_STARTUP_CHECKS:
            import_string(path)()
    finally:
        # gunicorn forks its workers after this (preload_app): no connection may be shared.
        connections.close_all()
