"""The staff admin for customer data and the access log.

Every permission method asks `permissions`; `is_superuser` alone grants nothing here.
The changelist never reads an encrypted column; the change view shows the values read-only
and logs each view as a disclosure.
"""

from typing import Any

from django.contrib import admin
from django.db.models import Q, QuerySet
from django.http import HttpRequest, HttpResponse
from django.template.loader import render_to_string
from django.utils.safestring import SafeString
from django.utils.translation import gettext_lazy as _

from customer_data import crypto, permissions, selectors, services
from customer_data.models import ENCRYPTED_FIELDS, FIELD_LABELS, CustomerData, PersonalDataAccess
from customer_data.normalise import format_phone_number, normalise_customer_number


def _display(name: str, value: str) -> str:
    return format_phone_number(value) if name == "mobile_number" else value


class PolicyAdmin(admin.ModelAdmin):
    """Read-only admin whose access is decided by the policy module."""

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
    search_fields = ["user__username"]
    search_help_text = _("Exakte Kundennummer oder Benutzername")
    ordering = ["-updated_at"]
    show_full_result_count = False
    fields = readonly_fields = (
        "member",
        "consent_state",
        "fill",
        "updated_at",
        "consent_history",
        "access_history",
    )

    def get_queryset(self, request: HttpRequest) -> QuerySet[CustomerData]:
        # Nothing listed or searched here reads (or decrypts) an encrypted column;
        # the change view loads the values itself, through the policy.
        return (
            super().get_queryset(request).select_related("user__profile").defer(*ENCRYPTED_FIELDS)
        )

    def get_search_results(
        self, request: HttpRequest, queryset: QuerySet[CustomerData], search_term: str
    ) -> tuple[QuerySet[CustomerData], bool]:
        """Exact match only: the Kundennummer through its blind index, or the username."""
        term = search_term.strip()
        if not term:
            return queryset, False
        if "\x00" in term:
            return queryset.none(), False
        condition = Q(user__username__iexact=term)
        number = normalise_customer_number(term)
        if number.isascii() and number.isdigit():
            condition |= Q(customer_number_bidx=crypto.blind_index(number))
        return queryset.filter(condition), False

    def change_view(
        self,
        request: HttpRequest,
        object_id: str,
        form_url: str = "",
        extra_context: dict[str, Any] | None = None,
    ) -> HttpResponse:
        """Show the values as far as the policy allows, and log the disclosure."""
        values: dict[str, str] = {}
        subject_id = None
        if permissions.can_use_staff_tools(request.user) and object_id.isdigit():
            data = selectors.get_customer_data_by_pk(pk=int(object_id))
            if data is not None:
                subject_id = data.user_id
                values = permissions.shown_values(
                    permissions.visibility(request.user, subject_id), data
                )
        shown = [
            (FIELD_LABELS[name], _display(name, values[name]))
            for name in ENCRYPTED_FIELDS
            if name in values
        ]
        context = {**(extra_context or {}), "customer_values": shown}
        response = super().change_view(request, object_id, form_url, context)
        if (
            request.method == "GET"
            and response.status_code == 200
            and subject_id is not None
            and values
            and permissions.is_disclosure(request.user, subject_id)
        ):
            services.record_access(
                viewer=request.user,  # type: ignore[arg-type]
                subject_id=subject_id,
                channel=PersonalDataAccess.Channel.ADMIN,
                fields=values,
            )
        return response

    @admin.display(description=_("Mitglied"), ordering="user__username")
    def member(self, obj: CustomerData) -> str:
        return f"{obj.user.profile.display_name} ({obj.user.get_username()})"

    @admin.display(description=_("Ausgefüllt"), ordering="filled_count")
    def fill(self, obj: CustomerData) -> str:
        return f"{obj.fill_percentage} %"

    @admin.display(description=_("Einwilligung"))
    def consent_state(self, obj: CustomerData) -> str:
        if obj.consent_is_current:
            return str(_("erteilt (Version %(version)s)") % {"version": obj.consent_version})
        return str(_("keine gültige Einwilligung"))

    @admin.display(description=_("Einwilligungen"))
    def consent_history(self, obj: CustomerData) -> SafeString:
        records = selectors.list_consent_records(user_id=obj.user_id).select_related("by")
        return render_to_string("customer_data/admin/_consent_history.html", {"records": records})

    @admin.display(description=_("Zugriffe auf diese Kundendaten"))
    def access_history(self, obj: CustomerData) -> SafeString:
        accesses = selectors.list_accesses_to(subject_id=obj.user_id)[:50]
        return render_to_string("customer_data/admin/_access_history.html", {"accesses": accesses})


@admin.register(PersonalDataAccess)
class PersonalDataAccessAdmin(PolicyAdmin):
    """The whole access log, for Community Management; nobody adds, changes or deletes."""

    list_display = ["at", "viewer_name", "subject_name", "channel", "field_names"]
    list_filter = ["channel", "at"]
    list_select_related = ["viewer__profile", "subject__profile"]
    search_fields = ["viewer__username", "subject__username"]
    date_hierarchy = "at"
    show_full_result_count = False
    fields = readonly_fields = ("at", "viewer_name", "subject_name", "channel", "field_names")

    def has_module_permission(self, request: HttpRequest) -> bool:
        return permissions.can_browse_access_log(request.user)

    def has_view_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return permissions.can_browse_access_log(request.user)

    @admin.display(description=_("Betrachter"), ordering="viewer__username")
    def viewer_name(self, obj: PersonalDataAccess) -> str:
        return obj.viewer.get_username() if obj.viewer else str(_("gelöschtes Konto"))

    @admin.display(description=_("Mitglied"), ordering="subject__username")
    def subject_name(self, obj: PersonalDataAccess) -> str:
        return obj.subject.get_username()

    @admin.display(description=_("Felder"))
    def field_names(self, obj: PersonalDataAccess) -> str:
        return ", ".join(str(FIELD_LABELS.get(name, name)) for name in obj.fields)
