from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class CustomerDataConfig(AppConfig):
    name = "customer_data"
    verbose_name = _("Kundendaten")

    def ready(self) -> None:
        from customer_data.crypto import check_keys

        # Fail at start-up, not at the first read, when keys are missing or reused.
        check_keys()
