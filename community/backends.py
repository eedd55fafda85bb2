"""Authentication backend that loads the request user with everything a page asks of it."""

from typing import Any

from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.auth.backends import ModelBackend
from django.db.models import QuerySet

from community.prepared import PreparedLookup
from community.roles import annotate_viewer


def viewer_queryset() -> QuerySet:
    """Users with profile, rank, role flags and rank threshold in one query."""
    return annotate_viewer(get_user_model()._default_manager.select_related("profile__rank"))


# The SQL depends on the threshold rank's code, a setting.
VIEWER = PreparedLookup(
    get_user_model(), viewer_queryset, depends_on=lambda: settings.COMMUNITY_RING_MIN_RANK
)


class CommunityBackend(ModelBackend):
    """ModelBackend whose `get_user` reads the viewer once per request, fully loaded, with SQL
    compiled once per connection (`community.prepared`).

    Nothing but SQL is kept across requests, so a rank or role change counts from the next one.
    """

    def get_user(self, user_id: Any) -> Any:
        try:
            user: Any = VIEWER.get(int(user_id))
        except (ValueError, TypeError, OverflowError):
            return None
        return user if user is not None and self.user_can_authenticate(user) else None
