from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class ProfilesConfig(AppConfig):
    name = "profiles"
    verbose_name = _("Profile")

    def ready(self) -> None:
        from profiles import signals  # noqa: F401  (connects the receivers)
