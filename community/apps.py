from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class CommunityConfig(AppConfig):
    name = "community"
    verbose_name = _("Community")

    def ready(self) -> None:
        from django.db.models.signals import post_migrate

        from community import audit  # noqa: F401 (connects the role and rank log's signals)
        from community.statistics import analyze_after_migrate

        # Once per migrate run: sent for every app, received for this one only.
        post_migrate.connect(analyze_after_migrate, sender=self)
