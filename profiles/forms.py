"""Forms of the settings tabs. They validate input only; services do the writing."""

import zoneinfo
from typing import Any, cast

from django import forms
from django.conf import settings
from django.utils.translation import gettext_lazy as _

from community.roles import staff_role_names, staff_roles
from community.validators import (
    RESERVED_TITLES,
    reject_control_characters,
    validate_display_name,
)
from profiles.models import Profile

_ZONES = sorted(zoneinfo.available_timezones())


class PublicProfileForm(forms.ModelForm):
    class Meta:
        model = Profile
        fields = ["display_name", "about", "location"]
        widgets = {"about": forms.Textarea(attrs={"rows": 4})}
        help_texts = {
            "display_name": _("So erscheinst du in der Community."),
            "about": _("Öffentlich sichtbar für alle Besucher."),
            "location": _("Optional, öffentlich sichtbar."),
        }

    def clean_display_name(self) -> str:
        """Also refuses names that could pass for the staff (see `validate_display_name`);
        holders of a staff role may carry its name."""
        name = self.cleaned_data["display_name"].strip()
        user = getattr(self.instance, "user", None)
        reserved: set[str] = set()
        if user is None or not staff_roles(user):
            reserved = {*RESERVED_TITLES, *staff_role_names()}
        validate_display_name(name, reserved=reserved)
        name = reject_control_characters(name)
        if not name:
            raise forms.ValidationError(_("Bitte gib einen Anzeigenamen ein."), code="required")
        return name

    def clean_about(self) -> str:
        return reject_control_characters(self.cleaned_data["about"], allow_newlines=True)

    def clean_location(self) -> str:
        return reject_control_characters(self.cleaned_data["location"].strip())


class PreferencesForm(forms.ModelForm):
    language = forms.ChoiceField(label=_("Sprache der Oberfläche"), choices=settings.LANGUAGES)
    time_zone = forms.ChoiceField(
        label=_("Zeitzone"),
        choices=[(zone, zone) for zone in _ZONES],
        help_text=_("Datum und Uhrzeit werden in dieser Zeitzone angezeigt."),
    )

    class Meta:
        model = Profile
        fields = ["language", "time_zone", "show_rank"]
        help_texts = {"show_rank": _("Dein Rang erscheint dann in deinem öffentlichen Profil.")}


class DirectoryForm(forms.Form):
    """Query parameters of the members directory; anything invalid falls back to defaults.

    `fill_filter=False` (every viewer for whom the list shows no rings): the "Profildaten"
    filter and the sorts by fill level do not exist; sent anyway, they are dropped before
    validation, so the page is exactly the one without them.
    """

    SORT_LABELS = {
        "name": _("Name (A–Z)"),
        "-name": _("Name (Z–A)"),
        "rank": _("Rang (höchster zuerst)"),
        "-rank": _("Rang (niedrigster zuerst)"),
        "-joined": _("Neueste Mitglieder zuerst"),
        "joined": _("Älteste Mitglieder zuerst"),
    }
    FILL_SORT_LABELS = {
        "fill": _("Profildaten (unvollständigste zuerst)"),
        "-fill": _("Profildaten (vollständigste zuerst)"),
    }
    FILL_LABELS = {
        "": _("alle"),
        "incomplete": _("unvollständig (0–67 %)"),
        "0": _("0 %"),
        "33": _("33 %"),
        "67": _("67 %"),
        "100": _("100 %"),
    }
    DEFAULTS = {"q": "", "sort": "name", "fill": "", "page": 1}

    q = forms.CharField(
        label=_("Name suchen"),
        required=False,
        max_length=60,
        widget=forms.TextInput(attrs={"type": "search", "class": "form-control"}),
    )
    fill = forms.ChoiceField(
        label=_("Profildaten"),
        required=False,
        choices=list(FILL_LABELS.items()),
        widget=forms.Select(attrs={"class": "form-select"}),
    )
    sort = forms.ChoiceField(
        label=_("Sortieren nach"),
        required=False,
        choices=list({**SORT_LABELS, **FILL_SORT_LABELS}.items()),
        widget=forms.Select(attrs={"class": "form-select"}),
    )
    page = forms.IntegerField(required=False, min_value=1, max_value=100_000)

    def __init__(self, *args: Any, fill_filter: bool, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        if fill_filter:
            return
        del self.fields["fill"]
        cast(forms.ChoiceField, self.fields["sort"]).choices = list(self.SORT_LABELS.items())
        if self.is_bound and self.data.get("sort") in self.FILL_SORT_LABELS:
            self.data = {key: value for key, value in self.data.items() if key != "sort"}

    def clean_q(self) -> str:
        return reject_control_characters(self.cleaned_data["q"].strip())

    def clean(self) -> dict:
        cleaned = super().clean() or {}
        cleaned["sort"] = cleaned.get("sort") or self.DEFAULTS["sort"]
        cleaned["fill"] = cleaned.get("fill") or ""
        cleaned["page"] = cleaned.get("page") or 1
        return cleaned


class PageForm(forms.Form):
    page = forms.IntegerField(required=False, min_value=1, max_value=100_000)
