"""Apply a member's language and time zone preferences to every request."""

import zoneinfo
from collections.abc import Callable

from django.http import HttpRequest, HttpResponse
from django.utils import timezone, translation


class MemberPreferencesMiddleware:
    """Activate the signed-in member's interface language and time zone.

    The preference is read from the profile loaded with the user, so a change on the
    Einstellungen tab applies from the next request on, without any extra query.
    """

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        response = self.get_response(request)
        timezone.deactivate()
        return response

    def process_view(self, request: HttpRequest, view_func: Callable, *args: object) -> None:
        if getattr(view_func, "no_session", False) or not request.user.is_authenticated:
            return
        profile = getattr(request.user, "profile", None)
        if profile is None:
            return
        translation.activate(profile.language)
        request.LANGUAGE_CODE = profile.language
        timezone.activate(zoneinfo.ZoneInfo(profile.time_zone))
