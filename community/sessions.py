"""Sessions in the database, with a lost database reported as such.

Django's database session store turns any database error while updating a session into
"session interrupted", which the middleware answers with 400 Bad Request. When the error is
the database going away (a restart, a timeout), that tells the member and any retrying
client the wrong thing: it is answered here as what it is, so the 503 page with
Retry-After follows (see `community.views.server_error`).
"""

from django.contrib.sessions.backends.base import UpdateError
from django.contrib.sessions.backends.db import SessionStore as DatabaseSessionStore
from django.db import InterfaceError, OperationalError


class SessionStore(DatabaseSessionStore):
    def save(self, must_create: bool = False) -> None:
        try:
            super().save(must_create=must_create)
        except UpdateError as exc:
            cause = exc.__context__
            if isinstance(cause, OperationalError | InterfaceError):
                raise cause from None
            raise
