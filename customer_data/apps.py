from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class CustomerDataConfig(AppConfig):
    name = "customer_data"
    # Not "Kundendaten": that is the model's name, and the admin's breadcrumb shows both.
    verbose_name = _("Datenschutz & Kundenservice")

    def ready(self) -> None:
        from customer_data.crypto import check_keys

        # Fail at start-up, not at the first read, when keys are missing or reused.
        check_keys()
