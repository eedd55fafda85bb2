"""What the maintenance commands share: the lock, progress lines, the list of skipped rows,
the exit, and handing the run to a worker instead (`--enqueue`)."""

from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.tasks import Task

from customer_data.services import MaintenanceResult, Progress, UndecryptableRow
from customer_data.tasks import Pace, progress_meter

# What a run prints when another run holds the job's lock: not an error, nothing was done.
LOCK_HELD = "{job} läuft bereits in einem anderen Prozess; dieser Aufruf tut nichts."
ENQUEUED = "Als Aufgabe {id} eingereiht; ein Worker (make worker) führt sie aus."


class MaintenanceCommand(BaseCommand):
    """A batched, resumable walk over the customer data (see `services._walk`), run here
    under the job's lock (`customer_data.tasks`) or handed to a worker as `task`."""

    done_message = "{done}"
    job = ""
    task: Task

    def run(self, *, progress: Progress, **options: Any) -> MaintenanceResult | None:
        raise NotImplementedError

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--batch-size", type=int, default=500)
        parser.add_argument(
            "--skip-undecryptable",
            action="store_true",
            help="Zeilen, die kein Schlüssel entschlüsselt, überspringen und am Ende auflisten.",
        )
        parser.add_argument(
            "--enqueue",
            action="store_true",
            help="Nicht hier ausführen, sondern als Aufgabe für einen Worker einreihen.",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        if options["enqueue"]:
            queued = self.task.enqueue(
                batch_size=options["batch_size"],
                skip_undecryptable=options["skip_undecryptable"],
            )
            self.stdout.write(ENQUEUED.format(id=queued.id))
            return
        try:
            result = self.run(progress=progress_meter(self.print_pace), **options)
        except UndecryptableRow as exc:
            raise CommandError(
                f"Zeile {exc.pk} der Kundendaten lässt sich mit keinem Schlüssel aus "
                "FIELD_ENCRYPTION_KEYS entschlüsseln. Schlüssel wiederherstellen oder mit "
                "--skip-undecryptable daran vorbei. Die fertigen Stapel sind gespeichert; "
                "ein neuer Lauf macht dort weiter."
            ) from None
        if result is None:
            self.stdout.write(LOCK_HELD.format(job=self.job))
            return
        if result.resumed_after:
            self.stdout.write(f"Fortgesetzt nach Zeile {result.resumed_after}.")
        self.stdout.write(self.style.SUCCESS(self.done_message.format(done=result.done)))
        if result.undecryptable:
            raise CommandError(
                f"{len(result.undecryptable)} Zeilen nicht entschlüsselbar, übersprungen: "
                f"{', '.join(map(str, result.undecryptable))}"
            )

    def print_pace(self, pace: Pace) -> None:
        self.stderr.write(
            f"{pace.seen} von {pace.total} Zeilen, {pace.per_second:.0f}/s, "
            f"noch etwa {pace.seconds_left:.0f} s"
        )
