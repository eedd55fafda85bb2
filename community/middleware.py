"""Session lifetime (a sliding idle timeout that writes rarely, and an absolute timeout), and
the Permissions-Policy header."""

import time
from collections.abc import Callable

from django.conf import settings
from django.contrib.auth import logout
from django.contrib.auth.signals import user_logged_in
from django.dispatch import receiver
from django.http import HttpRequest, HttpResponse

LOGIN_TIME_KEY = "_community_login_at"
REFRESH_TIME_KEY = "_community_refreshed_at"


@receiver(user_logged_in)
def _stamp_login_time(sender: object, request: HttpRequest | None, **kwargs: object) -> None:
    if request is not None and hasattr(request, "session"):
        now = int(time.time())
        request.session[LOGIN_TIME_KEY] = now
        request.session[REFRESH_TIME_KEY] = now


class SessionLifetimeMiddleware:
    """Enforce both session timeouts for signed-in members.

    Idle: the session expires `SESSION_COOKIE_AGE` seconds after it was last saved. Instead
    of saving on every request (a database write per page view), the session is saved when
    the last save is more than `COMMUNITY_SESSION_REFRESH_INTERVAL` seconds old, so the idle timeout
    slides in steps of that interval.

    Absolute: a session ends `COMMUNITY_SESSION_ABSOLUTE_TIMEOUT` seconds after login, however active;
    otherwise an active (or stolen) session could live forever.

    Views marked `no_session` (such as /healthz) never touch the session.
    """

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        return self.get_response(request)

    def process_view(self, request: HttpRequest, view_func: Callable, *args: object) -> None:
        if getattr(view_func, "no_session", False):
            return
        session = request.session
        started = session.get(LOGIN_TIME_KEY)
        if started is None:
            return
        now = int(time.time())
        if now - started > settings.COMMUNITY_SESSION_ABSOLUTE_TIMEOUT:
            logout(request)
        elif now - session.get(REFRESH_TIME_KEY, 0) >= settings.COMMUNITY_SESSION_REFRESH_INTERVAL:
            session[REFRESH_TIME_KEY] = now


def permissions_policy_header(policy: dict[str, list[str]]) -> str:
    """`{"camera": [], "fullscreen": ["self"]}` -> `camera=(), fullscreen=(self)`."""
    return ", ".join(f"{feature}=({' '.join(allow)})" for feature, allow in policy.items())


class PermissionsPolicyMiddleware:
    """Send `Permissions-Policy` (from `COMMUNITY_PERMISSIONS_POLICY`) on every response.

    Listed first in MIDDLEWARE, so that error pages, redirects and static files get it too.
    A header a view set itself is left alone.
    """

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response
        self.header = permissions_policy_header(settings.COMMUNITY_PERMISSIONS_POLICY)

    def __call__(self, request: HttpRequest) -> HttpResponse:
        response = self.get_response(request)
        if self.header:
            response.headers.setdefault("Permissions-Policy", self.header)
        return response
