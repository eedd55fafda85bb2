"""Reads of profiles and members."""

from django.db.models import Q, QuerySet

from community.roles import role_annotations
from customer_data.permissions import Visibility
from customer_data.selectors import with_customer_data
from profiles.models import Profile

DIRECTORY_ORDER = {
    "name": ("display_name", "user__username"),
    "-name": ("-display_name", "-user__username"),
    "rank": ("-rank__order", "display_name"),
    "-rank": ("rank__order", "display_name"),
    "joined": ("user__date_joined", "user_id"),
    "-joined": ("-user__date_joined", "-user_id"),
}


def _members() -> QuerySet[Profile]:
    return Profile.objects.select_related("user", "rank").filter(user__is_active=True)


def get_profile_for_page(*, username: str, level: Visibility) -> Profile | None:
    """The profile behind /members/<username>/ with its roles, and customer data as far as
    `level` allows, in one query."""
    qs = with_customer_data(_members(), level).annotate(**role_annotations("user_id"))
    return qs.filter(user__username=username).first()


def list_members(*, search: str = "", order: str = "name", level: Visibility) -> QuerySet[Profile]:
    """Active members for the directory. Nothing here reads customer data unless `level`
    lets the viewer see rings; search and order never touch it."""
    qs = with_customer_data(_members(), level)
    if search:
        qs = qs.filter(Q(display_name__icontains=search) | Q(user__username__icontains=search))
    return qs.order_by(*DIRECTORY_ORDER[order])
