"""Forms and form rendering shared by the whole site."""

from typing import Any

from django.contrib.auth.forms import AuthenticationForm
from django.core.validators import MaxLengthValidator
from django.forms import BoundField
from django.forms.renderers import DjangoTemplates
from django.utils.translation import gettext_lazy as _

# What a page echoes back of an over-long input: the field's own limit plus this margin,
# enough to see where the text went over. Without a cap a 2 MB post comes back as a 2 MB page.
ECHO_MARGIN = 100
# For fields that declare no limit of their own.
ECHO_LIMIT = 2000


class CappedBoundField(BoundField):
    """Renders at most the field's length limit (plus a margin) of what was posted."""

    def value(self) -> Any:
        value = super().value()
        if isinstance(value, str):
            limit = getattr(self.field, "max_length", None)
            cap = limit + ECHO_MARGIN if limit else ECHO_LIMIT
            return value[:cap]
        return value


class CommunityFormRenderer(DjangoTemplates):
    """Django's template renderer; every form of the site binds its fields capped."""

    bound_field_class = CappedBoundField


class LoginForm(AuthenticationForm):
    error_messages = {
        **AuthenticationForm.error_messages,
        "invalid_login": _(
            "Benutzername oder Passwort ist falsch. Bitte prüfe deine Eingabe; "
            "Groß- und Kleinschreibung werden unterschieden."
        ),
        "inactive": _("Dieses Konto ist deaktiviert."),
    }

    def clean_username(self) -> str:
        # AuthenticationForm sets max_length after the field is built, so its validator is
        # missing; without this an overlong name would reach the login-attempt log.
        username: str = self.cleaned_data["username"]
        MaxLengthValidator(getattr(self.fields["username"], "max_length", None) or 150)(username)
        return username
