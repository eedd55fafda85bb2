from django.contrib.auth.forms import AuthenticationForm
from django.core.validators import MaxLengthValidator
from django.utils.translation import gettext_lazy as _


class LoginForm(AuthenticationForm):
    error_messages = {
        **AuthenticationForm.error_messages,
        "invalid_login": _(
            "Benutzername oder Passwort ist falsch. Bitte prüfen Sie Ihre Eingabe; "
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
