"""Recompute the customer-number and phone-number search indexes after BLIND_INDEX_KEY
changed, and once after the phone-number index was added."""

from typing import Any

from customer_data import tasks
from customer_data.management.maintenance import MaintenanceCommand
from customer_data.services import MaintenanceResult, Progress


class Command(MaintenanceCommand):
    help = (
        "Berechnet die Suchindizes der Kundennummern und Handynummern mit dem aktuellen "
        "BLIND_INDEX_KEY neu. Ein abgebrochener Lauf macht beim nächsten Aufruf dort weiter."
    )
    done_message = "Suchindizes von {done} Datensätzen neu berechnet."
    job = tasks.INDEX_REBUILD
    task = tasks.rebuild_blind_index

    def run(self, *, progress: Progress, **options: Any) -> MaintenanceResult | None:
        return tasks.run_index_rebuild(
            batch_size=options["batch_size"],
            skip_undecryptable=options["skip_undecryptable"],
            progress=progress,
        )
