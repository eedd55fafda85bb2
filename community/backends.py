"""Authentication backend that loads the request user with everything a page asks of it."""

import functools
from typing import Any

from django.contrib.auth import get_user_model
from django.contrib.auth.backends import ModelBackend
from django.core.exceptions import ObjectDoesNotExist
from django.core.signals import setting_changed
from django.db.models import QuerySet
from django.dispatch import receiver

from community.roles import annotate_viewer


@functools.cache
def _viewer_base() -> QuerySet:
    # Built once per process: assembling the annotations costs more than running them.
    return annotate_viewer(get_user_model()._default_manager.select_related("profile__rank"))


@receiver(setting_changed)
def _forget_viewer_base(*, setting: str, **kwargs: Any) -> None:
    if setting in {"COMMUNITY_RING_MIN_RANK", "AUTH_USER_MODEL"}:
        _viewer_base.cache_clear()


def viewer_queryset() -> QuerySet:
    """Users with profile, rank, role flags and rank threshold in one query."""
    return _viewer_base().all()


class CommunityBackend(ModelBackend):
    """ModelBackend whose `get_user` reads the viewer once per request, fully loaded.

    Nothing is cached across requests, so a rank or role change counts from the next one.
    """

    def get_user(self, user_id: Any) -> Any:
        try:
            user = _viewer_base().get(pk=user_id)
        except (ObjectDoesNotExist, ValueError, TypeError):
            return None
        return user if self.user_can_authenticate(user) else None
