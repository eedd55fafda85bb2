"""Login limits on top of django-axes: per account and IP, and per IP across all accounts.

axes locks a username + IP pair after `AXES_FAILURE_LIMIT` failures. That alone lets one
address try a few passwords on every account the members directory lists, each cool-off.
So a second, higher limit counts the failures from one IP address over all usernames
(`COMMUNITY_LOGIN_IP_FAILURE_LIMIT` (env `AXES_IP_FAILURE_LIMIT`), higher because many members may share one NAT address).

axes compares every lockout parameter against the same single limit (it takes the largest
failure count of all parameter sets), so two different limits need a handler of its own:
`CommunityAxesHandler` is axes' database handler plus the network rule, and
`lockout_response` tells the member which of the two locks applies.
"""

import math
from typing import Any

from axes.attempts import get_cool_off_threshold
from axes.conf import settings as axes_settings  # Django's settings with axes' defaults
from axes.handlers.database import AxesDatabaseHandler
from axes.helpers import get_client_username, get_cool_off, get_failure_limit
from axes.models import AccessAttempt
from axes.signals import user_locked_out
from django.conf import settings
from django.core.exceptions import NON_FIELD_ERRORS
from django.db.models import Sum
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import ngettext

from community.forms import LoginForm

# Set on a request refused because its IP address reached COMMUNITY_LOGIN_IP_FAILURE_LIMIT (and not
# because of the per-account limit, whose page stays as it is).
NETWORK_LOCKED = "community_network_locked"


def network_failures(request: HttpRequest) -> int:
    """Failed logins from the request's IP address within the cool-off, over all usernames."""
    ip_address = getattr(request, "axes_ip_address", None)
    if not ip_address:
        return 0
    recent = AccessAttempt.objects.filter(
        ip_address=ip_address, attempt_time__gte=get_cool_off_threshold(request)
    )
    return recent.aggregate(total=Sum("failures_since_start"))["total"] or 0


def network_is_locked(request: HttpRequest) -> bool:
    """Whether the request's IP address reached `COMMUNITY_LOGIN_IP_FAILURE_LIMIT` (env `AXES_IP_FAILURE_LIMIT`) within the cool-off."""
    if not axes_settings.AXES_LOCK_OUT_AT_FAILURE:
        return False
    return network_failures(request) >= settings.COMMUNITY_LOGIN_IP_FAILURE_LIMIT


class CommunityAxesHandler(AxesDatabaseHandler):
    """axes' database handler with a second rule: too many failures from one IP address.

    The per-account rule (username + IP, `AXES_FAILURE_LIMIT`) is axes' own and unchanged.
    Whitelists and `AXES_ENABLED` apply to both rules, as axes checks them first.
    """

    def is_locked(self, request: Any, credentials: dict | None = None) -> bool:
        return super().is_locked(request, credentials) or network_is_locked(request)

    def user_login_failed(
        self, sender: Any, credentials: dict, request: Any = None, **kwargs: Any
    ) -> None:
        super().user_login_failed(sender, credentials, request, **kwargs)
        if request is None or request.axes_locked_out or self.is_whitelisted(request, credentials):
            return
        if network_is_locked(request):
            request.axes_locked_out = True
            request.axes_credentials = credentials
            setattr(request, NETWORK_LOCKED, True)
            user_locked_out.send(
                "axes",
                request=request,
                username=get_client_username(request, credentials),
                ip_address=request.axes_ip_address,
            )


def _cool_off_minutes(request: HttpRequest) -> int:
    cool_off = get_cool_off(request)
    return max(1, math.ceil(cool_off.total_seconds() / 60)) if cool_off else 1


def network_locked_message(minutes: int) -> str:
    return ngettext(
        "Aus deinem Netzwerk kamen zu viele fehlgeschlagene Anmeldeversuche. "
        "Bitte versuche es in %(minutes)d Minute erneut.",
        "Aus deinem Netzwerk kamen zu viele fehlgeschlagene Anmeldeversuche. "
        "Bitte versuche es in %(minutes)d Minuten erneut.",
        minutes,
    ) % {"minutes": minutes}


def lockout_response(
    request: HttpRequest,
    original_response: HttpResponse | None = None,
    credentials: dict | None = None,
) -> HttpResponse:
    """`AXES_LOCKOUT_CALLABLE`: the page a refused login attempt gets, status 429.

    A locked account (username + IP) gets axes' lockout page as before. A locked network
    gets the login page again with a message saying so and how long to wait (the whole
    cool-off: every refused attempt counts as a failure and starts it anew).
    """
    status = axes_settings.AXES_HTTP_RESPONSE_CODE
    if not getattr(request, NETWORK_LOCKED, False):
        context = {
            "failure_limit": get_failure_limit(request, credentials),
            "cooloff_timedelta": get_cool_off(request),
        }
        return render(request, axes_settings.AXES_LOCKOUT_TEMPLATE, context, status=status)

    minutes = _cool_off_minutes(request)
    form = LoginForm(request)
    form.errors[NON_FIELD_ERRORS] = form.error_class(
        [network_locked_message(minutes)], error_class="nonfield", renderer=form.renderer
    )
    next_url = request.POST.get("next", "")
    safe_next = url_has_allowed_host_and_scheme(
        next_url, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    )
    response = render(
        request,
        "registration/login.html",
        {"form": form, "next": next_url if safe_next else ""},
        status=status,
    )
    response["Retry-After"] = str(minutes * 60)
    return response
