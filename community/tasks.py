"""The community's own daily job: expired sessions out of the database.

Sessions live in the database (`SESSION_ENGINE`), and Django leaves expired rows there until
`clearsessions` runs; the scheduler (`make scheduler`) enqueues this instead of a cron line.
"""

import logging
from importlib import import_module

from crontask import cron
from django.conf import settings
from django.tasks import task

from community.locks import job_lock

logger = logging.getLogger(__name__)

CLEAR_SESSIONS = "clear_expired_sessions"


# No Sentry cron monitor (see customer_data/tasks.py).
@cron(settings.COMMUNITY_CLEAR_SESSIONS_CRON, sentry_monitor_config=None)
@task
def clear_expired_sessions() -> dict[str, bool]:
    """`manage.py clearsessions`, under its job lock."""
    with job_lock(CLEAR_SESSIONS) as held:
        if not held:
            logger.info("%s is already running elsewhere; this run does nothing.", CLEAR_SESSIONS)
            return {"ran": False}
        import_module(settings.SESSION_ENGINE).SessionStore.clear_expired()
        return {"ran": True}
