"""Progress lines for long steps: rows done, the rate, and the time still to go.

Written to stderr, one line at a time (a log file or `make` shows them as they come; the
harness relays the data builder's stderr live while it keeps its stdout for the result).
"""

from __future__ import annotations

import sys
import time
from collections.abc import Callable
from typing import TextIO


def duration(seconds: float) -> str:
    """E.g. "8 s", "1 min 05 s", "1 h 02 min"."""
    seconds = max(0, round(seconds))
    if seconds < 60:
        return f"{seconds} s"
    minutes, seconds = divmod(seconds, 60)
    if minutes < 60:
        return f"{minutes} min {seconds:02d} s"
    hours, minutes = divmod(minutes, 60)
    return f"{hours} h {minutes:02d} min"


def count(number: float) -> str:
    """Thousands separated by commas, as the rest of the bench output writes them."""
    return f"{round(number):,}"


class Progress:
    """Reports `done` of `total` at most every `every` seconds, and once at the end."""

    def __init__(
        self,
        what: str,
        total: int,
        *,
        stream: TextIO | None = None,
        every: float = 2.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.what = what
        self.total = total
        self.stream = stream
        self.every = every
        self.clock = clock
        self.started = clock()
        self.reported = self.started
        self.done = 0

    def _write(self, line: str) -> None:
        stream = self.stream or sys.stderr
        stream.write(f"  {self.what}: {line}\n")
        stream.flush()

    @property
    def elapsed(self) -> float:
        return self.clock() - self.started

    @property
    def rate(self) -> float:
        elapsed = self.elapsed
        return self.done / elapsed if elapsed > 0 else 0.0

    def advance(self, done: int) -> None:
        """`done` rows are written so far; says so when `every` seconds have passed."""
        self.done = done
        now = self.clock()
        if now - self.reported < self.every or done >= self.total:
            return
        self.reported = now
        rate = self.rate
        left = (self.total - done) / rate if rate else 0.0
        share = 100 * done / self.total if self.total else 100.0
        self._write(
            f"{count(done)} of {count(self.total)} ({share:.0f} %) · {count(rate)}/s · "
            f"about {duration(left)} left"
        )

    def finish(self) -> float:
        """The closing line; returns the seconds the whole step took."""
        elapsed = self.elapsed
        self._write(f"{count(self.done)} in {duration(elapsed)} ({count(self.rate)}/s)")
        return elapsed


class Phase:
    """A step without a row count (an index, ANALYZE): one line when it is done, with its time
    (only if it took `at_least` seconds)."""

    def __init__(
        self,
        what: str,
        *,
        stream: TextIO | None = None,
        clock: Callable[[], float] = time.monotonic,
        at_least: float = 0.0,
    ) -> None:
        self.what = what
        self.stream = stream
        self.clock = clock
        self.at_least = at_least
        self.seconds = 0.0

    def __enter__(self) -> Phase:
        self.started = self.clock()
        return self

    def __exit__(self, *exc: object) -> None:
        self.seconds = self.clock() - self.started
        if exc[0] is None and self.seconds >= self.at_least:
            stream = self.stream or sys.stderr
            stream.write(f"  {self.what}: {self.seconds:.1f} s\n")
            stream.flush()
