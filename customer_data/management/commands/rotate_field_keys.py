"""Re-encrypt all customer data with the newest key in FIELD_ENCRYPTION_KEYS."""

from typing import Any

from django.core.management.base import BaseCommand, CommandParser

from customer_data.services import rotate_field_keys


class Command(BaseCommand):
    help = (
        "Verschlüsselt alle Kundendaten mit dem neuesten Schlüssel neu. Ablauf: neuen Schlüssel "
        "vorn in FIELD_ENCRYPTION_KEYS einfügen, diesen Befehl ausführen, alten Schlüssel entfernen."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--batch-size", type=int, default=500)

    def handle(self, *args: Any, batch_size: int, **options: Any) -> None:
        count = rotate_field_keys(batch_size=batch_size)
        self.stdout.write(self.style.SUCCESS(f"{count} Datensätze neu verschlüsselt."))
