"""Re-encrypt all customer data with the newest key in FIELD_ENCRYPTION_KEYS."""

from typing import Any

from customer_data import tasks
from customer_data.management.maintenance import MaintenanceCommand
from customer_data.services import MaintenanceResult, Progress


class Command(MaintenanceCommand):
    help = (
        "Verschlüsselt alle Kundendaten mit dem neuesten Schlüssel neu. Ablauf: neuen Schlüssel "
        "vorn in FIELD_ENCRYPTION_KEYS einfügen, diesen Befehl ausführen, alten Schlüssel "
        "entfernen. Ein abgebrochener Lauf macht beim nächsten Aufruf dort weiter."
    )
    done_message = "{done} Datensätze neu verschlüsselt."
    job = tasks.ROTATION
    task = tasks.rotate_field_keys

    def run(self, *, progress: Progress, **options: Any) -> MaintenanceResult | None:
        return tasks.run_rotation(
            batch_size=options["batch_size"],
            skip_undecryptable=options["skip_undecryptable"],
            progress=progress,
        )
