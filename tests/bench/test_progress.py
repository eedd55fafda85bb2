"""Progress lines of the long steps: rows done, rate, time left."""

import io

import pytest

from bench.progress import Phase, Progress, duration


class Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


@pytest.mark.parametrize(
    ("seconds", "text"),
    [(0, "0 s"), (8.4, "8 s"), (65, "1 min 05 s"), (3720, "1 h 02 min"), (-3, "0 s")],
)
def test_durations_read_as_people_say_them(seconds, text):
    assert duration(seconds) == text


def test_progress_says_rows_rate_and_time_left_at_most_every_interval():
    clock, out = Clock(), io.StringIO()
    progress = Progress("members", 1_000_000, stream=out, every=2.0, clock=clock)

    clock.now += 1.0
    progress.advance(10_000)  # under two seconds: nothing yet
    clock.now += 1.5
    progress.advance(25_000)
    clock.now += 0.5
    progress.advance(30_000)  # half a second after the last line: nothing
    clock.now += 7.5
    progress.advance(1_000_000)  # the end: left to finish()
    progress.finish()

    assert out.getvalue().splitlines() == [
        "  members: 25,000 of 1,000,000 (2 %) · 10,000/s · about 1 min 38 s left",
        "  members: 1,000,000 in 10 s (95,238/s)",
    ]


def test_a_phase_prints_its_time_once_done_unless_it_failed_or_was_quick():
    clock, out = Clock(), io.StringIO()
    with Phase("index profile_directory_order", stream=out, clock=clock) as phase:
        clock.now += 3.25
    assert phase.seconds == 3.25
    with pytest.raises(ValueError, match="x"), Phase("broken", stream=out, clock=clock):
        raise ValueError("x")
    with Phase("quick index", stream=out, clock=clock, at_least=1.0):
        clock.now += 0.5

    assert out.getvalue() == "  index profile_directory_order: 3.2 s\n"
