"""The site shell: home page, liveness and readiness probes, the server-error pages."""

import sys

from django.contrib.auth.decorators import login_not_required
from django.db import InterfaceError, OperationalError
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import render
from django.template import loader
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET

from community import health
from community.decorators import no_session

# Seconds a member is asked to wait when the database is away (restarts take about that).
RETRY_AFTER = 30


@login_not_required
@require_GET
def home(request: HttpRequest) -> HttpResponse:
    return render(request, "community/home.html")


@no_session
@never_cache
@require_GET
def healthz(request: HttpRequest) -> HttpResponse:
    """Liveness: the process answers. No session, no template, no database work."""
    return HttpResponse(b"ok", content_type="text/plain")


@no_session
@never_cache
@require_GET
def readyz(request: HttpRequest) -> JsonResponse:
    """Readiness: 200 when the database, Redis (if configured) and the keys are usable,
    else 503; the JSON names each part's state. No session, no template."""
    ready, checks = health.readiness()
    return JsonResponse(
        {"status": "ok" if ready else "unavailable", "checks": checks}, status=200 if ready else 503
    )


def server_error(request: HttpRequest) -> HttpResponse:
    """`handler500`: the branded page, rendered without the request's context (which would
    read the session and the user). A lost or timed-out database answers 503 with
    Retry-After: the member should try again shortly, and a load balancer may retry."""
    exc = sys.exc_info()[1]
    database_away = isinstance(exc, OperationalError | InterfaceError)
    template = "errors/503.html" if database_away else "errors/500.html"
    response = HttpResponse(
        loader.get_template(template).render({"retry_after": RETRY_AFTER}),
        status=503 if database_away else 500,
    )
    if database_away:
        response["Retry-After"] = str(RETRY_AFTER)
    response["Cache-Control"] = "no-store"
    return response
