"""Recompute the customer-number search index after BLIND_INDEX_KEY changed."""

from typing import Any

from django.core.management.base import BaseCommand, CommandParser

from customer_data.services import rebuild_blind_index


class Command(BaseCommand):
    help = "Berechnet den Suchindex der Kundennummern mit dem aktuellen BLIND_INDEX_KEY neu."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--batch-size", type=int, default=500)

    def handle(self, *args: Any, batch_size: int, **options: Any) -> None:
        count = rebuild_blind_index(batch_size=batch_size)
        self.stdout.write(self.style.SUCCESS(f"{count} Suchindex-Einträge neu berechnet."))
