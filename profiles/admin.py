"""Profiles and accounts in the admin: public fields and rank only, never customer data."""

from typing import Any

from django.contrib import admin
from django.contrib.auth import get_user_model
from django.contrib.auth.admin import UserAdmin
from django.db.models import QuerySet
from django.http import HttpRequest

from community.paginators import BoundedCountPaginator
from profiles import services
from profiles.models import Profile

User = get_user_model()


class MemberAccountAdmin(UserAdmin):
    """Django's user admin (counting at most `BoundedCountPaginator.COUNT_LIMIT` rows);
    deleting goes through `services.delete_account`, and the confirmation page lists the
    accounts only.

    Django's page would list every object deleted with the account: "Kundendaten",
    "Zugriff auf Kundendaten" … would tell whoever deletes accounts (a superuser without a
    content role too) that a member has customer data at all. What goes with an account is
    the same for everyone and stated on the page instead.
    """

    paginator = BoundedCountPaginator
    show_full_result_count = False

    def get_deleted_objects(
        self, objs: Any, request: HttpRequest
    ) -> tuple[list[Any], dict[str, int], set[str], list[Any]]:
        _listed, _counts, _perms_needed, protected = super().get_deleted_objects(objs, request)
        accounts = [str(obj) for obj in objs]
        count = {str(User._meta.verbose_name_plural): len(accounts)}
        # Only deleting accounts needs a permission here; what goes with them is fixed.
        return accounts, count, set(), protected

    def delete_model(self, request: HttpRequest, obj: Any) -> None:
        services.delete_account(user=obj)

    def delete_queryset(self, request: HttpRequest, queryset: QuerySet) -> None:
        for user in queryset:
            services.delete_account(user=user)


admin.site.unregister(User)
admin.site.register(User, MemberAccountAdmin)


@admin.register(Profile)
class ProfileAdmin(admin.ModelAdmin):
    paginator = BoundedCountPaginator
    show_full_result_count = False
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
    # By name, read from the directory's index `profile_directory_order` (display_name, user):
    # the member's id (unique, named by its column: Django skips a relation's name) makes the
    # order total, so Django adds no "-pk" that the index cannot serve.
    # Filtered by rank, from `profile_rank_order` (rank, display_name, user).
    ordering = ["display_name", "user_id"]
