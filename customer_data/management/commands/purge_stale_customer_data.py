"""Apply the retention periods (run it daily, e.g. from cron)."""

from typing import Any

from django.core.management.base import BaseCommand

from community.db import without_statement_timeout
from customer_data.retention import purge_stale_customer_data


class Command(BaseCommand):
    help = (
        "Löscht Kundendaten nach Ablauf der Speicherfrist oder ohne gültige Einwilligung "
        "und alte Einträge des Zugriffsprotokolls."
    )

    def handle(self, *args: Any, **options: Any) -> None:
        with without_statement_timeout():
            result = purge_stale_customer_data()
        self.stdout.write(
            self.style.SUCCESS(
                f"Gelöscht: {result.stale} Kundendaten nach Speicherfrist, "
                f"{result.outdated_consent} ohne gültige Einwilligung, "
                f"{result.access_rows} Protokolleinträge."
            )
        )
