"""Recompute the customer-number search index after BLIND_INDEX_KEY changed."""

from typing import Any

from customer_data.management.maintenance import MaintenanceCommand
from customer_data.services import MaintenanceResult, rebuild_blind_index


class Command(MaintenanceCommand):
    help = (
        "Berechnet den Suchindex der Kundennummern mit dem aktuellen BLIND_INDEX_KEY neu. "
        "Ein abgebrochener Lauf macht beim nächsten Aufruf dort weiter."
    )
    done_message = "{done} Suchindex-Einträge neu berechnet."

    def run(self, **options: Any) -> MaintenanceResult:
        return rebuild_blind_index(
            batch_size=options["batch_size"],
            skip_undecryptable=options["skip_undecryptable"],
            progress=options["progress"],
        )
