"""Input hygiene shared by every form of the site."""

import unicodedata

from django import forms
from django.utils.translation import gettext_lazy as _

_ALLOWED_IN_TEXT = {"\n", "\r", "\t"}


def reject_control_characters(value: str, *, allow_newlines: bool = False) -> str:
    """Refuse NUL and other control characters; normalise line endings.

    PostgreSQL rejects NUL in text and SQLite stores it silently, so nothing like it
    may reach the database. The message never repeats the input.
    """
    allowed = _ALLOWED_IN_TEXT if allow_newlines else set()
    for char in value:
        if (
            char not in allowed
            and unicodedata.category(char) in {"Cc", "Cs", "Cf"}
            and char not in {"\u200d"}
        ):
            raise forms.ValidationError(
                _("Die Eingabe enthält unzulässige Steuerzeichen."), code="control_characters"
            )
    return value.replace("\r\n", "\n").replace("\r", "\n") if allow_newlines else value
