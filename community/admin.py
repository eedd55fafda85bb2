from django.contrib import admin

from community.models import Rank, RoleGroup


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
