"""Session hardening beyond Django's idle timeout."""

import time
from collections.abc import Callable

from django.conf import settings
from django.contrib.auth import logout
from django.contrib.auth.signals import user_logged_in
from django.dispatch import receiver
from django.http import HttpRequest, HttpResponse

LOGIN_TIME_KEY = "_community_login_at"


@receiver(user_logged_in)
def _stamp_login_time(sender: object, request: HttpRequest | None, **kwargs: object) -> None:
    if request is not None and hasattr(request, "session"):
        request.session[LOGIN_TIME_KEY] = int(time.time())


class AbsoluteSessionTimeoutMiddleware:
    """Log a member out once `SESSION_ABSOLUTE_TIMEOUT` seconds have passed since login.

    The idle timeout alone would let an active (or stolen) session live forever.
    Requests that never touch the session (such as /healthz) are left alone.
    """

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        return self.get_response(request)

    def process_view(self, request: HttpRequest, view_func: Callable, *args: object) -> None:
        if getattr(view_func, "no_session", False):
            return
        started = request.session.get(LOGIN_TIME_KEY)
        if started is not None and time.time() - started > settings.SESSION_ABSOLUTE_TIMEOUT:
            logout(request)
