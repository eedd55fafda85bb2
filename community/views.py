"""The site shell: home page and liveness probe."""

from django.contrib.auth.decorators import login_not_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET

from community.decorators import no_session


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
