from django.contrib import admin
from django.utils.translation import gettext_lazy as _

from community.models import Rank, RoleGroup

# The admin is the staff's customer-service tool, so it is titled for them, not for Django.
admin.site.site_header = _("Telekom hilft – Kundenservice")
admin.site.site_title = _("Telekom hilft – Kundenservice")
admin.site.index_title = _("Übersicht")


@admin.register(Rank)
class RankAdmin(admin.ModelAdmin):
    list_display = ["name", "code", "order"]
    list_editable = ["order"]
    list_display_links = ["name"]
    ordering = ["order"]


@admin.register(RoleGroup)
class RoleGroupAdmin(admin.ModelAdmin):
    list_display = ["code", "group"]
    readonly_fields = ["code"]

    def has_add_permission(self, request) -> bool:  # type: ignore[no-untyped-def]
        # The roles are fixed by code; their groups are created by a migration.
        return False
