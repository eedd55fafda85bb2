"""The staff admin for customer data and the access log.

Every permission method asks `permissions`; `is_superuser` alone grants nothing here.
The changelist never reads an encrypted column; the change view shows the values read-only
and logs each view as a disclosure.
"""

from typing import Any

from django import forms
from django.contrib import admin
from django.core.exceptions import PermissionDenied, ValidationError
from django.db.models import FETCH_RAISE, QuerySet
from django.http import HttpRequest, HttpResponse, HttpResponseNotAllowed
from django.template.loader import render_to_string
from django.template.response import TemplateResponse
from django.urls import URLPattern, path, reverse
from django.utils.cache import patch_cache_control
from django.utils.decorators import method_decorator
from django.utils.safestring import SafeString
from django.utils.translation import gettext_lazy as _
from django.views.decorators.debug import sensitive_post_parameters
from django.views.decorators.http import require_POST

from community.models import StructureChange
from community.paginators import BoundedCountPaginator
from community.roles import roles_from_annotations
from customer_data import permissions, selectors, services
from customer_data.models import (
    ENCRYPTED_FIELDS,
    FIELD_LABELS,
    CustomerData,
    PersonalDataAccess,
    ShownGroup,
)
from customer_data.selectors import MatchKind


class MemberSearchForm(forms.Form):
    """The staff search box: an exact customer number or phone number, or part of a name
    (what each term is searched as: `selectors.member_search`)."""

    q = forms.CharField(
        label=_("Kundennummer, Handynummer oder Name"),
        max_length=150,
        strip=True,
        widget=forms.TextInput(attrs={"autocomplete": "off", "autofocus": True}),
    )

    # What the result page says about each member found, and what the term was searched as.
    MATCHES = {
        MatchKind.CUSTOMER_NUMBER: _("Treffer über die Kundennummer"),
        MatchKind.MOBILE_NUMBER: _("Treffer über die Handynummer"),
        MatchKind.NAME: _("Treffer über den Namen"),
    }
    SEARCHED_AS = {
        MatchKind.CUSTOMER_NUMBER: _("Kundennummer"),
        MatchKind.MOBILE_NUMBER: _("Handynummer"),
        MatchKind.NAME: _("Name oder Benutzername"),
    }

    def clean_q(self) -> str:
        term: str = self.cleaned_data["q"]
        if "\x00" in term:
            raise forms.ValidationError(
                _("Bitte gib eine Kundennummer, eine Handynummer oder einen Namen ein.")
            )
        return term


class PolicyAdmin(admin.ModelAdmin):
    """Read-only admin whose access is decided by the policy module."""

    paginator = BoundedCountPaginator

    def has_module_permission(self, request: HttpRequest) -> bool:
        return permissions.can_use_staff_tools(request.user)

    def has_view_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return permissions.can_use_staff_tools(request.user)

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


@admin.register(CustomerData)
class CustomerDataAdmin(PolicyAdmin):
    list_display = ["member", "consent", "fill", "updated_at"]
    list_filter = ["consent"]
    list_select_related = ["user__profile"]
    # Shows the search box; the search itself is `get_search_results` (blind index, username).
    # The search box (templates/admin/customer_data/customerdata/change_list.html) posts to
    # `search_view`; `?q=` in a URL searches usernames only (`get_search_results`).
    search_fields = ["user__username"]
    search_help_text = _("Exakte Kundennummer oder Handynummer, oder ein Teil des Namens")
    # Newest first, read backwards from the index `customerdata_updated` (updated_at, user):
    # the member's id (unique, named by its column: Django skips a relation's name) makes the
    # order total, so Django adds no "-pk" that the index cannot serve.
    ordering = ["-updated_at", "-user_id"]
    show_full_result_count = False
    # The change page shows who the member is, the consent and the values first
    # (change_form.html); these two follow them, as the admin renders readonly fields.
    fields = readonly_fields = ("consent_history", "access_history")

    class Media:
        css = {"all": ["css/admin.css"]}

    def get_queryset(self, request: HttpRequest) -> QuerySet[CustomerData]:
        # Nothing listed or searched here reads (or decrypts) an encrypted column;
        # the change view loads the values itself, through the policy (`services.disclose`,
        # which logs the view). FETCH_RAISE makes a slip loud: touching a deferred value (or
        # a relation not joined) on these rows raises `FieldFetchBlocked` instead of running
        # a query that would decrypt the value past the access log.
        return (
            super()
            .get_queryset(request)
            .select_related("user__profile")
            .defer(*ENCRYPTED_FIELDS)
            .fetch_mode(FETCH_RAISE)
        )

    def get_object(
        self, request: HttpRequest, object_id: str, from_field: str | None = None
    ) -> CustomerData | None:
        """The row behind the change and history pages, with the member's profile, rank and
        roles for the page's first section, in one query; still no encrypted column."""
        if from_field is not None:  # (a popup's `_to_field`: not offered on this admin)
            return super().get_object(request, object_id, from_field)
        queryset = selectors.with_member_details(self.get_queryset(request))
        try:
            return queryset.get(pk=self.opts.pk.to_python(object_id))
        except (CustomerData.DoesNotExist, ValidationError, ValueError):
            return None

    def get_urls(self) -> list[URLPattern]:
        search = path(
            "search/",
            self.admin_site.admin_view(self.search_view),
            name="customer_data_customerdata_search",
        )
        return [search, *super().get_urls()]

    def get_search_results(
        self, request: HttpRequest, queryset: QuerySet[CustomerData], search_term: str
    ) -> tuple[QuerySet[CustomerData], bool]:
        """A search in the URL (`?q=`) finds by username only: a customer number never
        travels in a URL, so it is searched by POST (`search_view`)."""
        term = search_term.strip()
        if not term or "\x00" in term:
            return queryset, False
        return queryset.filter(user__username__iexact=term), False

    @method_decorator(sensitive_post_parameters("q"))
    @method_decorator(require_POST)
    def search_view(self, request: HttpRequest) -> HttpResponse:
        """Find members by exact customer number or phone number (blind indexes) or by part
        of their name, from a POST; each member found by a number is logged
        (`services.search_members`).

        The result page is rendered in answer to the POST, not redirected to: the number
        stays out of every URL, browser history, access log and `_changelist_filters`.
        """
        if not self.has_view_permission(request):
            raise PermissionDenied
        form = MemberSearchForm(request.POST)
        searched_as: list[MatchKind] = []
        hits: list[selectors.SearchHit] = []
        if form.is_valid():
            search, hits = services.search_members(viewer=request.user, term=form.cleaned_data["q"])
            searched_as = search.kinds
        context = {
            **self.admin_site.each_context(request),
            "opts": self.opts,
            "title": _("Kundendaten suchen"),
            "form": MemberSearchForm(),
            "searched": form.is_valid(),
            "searched_as": [MemberSearchForm.SEARCHED_AS[kind] for kind in searched_as],
            "by_number": MatchKind.NAME not in searched_as,
            "results": [
                (
                    hit.data,
                    reverse("admin:customer_data_customerdata_change", args=[hit.data.pk]),
                    [MemberSearchForm.MATCHES[kind] for kind in hit.matched_by],
                )
                for hit in hits
            ],
        }
        response = TemplateResponse(
            request, "admin/customer_data/customerdata/search_results.html", context
        )
        patch_cache_control(response, no_store=True, private=True)
        return response

    def change_view(
        self,
        request: HttpRequest,
        object_id: str,
        form_url: str = "",
        extra_context: dict[str, Any] | None = None,
    ) -> HttpResponse:
        """The member's page with the values the policy allows, each view logged.

        Answers GET, HEAD and POST only (Django's admin would render the page for OPTIONS
        or TRACE too). Values are computed, and the view logged in the same step
        (`services.disclose`), for GET alone: HEAD gets the page without them, POST is
        refused by the read-only admin.
        """
        if request.method not in ("GET", "HEAD", "POST"):
            return HttpResponseNotAllowed(["GET", "HEAD", "POST"])
        groups: list[ShownGroup] = []
        if (
            request.method == "GET"
            and object_id.isdigit()
            and permissions.can_use_staff_tools(request.user)
        ):
            data = selectors.get_customer_data_by_pk(pk=int(object_id))
            values = services.disclose(
                viewer=request.user, data=data, channel=PersonalDataAccess.Channel.ADMIN
            )
            # The dates come from the row the values were read from.
            groups = data.shown_groups(values) if data is not None else []
        context = {**(extra_context or {}), "customer_groups": groups}
        response = super().change_view(request, object_id, form_url, context)
        patch_cache_control(response, no_store=True, private=True)
        return response

    def render_change_form(
        self,
        request: HttpRequest,
        context: dict[str, Any],
        add: bool = False,
        change: bool = False,
        form_url: str = "",
        obj: CustomerData | None = None,
    ) -> HttpResponse:
        """Names the page after the member ("Kundendaten von Mia Mitglied (member)") instead
        of Django's "Kundendaten ansehen" above it, and adds the member's roles."""
        if obj is not None:
            context.update(title=str(obj), subtitle=None, member_roles=roles_from_annotations(obj))
        return super().render_change_form(request, context, add, change, form_url, obj)

    @admin.display(description=_("Mitglied"), ordering="user__username")
    def member(self, obj: CustomerData) -> str:
        return f"{obj.user.profile.display_name} ({obj.user.get_username()})"

    @admin.display(description=_("Ausgefüllt"), ordering="filled_count")
    def fill(self, obj: CustomerData) -> str:
        return f"{obj.fill_percentage} %"

    @admin.display(description=_("Einwilligungen"))
    def consent_history(self, obj: CustomerData) -> SafeString:
        records = selectors.list_consent_records(user_id=obj.user_id).select_related("by")
        return render_to_string("customer_data/_consent_history.html", {"records": records})

    @admin.display(description=_("Zugriffe auf diese Kundendaten"))
    def access_history(self, obj: CustomerData) -> SafeString:
        accesses = selectors.list_accesses_to(subject_id=obj.user_id)[:50]
        return render_to_string("customer_data/admin/_access_history.html", {"accesses": accesses})


class CommunityManagementAdmin(PolicyAdmin):
    """Read-only admin for the logs that Community Management alone browses."""

    def has_module_permission(self, request: HttpRequest) -> bool:
        return permissions.can_browse_access_log(request.user)

    def has_view_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return permissions.can_browse_access_log(request.user)


@admin.register(PersonalDataAccess)
class PersonalDataAccessAdmin(CommunityManagementAdmin):
    """The whole access log, for Community Management; nobody adds, changes or deletes."""

    list_display = [
        "at",
        "viewer_label",
        "viewer_roles_label",
        "subject_name",
        "channel",
        "field_names",
    ]
    # The channels and the date ranges are fixed choices: no query lists them. (A date
    # hierarchy would: it reads the distinct days of the whole log to offer them.)
    list_filter = ["channel", "at"]
    list_select_related = ["subject"]
    search_fields = ["viewer_name", "viewer__username", "subject__username"]
    # Newest first, read backwards from the index `access_log_order` (at, id).
    ordering = ["-at", "-pk"]
    show_full_result_count = False
    fields = readonly_fields = (
        "at",
        "viewer_label",
        "viewer_roles_label",
        "subject_name",
        "channel",
        "field_names",
    )

    @admin.display(description=_("Betrachter"), ordering="viewer_name")
    def viewer_label(self, obj: PersonalDataAccess) -> str:
        """As the viewer was named when they looked; a deleted account says so."""
        name = obj.viewer_name or str(_("unbekannt"))
        return name if obj.viewer_id else f"{name} ({_('gelöschtes Konto')})"

    @admin.display(description=_("Rollen damals"))
    def viewer_roles_label(self, obj: PersonalDataAccess) -> str:
        return ", ".join(obj.viewer_role_labels) or "–"

    @admin.display(description=_("Mitglied"), ordering="subject__username")
    def subject_name(self, obj: PersonalDataAccess) -> str:
        return obj.subject.get_username()

    @admin.display(description=_("Felder"))
    def field_names(self, obj: PersonalDataAccess) -> str:
        return ", ".join(str(FIELD_LABELS.get(name, name)) for name in obj.fields)


@admin.register(StructureChange)
class StructureChangeAdmin(CommunityManagementAdmin):
    """Who granted or took away a staff role, re-pointed a role's group or changed the rank
    ladder: for Community Management, read-only like the access log."""

    list_display = ["at", "kind", "actor_label", "member_label", "role", "detail"]
    # Fixed choices, as on the access log (no date hierarchy, which reads every date).
    list_filter = ["kind", "role", "at"]
    search_fields = ["actor_name", "member_name"]
    # Newest first, read backwards from the index `role_log_order` (at, id).
    ordering = ["-at", "-pk"]
    show_full_result_count = False
    fields = readonly_fields = ("at", "kind", "actor_label", "member_label", "role", "detail")

    @admin.display(description=_("durch"), ordering="actor_name")
    def actor_label(self, obj: StructureChange) -> str:
        return obj.actor_name or str(_("System"))

    @admin.display(description=_("Mitglied"), ordering="member_name")
    def member_label(self, obj: StructureChange) -> str:
        return obj.member_name or "–"
