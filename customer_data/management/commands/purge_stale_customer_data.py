"""Apply the retention periods (the scheduler enqueues this daily; see `customer_data.tasks`)."""

from typing import Any

from django.core.management.base import BaseCommand, CommandParser

from customer_data import tasks
from customer_data.management.maintenance import ENQUEUED, LOCK_HELD


class Command(BaseCommand):
    help = (
        "Löscht Kundendaten nach Ablauf der Speicherfrist oder ohne gültige Einwilligung "
        "und alte Einträge des Zugriffsprotokolls."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--enqueue",
            action="store_true",
            help="Nicht hier ausführen, sondern als Aufgabe für einen Worker einreihen.",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        if options["enqueue"]:
            queued = tasks.purge_stale_customer_data.enqueue()
            self.stdout.write(ENQUEUED.format(id=queued.id))
            return
        result = tasks.run_purge()
        if result is None:
            self.stdout.write(LOCK_HELD.format(job=tasks.PURGE))
            return
        self.stdout.write(
            self.style.SUCCESS(
                f"Gelöscht: {result.stale} Kundendaten nach Speicherfrist, "
                f"{result.outdated_consent} ohne gültige Einwilligung, "
                f"{result.access_rows} Protokolleinträge."
            )
        )
