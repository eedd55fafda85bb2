"""Member-facing pages: the "Meine Einstellungen" tabs, public profiles, the directory."""

from django.contrib import messages
from django.contrib.auth.decorators import login_not_required
from django.core.paginator import Paginator
from django.db import transaction
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET, require_http_methods

from community.http import AuthenticatedHttpRequest
from profiles import selectors, services
from profiles.forms import PreferencesForm, PublicProfileForm


def _settings_page(request: HttpRequest, tab: str, context: dict) -> HttpResponse:
    return render(request, f"profiles/settings_{tab}.html", {"tab": tab, **context})


@never_cache
@require_http_methods(["GET", "POST"])
def settings_profile(request: AuthenticatedHttpRequest) -> HttpResponse:
    profile = request.user.profile
    form = PublicProfileForm(request.POST or None, instance=profile, prefix="profile")
    if request.method == "POST" and form.is_valid():
        with transaction.atomic():
            services.update_public_profile(profile=profile, cleaned=form.cleaned_data)
        messages.success(request, _("Ihre Einstellungen wurden gespeichert."))
        return redirect("profiles:settings_profile")
    return _settings_page(request, "profile", {"form": form})


@never_cache
@require_http_methods(["GET", "POST"])
def settings_preferences(request: AuthenticatedHttpRequest) -> HttpResponse:
    profile = request.user.profile
    form = PreferencesForm(request.POST or None, instance=profile)
    if request.method == "POST" and form.is_valid():
        services.update_preferences(profile=profile, cleaned=form.cleaned_data)
        messages.success(request, _("Ihre Einstellungen wurden gespeichert."))
        return redirect("profiles:settings_preferences")
    return _settings_page(request, "preferences", {"form": form})


@never_cache
@require_GET
def settings_privacy(request: AuthenticatedHttpRequest) -> HttpResponse:
    return _settings_page(request, "privacy", {})


@login_not_required
@require_GET
def member_detail(request: HttpRequest, username: str) -> HttpResponse:
    profile = selectors.get_profile_for_page(username=username)
    if profile is None:
        raise Http404
    return render(request, "profiles/detail.html", {"profile": profile})


@login_not_required
@require_GET
def directory(request: HttpRequest) -> HttpResponse:
    page = Paginator(selectors.list_members().order_by("display_name"), 50).get_page(
        request.GET.get("page")
    )
    return render(request, "profiles/directory.html", {"page": page})
