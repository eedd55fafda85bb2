"""What the maintenance commands share: progress lines, the list of skipped rows, the exit."""

import time
from collections.abc import Callable
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from community.db import without_statement_timeout
from customer_data.services import MaintenanceResult, UndecryptableRow


class MaintenanceCommand(BaseCommand):
    """A batched, resumable walk over the customer data (see `services._walk`)."""

    done_message = "{done}"

    def run(self, **options: Any) -> MaintenanceResult:
        raise NotImplementedError

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--batch-size", type=int, default=500)
        parser.add_argument(
            "--skip-undecryptable",
            action="store_true",
            help="Zeilen, die kein Schlüssel entschlüsselt, überspringen und am Ende auflisten.",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        started = time.monotonic()
        try:
            with without_statement_timeout():
                result = self.run(progress=self.progress_printer(started), **options)
        except UndecryptableRow as exc:
            raise CommandError(
                f"Zeile {exc.pk} der Kundendaten lässt sich mit keinem Schlüssel aus "
                "FIELD_ENCRYPTION_KEYS entschlüsseln. Schlüssel wiederherstellen oder mit "
                "--skip-undecryptable daran vorbei. Die fertigen Stapel sind gespeichert; "
                "ein neuer Lauf macht dort weiter."
            ) from None
        if result.resumed_after:
            self.stdout.write(f"Fortgesetzt nach Zeile {result.resumed_after}.")
        self.stdout.write(self.style.SUCCESS(self.done_message.format(done=result.done)))
        if result.undecryptable:
            raise CommandError(
                f"{len(result.undecryptable)} Zeilen nicht entschlüsselbar, übersprungen: "
                f"{', '.join(map(str, result.undecryptable))}"
            )

    def progress_printer(self, started: float) -> Callable[[int, int], None]:
        def report(seen: int, total: int) -> None:
            elapsed = max(time.monotonic() - started, 1e-6)
            rate = seen / elapsed
            left = (total - seen) / rate if rate and total > seen else 0
            self.stderr.write(
                f"{seen} von {total} Zeilen, {rate:.0f}/s, noch etwa {left:.0f} s", ending="\n"
            )

        return report
