"""Customer data a member stores for the support staff, with its consent and access records."""

import operator
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from functools import reduce

from django.conf import settings
from django.db import models
from django.db.models.functions import Now
from django.utils.functional import Promise
from django.utils.translation import gettext_lazy as _

from community.append_only import AppendOnlyModel
from community.models import StaffRole
from customer_data.fields import EncryptedTextField

ENCRYPTED_FIELDS = ("customer_number", "mobile_number", "further_info")
FIELD_LABELS = {
    "customer_number": _("Kundennummer"),
    "mobile_number": _("Handynummer"),
    "further_info": _("Weitere Informationen"),
}
FIELD_COUNT = len(ENCRYPTED_FIELDS)


@dataclass(frozen=True)
class FieldGroup:
    """Fields that are shown together, with the column that says when any of them last
    changed (set by `services.save_consent_and_values`, cleared by every erasure)."""

    label: str | Promise
    fields: tuple[str, ...]
    changed_at: str


# The numbers identify the customer and change together (a new contract, a new phone);
# the further information is the part a member updates often.
FIELD_GROUPS = (
    FieldGroup(
        _("Kundennummer und Handynummer"),
        ("customer_number", "mobile_number"),
        "numbers_updated_at",
    ),
    FieldGroup(FIELD_LABELS["further_info"], ("further_info",), "further_info_updated_at"),
)


@dataclass(frozen=True)
class ShownGroup:
    """One `FieldGroup` as a page shows it: its label, when it last changed, and the
    (field name, label, value) of each value shown."""

    label: str | Promise
    changed_at: datetime | None
    values: list[tuple[str, str | Promise, str]]


def counted_fields(
    *, consent: bool | None, consent_version: str | None, filled_count: int | None
) -> int:
    """How many stored fields count, from a row's columns: none while consent is missing or
    was given for an outdated consent text. (`CustomerData.counted_fields` for an instance.)"""
    if consent and consent_version == settings.CONSENT_TEXT_VERSION:
        return filled_count or 0
    return 0


def fill_percentage(filled: int) -> int:
    """The ring's percentage for a number of counted fields: 0, 33, 67 or 100."""
    return round(100 * filled / FIELD_COUNT)


def counted_fields_expression(prefix: str = "") -> models.Case:
    """`counted_fields` in SQL, for rows that reach a member's customer data through `prefix`
    (e.g. "user__customer_data__"); a member without a row counts none."""
    current = models.Q(
        **{f"{prefix}consent": True, f"{prefix}consent_version": settings.CONSENT_TEXT_VERSION}
    )
    return models.Case(
        models.When(current, then=models.F(f"{prefix}filled_count")),
        default=models.Value(0),
        output_field=models.PositiveSmallIntegerField(),
    )


def filled_count_expression() -> models.Expression:
    """How many of the three values a row stores, in SQL (an empty value is stored as NULL)."""
    stored = (
        models.Case(
            models.When(**{f"{name}__isnull": False}, then=models.Value(1)),
            default=models.Value(0),
        )
        for name in ENCRYPTED_FIELDS
    )
    return reduce(operator.add, stored)


class CustomerDataQuerySet(models.QuerySet):
    def holding_data(self) -> "CustomerDataQuerySet":
        """Rows with something to erase: a consent on record or a stored value."""
        return self.filter(models.Q(consent=True) | models.Q(filled_count__gt=0))


class CustomerData(models.Model):
    """One row per member. The three values are encrypted; empty values are NULL.

    `filled_count` is kept beside them so the fill ring never needs to decrypt anything.
    The database computes it from the columns themselves (a stored generated column), so it
    is right whatever wrote the row: `save()`, `queryset.update()`, a bulk insert or SQL.
    """

    user = models.OneToOneField(
        settings.AUTH_USER_MODEL,
        on_delete=models.CASCADE,
        related_name="customer_data",
        verbose_name=_("Mitglied"),
    )
    consent = models.BooleanField(_("Einwilligung"), default=False)
    consent_version = models.CharField(
        _("Version des Einwilligungstexts"), max_length=32, blank=True
    )
    consented_at = models.DateTimeField(_("Eingewilligt am"), null=True, blank=True)
    customer_number = EncryptedTextField(FIELD_LABELS["customer_number"])
    # NULL, not "", when there is no number: erasure must leave no trace of the index either.
    customer_number_bidx = models.CharField(  # noqa: DJ001
        max_length=64, null=True, editable=False, db_index=True
    )
    mobile_number = EncryptedTextField(FIELD_LABELS["mobile_number"])
    # Over the stored E.164 form, for the staff search by phone number; NULL as above.
    mobile_number_bidx = models.CharField(  # noqa: DJ001
        max_length=64, null=True, editable=False, db_index=True
    )
    further_info = EncryptedTextField(FIELD_LABELS["further_info"])
    further_info_updated_at = models.DateTimeField(null=True, blank=True, editable=False)
    # When the customer number or the phone number last changed (NULL while neither is stored).
    numbers_updated_at = models.DateTimeField(null=True, blank=True, editable=False)
    # Stored (not virtual): the directory's partial index `customerdata_fill_order` and the
    # check constraints below read it. Not a column anyone writes.
    filled_count = models.GeneratedField(
        expression=filled_count_expression(),
        output_field=models.PositiveSmallIntegerField(),
        db_persist=True,
    )
    created_at = models.DateTimeField(_("Angelegt"), auto_now_add=True)
    updated_at = models.DateTimeField(_("Zuletzt geändert"), auto_now=True)

    objects = CustomerDataQuerySet.as_manager()

    class Meta:
        verbose_name = _("Kundendaten")
        verbose_name_plural = _("Kundendaten")
        # The retention purge walks stale rows by (updated_at, user) in batches; the staff
        # list is ordered by it too (newest first, read backwards). The members directory
        # reads each fill level in member order from `customerdata_fill_order`: rows with
        # something stored only, so that no other query (the search by number names the
        # consent version too) takes it for a shortcut.
        indexes = [
            models.Index(fields=["updated_at", "user"], name="customerdata_updated"),
            models.Index(
                fields=["consent_version", "filled_count", "user"],
                name="customerdata_fill_order",
                condition=models.Q(filled_count__gt=0),
            ),
        ]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(filled_count__lte=FIELD_COUNT), name="filled_count_at_most_three"
            ),
            models.CheckConstraint(
                condition=models.Q(consent=True) | models.Q(filled_count=0),
                name="no_contents_without_consent",
            ),
        ]

    def __str__(self) -> str:
        # The member's public name and username, as staff know them; never a stored value.
        user = self.user
        profile = getattr(user, "profile", None)
        name = profile.display_name if profile is not None else ""
        return _("Kundendaten von %(name)s (%(username)s)") % {
            "name": name or user.get_username(),
            "username": user.get_username(),
        }

    def __repr__(self) -> str:
        # Unsaved rows have no fill count yet; a repr never runs a query for one.
        filled = self.__dict__.get("filled_count", "?")
        return f"<CustomerData user_id={self.user_id} filled={filled}>"

    @property
    def stamp(self) -> str:
        """Names the stored state: changes with every save (for confirmations about it)."""
        return self.updated_at.isoformat() if self.updated_at else ""

    @property
    def consent_is_current(self) -> bool:
        """Consent counts only for the consent text currently in force."""
        return self.consent and self.consent_version == settings.CONSENT_TEXT_VERSION

    @property
    def holds_data(self) -> bool:
        """Something to erase: a consent on record or a stored value (see `holding_data`)."""
        return self.consent or self.filled_count > 0

    @property
    def counted_fields(self) -> int:
        return counted_fields(
            consent=self.consent,
            consent_version=self.consent_version,
            filled_count=self.filled_count,
        )

    @property
    def fill_percentage(self) -> int:
        return fill_percentage(self.counted_fields)

    def shown_groups(self, values: Mapping[str, str]) -> list[ShownGroup]:
        """`values` (what the policy let a viewer see, from `services.disclose`) by field
        group, in field order, each with when its group last changed; a group none of whose
        values is shown is left out, its date with it."""
        return [
            ShownGroup(
                label=group.label,
                changed_at=getattr(self, group.changed_at),
                values=[(name, FIELD_LABELS[name], values[name]) for name in shown],
            )
            for group in FIELD_GROUPS
            if (shown := [name for name in group.fields if values.get(name)])
        ]


class ConsentRecord(AppendOnlyModel):
    """Append-only: every grant and withdrawal of consent."""

    class Action(models.TextChoices):
        GRANTED = "granted", _("erteilt")
        WITHDRAWN = "withdrawn", _("widerrufen")

    class Reason(models.TextChoices):
        MEMBER = "member", _("durch das Mitglied")
        ERASURE = "erasure", _("Löschung durch das Mitglied")
        RETENTION = "retention", _("Speicherfrist abgelaufen")
        OUTDATED_CONSENT = "outdated", _("Einwilligungstext geändert, keine neue Einwilligung")

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.CASCADE,
        related_name="consent_records",
        verbose_name=_("Mitglied"),
    )
    action = models.CharField(_("Aktion"), max_length=10, choices=Action.choices)
    reason = models.CharField(
        _("Anlass"), max_length=10, choices=Reason.choices, default=Reason.MEMBER
    )
    consent_text_version = models.CharField(_("Version des Einwilligungstexts"), max_length=32)
    # Stamped by the database's clock, also on rows a bulk insert or COPY writes without it
    # (`save()` and `bulk_create` read the stamp back); a value given explicitly still wins.
    at = models.DateTimeField(_("Zeitpunkt"), db_default=Now(), db_index=True)
    by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("durch"),
    )

    class Meta:
        ordering = ["-at", "-pk"]
        verbose_name = _("Einwilligung")
        verbose_name_plural = _("Einwilligungen")
        indexes = [models.Index(fields=["user", "-at"])]

    def __str__(self) -> str:
        return f"{self.get_action_display()} ({self.consent_text_version})"


class PersonalDataAccess(AppendOnlyModel):
    """Append-only: who was shown whose customer data, where, and which fields (never values)."""

    class Channel(models.TextChoices):
        PROFILE = "profile", _("Profilseite")
        ADMIN = "admin", _("Verwaltung")
        EXPORT = "export", _("Export")
        # A staff search that found the member by a number ties the number to them.
        SEARCH_CUSTOMER_NUMBER = "search_customer_number", _("Suche nach Kundennummer")
        SEARCH_MOBILE_NUMBER = "search_mobile_number", _("Suche nach Handynummer")

    viewer = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        related_name="+",
        verbose_name=_("Betrachter"),
    )
    subject = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.CASCADE,
        related_name="customer_data_accesses",
        verbose_name=_("Mitglied"),
    )
    # The viewer as they were at the time: a later rename, a role taken away afterwards or
    # a deleted account cannot rewrite who looked and in which capacity.
    viewer_name = models.CharField(_("Name des Betrachters"), max_length=150, blank=True)
    viewer_roles = models.JSONField(_("Rollen des Betrachters"), default=list, blank=True)
    channel = models.CharField(_("Ort"), max_length=32, choices=Channel.choices)
    fields = models.JSONField(_("Felder"), default=list)
    # The database's clock, as on `ConsentRecord.at`.
    at = models.DateTimeField(_("Zeitpunkt"), db_default=Now(), db_index=True)

    class Meta:
        ordering = ["-at", "-pk"]
        verbose_name = _("Zugriff auf Kundendaten")
        verbose_name_plural = _("Zugriffsprotokoll")
        # By member (their Datenschutz tab), and the whole log newest first (the staff list's
        # order, read backwards; the purge reads it forwards).
        indexes = [
            models.Index(fields=["subject", "-at"]),
            models.Index(fields=["at", "id"], name="access_log_order"),
        ]

    def __str__(self) -> str:
        return f"{self.get_channel_display()} {self.at:%Y-%m-%d %H:%M}"

    @property
    def viewer_role_labels(self) -> list[str]:
        """The roles the viewer held when they looked, as shown to people."""
        return [str(StaffRole(code).label) for code in self.viewer_roles if code in StaffRole]


class KeyCheck(models.Model):
    """A known text encrypted with the key that was newest when the row was written.

    The newest row must decrypt with the configured keys, or the keys do not belong to this
    database: the site then refuses to start instead of writing data nobody can read later.
    """

    token = models.TextField()
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-created_at", "-pk"]

    def __str__(self) -> str:
        return f"KeyCheck {self.created_at:%Y-%m-%d %H:%M}"


class MaintenanceCheckpoint(models.Model):
    """How far a batched maintenance run (key rotation, index rebuild) has come.

    Bound to the key the run works towards: an interrupted run resumes after `last_pk`
    with the same key, and starts over with another one.
    """

    job = models.CharField(max_length=32, unique=True)
    key_fingerprint = models.CharField(max_length=64)
    last_pk = models.BigIntegerField(default=0)
    updated_at = models.DateTimeField(auto_now=True)

    def __str__(self) -> str:
        return f"{self.job} at {self.last_pk}"
