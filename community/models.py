"""The community's structure: the rank ladder and the staff roles."""

from django.conf import settings
from django.contrib.auth.models import Group
from django.db import models
from django.db.models.functions import Now
from django.utils.translation import gettext_lazy as _

from community.append_only import AppendOnlyModel


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

    code = models.CharField(_("Code"), max_length=40, choices=StaffRole, unique=True)
    group = models.OneToOneField(Group, on_delete=models.CASCADE, related_name="staff_role")

    class Meta:
        verbose_name = _("Mitarbeiterrolle")
        verbose_name_plural = _("Mitarbeiterrollen")

    def __str__(self) -> str:
        return str(StaffRole(self.code).label)


class StructureChange(AppendOnlyModel):
    """Append-only: who changed who holds a staff role, which group a role is, or the ladder.

    Granting a content role is what lets someone read customer data, so every grant and
    removal is kept with the one who made it, as they were named then.
    """

    class Kind(models.TextChoices):
        ROLE_GRANTED = "granted", _("Rolle vergeben")
        ROLE_REVOKED = "revoked", _("Rolle entzogen")
        ROLE_REGROUPED = "regrouped", _("Rolle einer anderen Gruppe zugeordnet")
        RANK_CHANGED = "rank", _("Rangliste geändert")

    kind = models.CharField(_("Art"), max_length=10, choices=Kind.choices)
    # Stamped by the database's clock, also on rows written without it (bulk inserts, COPY);
    # `save()` reads the stamp back, and a value given explicitly still wins.
    at = models.DateTimeField(_("Zeitpunkt"), db_default=Now(), db_index=True)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("durch"),
    )
    actor_name = models.CharField(_("durch (Name)"), max_length=150, blank=True)
    member = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("Mitglied"),
    )
    member_name = models.CharField(_("Mitglied (Name)"), max_length=150, blank=True)
    role = models.CharField(_("Rolle"), max_length=40, choices=StaffRole, blank=True)
    detail = models.CharField(_("Einzelheiten"), max_length=300, blank=True)

    class Meta:
        ordering = ["-at", "-pk"]
        # The staff list's order, read backwards.
        indexes = [models.Index(fields=["at", "id"], name="role_log_order")]
        verbose_name = _("Änderung an Rollen oder Rängen")
        verbose_name_plural = _("Rollen- und Rangprotokoll")

    def __str__(self) -> str:
        return f"{self.get_kind_display()} {self.at:%Y-%m-%d %H:%M}"
