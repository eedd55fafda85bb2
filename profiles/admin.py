"""Profiles in the admin: public fields and rank only, never customer data."""

from django.contrib import admin

from profiles.models import Profile


@admin.register(Profile)
class ProfileAdmin(admin.ModelAdmin):
    list_display = ["display_name", "user", "rank", "show_rank"]
    list_filter = ["rank"]
    list_select_related = ["user", "rank"]
    search_fields = ["display_name", "user__username"]
    fields = [
        "user",
        "display_name",
        "about",
        "location",
        "rank",
        "language",
        "time_zone",
        "show_rank",
    ]
    readonly_fields = ["user"]
    ordering = ["display_name"]
