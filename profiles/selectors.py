"""Reads of profiles and members."""

from django.db.models import QuerySet

from profiles.models import Profile


def get_profile_for_page(*, username: str) -> Profile | None:
    """The profile behind /members/<username>/, with what the page shows, in one query."""
    return (
        Profile.objects.select_related("user", "rank")
        .filter(user__username=username, user__is_active=True)
        .first()
    )


def list_members() -> QuerySet[Profile]:
    return Profile.objects.select_related("user", "rank").filter(user__is_active=True)


def get_own_profile(*, user_id: int) -> Profile:
    return Profile.objects.select_related("user", "rank").get(user_id=user_id)
