"""Writes to profiles. Callers have checked access; forms have validated input."""

from typing import Any

from django.contrib.auth.models import AbstractBaseUser
from django.db import transaction

from customer_data import services as customer_services
from profiles.models import Profile


def update_public_profile(*, profile: Profile, cleaned: dict[str, Any]) -> Profile:
    """Store the public profile fields (display name, about, location)."""
    for field in ("display_name", "about", "location"):
        setattr(profile, field, cleaned[field])
    profile.save(update_fields=["display_name", "about", "location"])
    return profile


def update_preferences(*, profile: Profile, cleaned: dict[str, Any]) -> Profile:
    """Store language, time zone and rank visibility; they apply from the next request."""
    for field in ("language", "time_zone", "show_rank"):
        setattr(profile, field, cleaned[field])
    profile.save(update_fields=["language", "time_zone", "show_rank"])
    return profile


def save_language(*, profile: Profile, language: str) -> Profile:
    """Store the interface language chosen in the header; it applies from the next request."""
    if profile.language != language:
        profile.language = language
        profile.save(update_fields=["language"])
    return profile


@transaction.atomic
def delete_account(*, user: AbstractBaseUser) -> None:
    """Delete a member's account with everything about them: profile, customer data, consent
    records and the access-log rows about them (rows where they were the viewer stay, naming
    them as they were). The customer data is erased first, so nothing of it outlives the
    account even in a database that kept deleted rows around for a moment."""
    customer_services.delete_member_records(user_id=user.pk)
    user.delete()
