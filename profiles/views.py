"""Member-facing pages: the "Meine Einstellungen" tabs, public profiles, the directory."""

import json
from typing import Any

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_not_required
from django.core.paginator import Paginator
from django.db import transaction
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.cache import patch_cache_control
from django.utils.http import urlencode
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache
from django.views.decorators.debug import sensitive_post_parameters, sensitive_variables
from django.views.decorators.http import require_GET, require_http_methods, require_POST
from django.views.i18n import set_language

from community.http import AuthenticatedHttpRequest
from community.roles import roles_from_annotations
from customer_data import (
    permissions,
    selectors as customer_selectors,
    services as customer_services,
)
from customer_data.forms import CustomerDataForm
from customer_data.models import ENCRYPTED_FIELDS, FIELD_COUNT, PersonalDataAccess
from customer_data.permissions import Visibility
from profiles import selectors, services
from profiles.forms import DirectoryForm, PageForm, PreferencesForm, PublicProfileForm
from profiles.models import Profile

DIRECTORY_PAGE_SIZE = 50
# The directory pages through at most this many pages (10,000 members); beyond, it asks for a
# search. Deeper offsets would make the database skip ever more rows, and counts stop here too.
DIRECTORY_MAX_PAGES = 200
ACCESS_LOG_PAGE_SIZE = 20
# Kept out of error reports (and anything else that prints the request).
CUSTOMER_DATA_POST_FIELDS = [f"customer-{name}" for name in ENCRYPTED_FIELDS]


def _settings_page(
    request: HttpRequest, tab: str, context: dict, *, template: str = ""
) -> HttpResponse:
    template = template or f"profiles/settings_{tab}.html"
    return render(request, template, {"tab": tab, **context})


@sensitive_post_parameters(*CUSTOMER_DATA_POST_FIELDS)
@never_cache
@require_http_methods(["GET", "POST"])
def settings_profile(request: AuthenticatedHttpRequest) -> HttpResponse:
    """The Profil tab: public fields and customer data, saved together by one "Speichern"."""
    user = request.user
    profile = user.profile
    stored = customer_selectors.get_customer_data(user_id=user.pk)
    data = request.POST if request.method == "POST" else None
    profile_form = PublicProfileForm(data, instance=profile, prefix="profile")
    customer_form = CustomerDataForm(data, instance=stored, prefix="customer", viewer=user)
    needs_confirmation = False
    if request.method == "POST" and profile_form.is_valid() and customer_form.is_valid():
        try:
            with transaction.atomic():
                services.update_public_profile(profile=profile, cleaned=profile_form.cleaned_data)
                customer_services.save_consent_and_values(
                    user_id=user.pk,
                    by=user,
                    consent=customer_form.cleaned_data["consent"],
                    cleaned=customer_form.cleaned_data,
                    # Decided under the row lock: erase only the state the member was warned of.
                    erasure_confirmation=request.POST.get("confirm_withdrawal", ""),
                )
        except customer_services.ErasureNeedsConfirmation:
            # Nothing was saved. Show the warning about what is stored now, and ask again.
            needs_confirmation = True
            stored = customer_selectors.get_customer_data(user_id=user.pk)
        else:
            if customer_form.withdraws:
                messages.success(request, _("Gespeichert. Deine Kundendaten wurden gelöscht."))
            else:
                messages.success(request, _("Deine Einstellungen wurden gespeichert."))
            return redirect("profiles:settings_profile")
    return _settings_page(
        request,
        "profile",
        {
            "profile_form": profile_form,
            "customer_form": customer_form,
            "stored": stored,
            "needs_confirmation": needs_confirmation,
            "info_is_stale": customer_selectors.further_info_is_stale(stored),
        },
    )


@login_not_required
@require_POST
def switch_language(request: HttpRequest) -> HttpResponse:
    """The header's language button: Django's `set_language` (cookie, back to `next`), and for
    a member the choice saved to the profile too, which the middleware applies to every page
    from then on; otherwise the saved language would overrule the button at once."""
    response = set_language(request)
    language = request.POST.get("language", "")
    if request.user.is_authenticated and language in dict(settings.LANGUAGES):
        services.save_language(profile=request.user.profile, language=language)
    return response


@never_cache
@require_http_methods(["GET", "POST"])
def settings_preferences(request: AuthenticatedHttpRequest) -> HttpResponse:
    profile = request.user.profile
    form = PreferencesForm(request.POST or None, instance=profile)
    if request.method == "POST" and form.is_valid():
        services.update_preferences(profile=profile, cleaned=form.cleaned_data)
        messages.success(request, _("Deine Einstellungen wurden gespeichert."))
        return redirect("profiles:settings_preferences")
    return _settings_page(request, "preferences", {"form": form})


@never_cache
@require_GET
def settings_privacy(request: AuthenticatedHttpRequest) -> HttpResponse:
    """Datenschutz: who saw my data, my consent history, my data rights, the policy."""
    user = request.user
    accesses = Paginator(
        selectors.list_access_log_for_member(user_id=user.pk), ACCESS_LOG_PAGE_SIZE
    )
    page = accesses.get_page(_page_number(request))
    return _settings_page(
        request,
        "privacy",
        {
            "stored": customer_selectors.get_fill_state(user_id=user.pk),
            "consent_records": customer_selectors.list_consent_records(user_id=user.pk),
            "accesses": page,
            "access_page": page,
            "policy": permissions.explain_policy(user),
            "logged_readers": permissions.readers(user, conjunction="oder"),
            "ring_rank": permissions.threshold_rank_name(user),
        },
    )


@sensitive_variables("payload")
@never_cache
@require_POST
def privacy_export(request: AuthenticatedHttpRequest) -> HttpResponse:
    """ "Meine Daten herunterladen": the member's own data as a JSON attachment."""
    payload = selectors.export_member_data(user=request.user)
    response = HttpResponse(
        json.dumps(payload, ensure_ascii=False, indent=2),
        content_type="application/json; charset=utf-8",
    )
    stamp = timezone.now().strftime("%Y%m%d")
    response["Content-Disposition"] = f'attachment; filename="meine-daten-{stamp}.json"'
    return response


@never_cache
@require_POST
def privacy_erase(request: AuthenticatedHttpRequest) -> HttpResponse:
    """ "Kundendaten jetzt löschen": a confirmation step, then erasure with a record."""
    if request.POST.get("confirm") != "yes":
        stored = customer_selectors.get_fill_state(user_id=request.user.pk)
        readers = permissions.reader_names(request.user)
        return _settings_page(
            request,
            "privacy",
            {
                "stored": stored,
                "readers": permissions.join_words(readers, "und"),
                "reader_count": len(readers),
            },
            template="profiles/settings_privacy_erase.html",
        )
    customer_services.erase_customer_data(user_id=request.user.pk, by=request.user)
    messages.success(
        request, _("Deine Kundendaten wurden gelöscht und deine Einwilligung widerrufen.")
    )
    return redirect("profiles:settings_privacy")


@never_cache
@require_GET
def privacy_preview(request: AuthenticatedHttpRequest) -> HttpResponse:
    """ "So sieht ein Mitgestalter mein Profil": my page exactly as the policy shows it to one."""
    level = permissions.preview_visibility()
    username = request.user.get_username()
    profile = selectors.get_profile_for_page(username=username, level=level)
    if profile is None:
        raise Http404
    return _profile_page(request, profile, level, preview=True)


def _page_number(request: HttpRequest) -> int:
    form = PageForm(request.GET)
    return form.cleaned_data["page"] if form.is_valid() and form.cleaned_data["page"] else 1


def _profile_page(
    request: HttpRequest, profile: Profile, level: Visibility, *, preview: bool = False
) -> HttpResponse:
    data = customer_selectors.customer_data_of(profile.user) if level.shows_ring else None
    # Preview shows the page as a ring viewer sees it: never values, so nothing to log.
    values = (
        {}
        if preview
        else customer_services.disclose(
            viewer=request.user, data=data, channel=PersonalDataAccess.Channel.PROFILE
        )
    )
    # The staff page of this member's data, for the roles that work there (a link by the
    # row's id, already loaded: no query, and nothing of the values in the URL).
    staff_page_url = (
        reverse("admin:customer_data_customerdata_change", args=[data.pk])
        if data is not None
        and not preview
        and permissions.can_open_staff_page(request.user, profile.user_id)
        else ""
    )
    response = render(
        request,
        "profiles/detail.html",
        {
            "profile": profile,
            "roles": roles_from_annotations(profile),
            "level": level,
            "data": data,
            "values": values,
            # The values by field group, each group with when it last changed.
            "value_groups": data.shown_groups(values) if data is not None else [],
            "staff_page_url": staff_page_url,
            "is_owner": permissions.is_owner(request.user, profile.user_id) and not preview,
            "preview": preview,
            # Policy prose for the owner's note and the preview's notice.
            "readers": permissions.readers(request.user) if data is not None else "",
            "ring_rank": permissions.threshold_rank_name(request.user) if preview else "",
            # A ring viewer may help a member complete their data: the ring says how much is
            # missing, never which field.
            "offers_help": level is Visibility.RING_ONLY
            and (data is None or data.counted_fields < FIELD_COUNT),
        },
    )
    if values:
        # A page with customer data is for this viewer's eyes only, and only now.
        patch_cache_control(response, no_store=True, private=True)
    return response


@login_not_required
@require_GET
def member_detail(request: HttpRequest, username: str) -> HttpResponse:
    """A member's public profile; customer data only as far as the policy allows."""
    viewer = request.user
    profile = selectors.get_profile_for_page(
        username=username, level=permissions.visibility_of_member(viewer, username)
    )
    if profile is None:
        raise Http404
    return _profile_page(request, profile, permissions.visibility(viewer, profile.user_id))


@login_not_required
@require_GET
def help_customer_data(request: HttpRequest) -> HttpResponse:
    """How to store customer data, and who sees it: the page the ring's help hint links to,
    which a Mitgestalter can pass on to the member they help."""
    return render(
        request,
        "profiles/help_customer_data.html",
        {"policy": permissions.explain_policy(request.user)},
    )


@login_not_required
@require_GET
def directory(request: HttpRequest) -> HttpResponse:
    """Members, searchable and sortable; rings only for viewers who may see them."""
    fill_filter = permissions.can_filter_by_fill(request.user)
    form = DirectoryForm(request.GET, fill_filter=fill_filter)
    query: dict[str, Any] = form.cleaned_data if form.is_valid() else DirectoryForm.DEFAULTS
    level = permissions.list_visibility(request.user)
    members = selectors.list_members(
        search=query["q"], order=query["sort"], fill=query["fill"], level=level
    )
    # Counted without the page's joins (cheaper), and only as far as the pages go.
    listed = DIRECTORY_PAGE_SIZE * DIRECTORY_MAX_PAGES
    shown_up_to = DIRECTORY_PAGE_SIZE * min(query["page"], DIRECTORY_MAX_PAGES)
    found = members.count_bounded(up_to=listed, through=shown_up_to)
    # The paginator only slices the list: its count is the bounded one above.
    paginator: Paginator[dict[str, Any]] = Paginator(members, DIRECTORY_PAGE_SIZE)  # type: ignore[arg-type]
    paginator.count = min(found, listed)
    page = paginator.get_page(query["page"])
    rows = selectors.directory_rows(page, level)
    return render(
        request,
        "profiles/directory.html",
        {
            "page": page,
            "rows": rows,
            "level": level,
            "query": query,
            # The search form shows what the page shows: the parameters as understood.
            "form": DirectoryForm(initial=query, auto_id="directory-%s", fill_filter=fill_filter),
            "page_query": urlencode(
                {"q": query["q"], "sort": query["sort"]}
                | ({"fill": query["fill"]} if query["fill"] else {})
            ),
            # One reverse() for the page instead of one per row: 36 µs each here, 1.8 ms a page.
            "members_url": reverse("profiles:directory"),
            "invalid_query": form.is_bound and not form.is_valid(),
            "fill_filter": fill_filter,
            # More members match than the pages show: the page says so ("mehr als … Treffer"
            # for a search or filter), and asks for a search, or a narrower one.
            "more_than": listed if found > listed else 0,
            "searched": bool(query["q"] or query["fill"]),
        },
    )
