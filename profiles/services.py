"""Writes to profiles. Callers have checked access; forms have validated input."""

from typing import Any

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
