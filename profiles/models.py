"""A member's public profile and personal preferences."""

import hashlib
import zoneinfo

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import models
from django.urls import reverse
from django.utils.translation import gettext_lazy as _

from community.models import Rank

AVATAR_COLOURS = 8


def initials_of(display_name: str) -> str:
    """Up to two letters for the generated avatar."""
    words = [w for w in display_name.replace("-", " ").split() if w[:1].isalnum()]
    letters = "".join(w[0] for w in words[:2]) or display_name[:1] or "?"
    return letters.upper()


def avatar_colour_of(user_id: int) -> int:
    """A stable colour slot (CSS class `avatar-cN`), chosen from the user id."""
    return hashlib.blake2s(str(user_id).encode(), digest_size=1).digest()[0] % AVATAR_COLOURS


def validate_time_zone(value: str) -> None:
    if value not in zoneinfo.available_timezones():
        raise ValidationError(_("Unbekannte Zeitzone."), code="invalid")


class Profile(models.Model):
    user = models.OneToOneField(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="profile"
    )
    display_name = models.CharField(_("Anzeigename"), max_length=60)
    about = models.TextField(_("Über mich"), max_length=2000, blank=True)
    location = models.CharField(_("Wohnort"), max_length=80, blank=True)
    rank = models.ForeignKey(
        Rank,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="profiles",
        verbose_name=_("Rang"),
        # `profile_rank_order` starts with the rank: a second index on it alone is not needed.
        db_index=False,
    )
    language = models.CharField(
        _("Sprache der Oberfläche"),
        max_length=8,
        choices=settings.LANGUAGES,
        default=settings.LANGUAGE_CODE,
    )
    time_zone = models.CharField(
        _("Zeitzone"),
        max_length=64,
        default=settings.TIME_ZONE,
        validators=[validate_time_zone],
    )
    show_rank = models.BooleanField(_("Rang im öffentlichen Profil zeigen"), default=True)

    class Meta:
        verbose_name = _("Profil")
        verbose_name_plural = _("Profile")
        # The directory's orders, each read from an index rather than sorted: by name, and by
        # name within each rank (profiles.selectors reads the ladder one rank at a time). The
        # name search has trigram indexes of its own, on PostgreSQL (migration 0004).
        indexes = [
            models.Index(fields=["display_name", "user"], name="profile_directory_order"),
            models.Index(fields=["rank", "display_name", "user"], name="profile_rank_order"),
        ]

    def __str__(self) -> str:
        return self.display_name

    def get_absolute_url(self) -> str:
        return reverse("profiles:detail", kwargs={"username": self.user.get_username()})

    @property
    def initials(self) -> str:
        return initials_of(self.display_name)

    @property
    def avatar_colour(self) -> int:
        return avatar_colour_of(self.user_id)
