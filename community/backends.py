"""Authentication backend that loads the request user with everything a page asks of it."""

from typing import Any

from django.contrib.auth import get_user_model
from django.contrib.auth.backends import ModelBackend
from django.core.exceptions import ObjectDoesNotExist
from django.db.models import QuerySet

from community.roles import annotate_viewer


def viewer_queryset() -> QuerySet:
    """Users with profile, rank, role flags and rank threshold in one query."""
    return annotate_viewer(get_user_model()._default_manager.select_related("profile__rank"))


class CommunityBackend(ModelBackend):
    """ModelBackend whose `get_user` reads the viewer once per request, fully loaded.

    Nothing is cached across requests, so a rank or role change counts from the next one.
    """

    def get_user(self, user_id: Any) -> Any:
        try:
            user = viewer_queryset().get(pk=user_id)
        except (ObjectDoesNotExist, ValueError, TypeError):
            return None
        return user if self.user_can_authenticate(user) else None
