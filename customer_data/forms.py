"""The customer-data part of the Profil tab. Validates and normalises; stores nothing."""

from typing import Any, cast

from django import forms
from django.conf import settings
from django.core.validators import MaxLengthValidator
from django.utils.translation import gettext_lazy as _
from phonenumber_field.formfields import PhoneNumberField

from community.validators import reject_control_characters
from customer_data import permissions
from customer_data.models import ENCRYPTED_FIELDS, CustomerData
from customer_data.normalise import PHONE_REGION, format_phone_number, normalise_customer_number

# Generous raw limit before normalisation; the digit count is checked afterwards.
RAW_NUMBER_MAX = 64


class ConsentSwitch(forms.CheckboxInput):
    """A real checkbox announced as a switch."""

    def __init__(self) -> None:
        super().__init__(
            attrs={
                "role": "switch",
                "class": "form-check-input",
                "aria-controls": "customer-data-fields",
                "data-consent-switch": "",
            }
        )


def consent_help_text(viewer: permissions.Viewer) -> str:
    """The consent switch's help text: what the member agrees to, and who sees what."""
    return _(
        "Ich willige ein, dass die Community meine Kundendaten speichert, damit das "
        "Telekom hilft Team mir schneller helfen kann. Sehen können sie nur ich, "
        "%(readers)s; %(ring_readers)s sehen nur, wie vollständig sie sind. "
        "Ausschalten und Speichern löscht die Daten."
    ) % {
        "readers": permissions.readers(viewer),
        "ring_readers": permissions.ring_readers(viewer),
    }


class CustomerDataForm(forms.Form):
    consent = forms.BooleanField(
        label=_("Kundendaten für den Kundenservice speichern"),
        required=False,
        widget=ConsentSwitch(),
        # The help text names who sees what, from the policy (see `__init__`).
    )
    customer_number = forms.CharField(
        label=_("Kundennummer"),
        required=False,
        max_length=RAW_NUMBER_MAX,
        help_text=_(
            "Deine Telekom Kundennummer findest du z. B. auf deiner Rechnung oder in einer "
            "Auftragsbestätigung. Hast du mehrere, trag die übrigen unter „Weitere "
            "Informationen“ ein."
        ),
        widget=forms.TextInput(attrs={"autocomplete": "off", "inputmode": "numeric"}),
    )
    mobile_number = PhoneNumberField(
        label=_("Handynummer"),
        region=PHONE_REGION,
        required=False,
        help_text=_(
            "Deine Rückrufnummer: Unter ihr ruft dich das Telekom hilft Team an, um "
            "sicherzugehen, dass du es bist, und um dich zu informieren und zu beraten. Eine "
            "Festnetznummer geht auch, solange nicht gerade dieser Anschluss gestört ist."
        ),
        error_messages={
            "invalid": _(
                "Bitte gib eine gültige Telefonnummer ein, z. B. 0171 1234567 oder +49 228 123456."
            )
        },
        widget=forms.TextInput(attrs={"autocomplete": "tel", "inputmode": "tel"}),
    )
    further_info = forms.CharField(
        label=_("Weitere Informationen"),
        required=False,
        strip=True,
        help_text=_(
            "Für alles, was nicht in die Felder darüber passt: weitere Kundennummern, "
            "Eingangs-, Auftrags- oder Störungsnummern. Schreib gern auch dazu, wann du am "
            "besten erreichbar bist (Tage und Uhrzeiten von–bis)."
        ),
        widget=forms.Textarea(attrs={"rows": 4}),
    )

    def __init__(
        self,
        *args: Any,
        instance: CustomerData | None = None,
        viewer: permissions.Viewer | None = None,
        **kwargs: Any,
    ) -> None:
        self.instance = instance
        if instance is not None and "initial" not in kwargs:
            kwargs["initial"] = self.initial_from(instance)
        super().__init__(*args, **kwargs)
        if viewer is not None:
            # Worded from the policy and the rank ladder as they are now, for this viewer.
            self.fields["consent"].help_text = consent_help_text(viewer)
        limit = settings.CUSTOMER_INFO_MAX_LENGTH
        info = cast(forms.CharField, self.fields["further_info"])
        info.max_length = limit
        info.widget.attrs["maxlength"] = str(limit)
        info.validators.append(MaxLengthValidator(limit))

    @staticmethod
    def initial_from(data: CustomerData) -> dict[str, Any]:
        if not data.consent_is_current:
            return {"consent": False}
        return {
            "consent": True,
            "customer_number": data.customer_number or "",
            "mobile_number": format_phone_number(data.mobile_number) if data.mobile_number else "",
            "further_info": data.further_info or "",
        }

    def clean_customer_number(self) -> str:
        raw = reject_control_characters(self.cleaned_data["customer_number"])
        number = normalise_customer_number(raw)
        if not number:
            return ""
        if not number.isascii() or not number.isdigit():
            raise forms.ValidationError(
                _(
                    "Die Kundennummer darf nur Ziffern enthalten (Leerzeichen, Bindestriche "
                    "und Schrägstriche sind erlaubt)."
                ),
                code="digits",
            )
        low, high = settings.CUSTOMER_NUMBER_MIN_DIGITS, settings.CUSTOMER_NUMBER_MAX_DIGITS
        if not low <= len(number) <= high:
            raise forms.ValidationError(
                _("Die Kundennummer muss %(min)s bis %(max)s Ziffern haben."),
                code="length",
                params={"min": low, "max": high},
            )
        return number

    def clean_mobile_number(self) -> str:
        reject_control_characters(str(self["mobile_number"].data or ""))
        number = self.cleaned_data["mobile_number"]
        return number.as_e164 if number else ""

    def clean_further_info(self) -> str:
        return reject_control_characters(self.cleaned_data["further_info"], allow_newlines=True)

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean() or {}
        if not cleaned.get("consent"):
            # Hidden fields are not the member's concern: nothing posted for them counts.
            for name in ENCRYPTED_FIELDS:
                self.errors.pop(name, None)
                cleaned.pop(name, None)
        return cleaned

    @property
    def withdraws(self) -> bool:
        """Saving this form erases stored data (the switch is off while data is stored)."""
        stored = self.instance is not None and self.instance.consent_is_current
        # Read the switch as its field does ("false" is off), not as the raw POST value.
        return bool(stored and self.is_bound and not self["consent"].data)
