"""The community's structure: the rank ladder and the staff roles."""

from django.contrib.auth.models import Group
from django.db import models
from django.utils.translation import gettext_lazy as _


class Rank(models.Model):
    """One rung of the ladder. Comparisons use `order`, never the name."""

    code = models.SlugField(_("Code"), max_length=50, unique=True)
    name = models.CharField(_("Name"), max_length=80)
    order = models.PositiveSmallIntegerField(_("Reihenfolge"), unique=True)

    class Meta:
        ordering = ["order"]
        verbose_name = _("Rang")
        verbose_name_plural = _("Ränge")

    def __str__(self) -> str:
        return self.name


class StaffRole(models.TextChoices):
    """Stable codes for the staff roles; their groups may be renamed freely."""

    TELEKOM_HILFT_TEAM = "telekom-hilft-team", _("Telekom hilft Team")
    COMMUNITY_MANAGEMENT = "community-management", _("Community Management")


class RoleGroup(models.Model):
    """Binds a Django group to a stable role code."""

    code = models.CharField(_("Code"), max_length=40, choices=StaffRole.choices, unique=True)
    group = models.OneToOneField(Group, on_delete=models.CASCADE, related_name="staff_role")

    class Meta:
        verbose_name = _("Mitarbeiterrolle")
        verbose_name_plural = _("Mitarbeiterrollen")

    def __str__(self) -> str:
        return str(StaffRole(self.code).label)
