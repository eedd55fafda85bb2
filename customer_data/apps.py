from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class CustomerDataConfig(AppConfig):
    name = "customer_data"
    verbose_name = _("Kundendaten")
