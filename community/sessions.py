"""Sessions in the database, with a lost database reported as such.

Django's database session store turns any database error while updating a session into
"session interrupted", which the middleware answers with 400 Bad Request. When the error is
the database going away (a restart, a timeout), that tells the member and any retrying
client the wrong thing: it is answered here as what it is, so the 503 page with
Retry-After follows (see `community.views.server_error`).
"""

from typing import Any

from django.contrib.sessions.backends.base import UpdateError
from django.contrib.sessions.backends.db import SessionStore as DatabaseSessionStore
from django.contrib.sessions.models import Session
from django.db import InterfaceError, OperationalError
from django.utils import timezone

from community.prepared import PreparedLookup

# Every signed-in request reads its session: the SQL compiled once per connection, as for the
# viewer (`community.prepared`). Looked up by key alone, the expiry checked here: the same
# answer as Django's `get(session_key=…, expire_date__gt=now)`.
SESSIONS = PreparedLookup(Session, Session.objects.all, field="session_key")


class SessionStore(DatabaseSessionStore):
    def _get_session_from_db(self) -> Any:
        session: Any = SESSIONS.get(self.session_key) if self.session_key else None
        if session is None or session.expire_date <= timezone.now():
            self._session_key = None
            return None
        return session

    def save(self, must_create: bool = False) -> None:
        try:
            super().save(must_create=must_create)
        except UpdateError as exc:
            cause = exc.__context__
            if isinstance(cause, OperationalError | InterfaceError):
                raise cause from None
            raise
