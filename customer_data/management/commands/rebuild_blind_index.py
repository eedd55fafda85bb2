"""Recompute the customer-number and phone-number search indexes after BLIND_INDEX_KEY
changed, and once after the phone-number index was added."""

from typing import Any

from customer_data.management.maintenance import MaintenanceCommand
from customer_data.services import MaintenanceResult, rebuild_blind_index


class Command(MaintenanceCommand):
    help = (
        "Berechnet die Suchindizes der Kundennummern und Handynummern mit dem aktuellen "
        "BLIND_INDEX_KEY neu. Ein abgebrochener Lauf macht beim nächsten Aufruf dort weiter."
    )
    done_message = "Suchindizes von {done} Datensätzen neu berechnet."

    def run(self, **options: Any) -> MaintenanceResult:
        return rebuild_blind_index(
            batch_size=options["batch_size"],
            skip_undecryptable=options["skip_undecryptable"],
            progress=options["progress"],
        )
