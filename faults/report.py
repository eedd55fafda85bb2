"""The pure parts of the fault run: what an answer means, what a member's stored data may be,
how long the site took to recover, and the report table.

Nothing here touches a server, a database or the clock, so all of it is unit-tested
(`tests/faults/test_faults_report.py`). Customer-data values never appear in anything this
module produces: stored states are compared as digests, and the report holds counts only.
"""

from __future__ import annotations

import hashlib
import itertools
import math
import re
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from enum import StrEnum
from typing import Any
from urllib.parse import urlsplit

SETTINGS_PROFILE_PATH = "/settings/profile/"
LOGIN_PATH = "/accounts/login/"
# Request kinds left out of failure counts and recovery times: /readyz is meant to say 503
# while a dependency is down, so its answers are reported on their own.
UNCOUNTED_KINDS = frozenset({"readyz"})
# 4xx answers that can come after the view has run (and committed): Django answers 400
# when saving the session fails once the response is made (`SessionInterrupted`).
ANSWERED_AFTER_VIEW = frozenset({400})
# A success this slow means a hang reached the member instead of a quick error page.
SLOW_SECONDS = 5.0
# Client errors before anything reached the server.
NOT_SENT = frozenset({"refused", "connect-timeout"})
# The session was gone (sent to the login page, or shown the anonymous page): counted as
# failed, but a correct answer of the server, so it does not delay the recovery time.
SESSION_LOST = frozenset({"302→login", "logged-out"})


# The last line of a traceback: a dotted name, or a bare name that reads like an exception
# (so that message lines such as "DETAIL: …" or an indented hint never count).
EXCEPTION_LINE = re.compile(
    r"^((?:[a-z_]\w*\.)+[A-Z]\w*|[A-Z]\w*(?:Error|Exception|Interrupt|Interrupted|Timeout|Exit))(?::|$)"
)


def exception_name(stderr: str) -> str:
    """The type of the last exception a failed command printed, never its message."""
    for line in reversed(stderr.splitlines()):
        if match := EXCEPTION_LINE.match(line):
            return match.group(1)[:80]
    return "no exception named" if stderr.strip() else "no output"


def value_digest(value: str | None) -> str | None:
    """A short digest standing in for a stored value; None for an empty value."""
    if value is None or value == "":
        return None
    return hashlib.sha256(value.encode()).hexdigest()[:24]


@dataclass(frozen=True)
class StoredState:
    """What a member's customer data holds: the consent flag and digests of the three values."""

    consent: bool
    digests: tuple[str | None, str | None, str | None]

    @classmethod
    def of(cls, *, consent: bool, values: Sequence[str | None]) -> StoredState:
        """The state a save with this consent and these values leaves behind.

        Without consent nothing is stored, whatever was posted.
        """
        if not consent:
            return ERASED
        first, second, third = (value_digest(value) for value in values)
        return cls(True, (first, second, third))

    def to_json(self) -> list[Any]:
        return [self.consent, list(self.digests)]

    @classmethod
    def from_json(cls, raw: Sequence[Any]) -> StoredState:
        consent, digests = raw
        first, second, third = digests
        return cls(bool(consent), (first, second, third))


ERASED = StoredState(False, (None, None, None))


class Outcome(StrEnum):
    """What the client knows about one save after its answer (or the lack of one)."""

    APPLIED = "applied"  # 302 back to the Profil tab: saved
    REJECTED = "rejected"  # answered before anything was stored (login redirect, 403, form)
    UNKNOWN_ANSWERED = "unknown-answered"  # 5xx: finished on the server, may have committed
    UNKNOWN_IN_FLIGHT = "unknown-in-flight"  # timeout or reset: may still commit later

    @property
    def is_unknown(self) -> bool:
        return self in (Outcome.UNKNOWN_ANSWERED, Outcome.UNKNOWN_IN_FLIGHT)


@dataclass(frozen=True)
class Attempt:
    """One POST of the Profil tab by one member, in the order the member sent them."""

    seq: int
    state: StoredState
    outcome: Outcome
    sent_at: float
    done_at: float


@dataclass(frozen=True)
class MemberVerdict:
    ok: bool
    # Which acceptable state the stored one matched: "last-success", "unknown-after",
    # "late-in-flight" (a timed-out save sent before the last success landed after it),
    # "initial", "erased" (no success yet and the retention purge erased the old data),
    # or "none" when it matched nothing (data lost).
    matched: str


def classify_save(
    status: int | None, location: str | None, error: str | None
) -> tuple[str, Outcome]:
    """The label and outcome of one POST of the Profil tab.

    `error` is "refused" or "connect-timeout" when no connection was made (nothing was
    sent), "timeout" or "reset" when the request was sent but no answer came.
    """
    if error in NOT_SENT:
        return error, Outcome.REJECTED
    if error is not None or status is None:
        return error or "no-answer", Outcome.UNKNOWN_IN_FLIGHT
    if status in (301, 302, 303):
        path = urlsplit(location or "").path
        if path == SETTINGS_PROFILE_PATH:
            return "ok", Outcome.APPLIED
        if path.startswith(LOGIN_PATH):
            return "302→login", Outcome.REJECTED
        return f"{status}→other", Outcome.REJECTED
    if status >= 500 or status in ANSWERED_AFTER_VIEW:
        return str(status), Outcome.UNKNOWN_ANSWERED
    if status == 200:
        return "200-form", Outcome.REJECTED
    return str(status), Outcome.REJECTED


@dataclass(frozen=True)
class ViewResult:
    """A staff member's GET of a public profile page, as far as the access log cares."""

    label: str
    ok: bool
    logged_in: bool
    # True: the values were on the page (the view wrote an access-log row);
    # False: no values shown (no row); None: unknown (the view may or may not have logged).
    shown: bool | None


CUSTOMER_PANEL = 'id="customer-panel-heading"'


def classify_staff_view(status: int | None, body: bytes, error: str | None) -> ViewResult:
    """What a staff member's profile-page request showed.

    A signed-in staff member always gets the customer-data panel; values are listed in a
    `<dl>` inside it. A page without the panel means the session was lost (the page was
    rendered for an anonymous visitor, which writes no access-log row).
    """
    if error in NOT_SENT:
        return ViewResult(error, ok=False, logged_in=True, shown=False)
    if error is not None or status is None:
        return ViewResult(error or "no-answer", ok=False, logged_in=True, shown=None)
    if status >= 500 or status in ANSWERED_AFTER_VIEW:
        return ViewResult(str(status), ok=False, logged_in=True, shown=None)
    if status != 200:
        return ViewResult(str(status), ok=False, logged_in=status != 302, shown=False)
    panel = body.find(CUSTOMER_PANEL.encode())
    if panel < 0:
        return ViewResult("logged-out", ok=False, logged_in=False, shown=False)
    return ViewResult("ok", ok=True, logged_in=True, shown=b"<dl>" in body[panel:])


def classify_page(kind: str, status: int | None, error: str | None) -> tuple[str, bool]:
    """Label and success of a plain GET (home, directory, settings page, health probes)."""
    if error is not None or status is None:
        return error or "no-answer", False
    if status == 200:
        return "ok", True
    if kind == "settings" and status == 302:
        return "302→login", False
    return str(status), False


def acceptable_states(initial: StoredState, attempts: Sequence[Attempt]) -> dict[StoredState, str]:
    """Every state the member's data may be in after these saves, with the reason it may.

    The last save answered with success must be there, unless a later save whose outcome is
    unknown replaced it. A save that timed out may still have been running on the server
    when the member sent the next one, so it may even have landed after a later success.
    With no success at all the data is either the initial one or erased by the retention
    purge (every member of the run starts with stale data).
    """
    ordered = sorted(attempts, key=lambda attempt: attempt.seq)
    successes = [attempt for attempt in ordered if attempt.outcome is Outcome.APPLIED]
    states: dict[StoredState, str] = {}
    if successes:
        last = successes[-1]
        states[last.state] = "last-success"
        after = [attempt for attempt in ordered if attempt.seq > last.seq]
        before = [attempt for attempt in ordered if attempt.seq < last.seq]
    else:
        last = None
        states[initial] = "initial"
        states.setdefault(ERASED, "erased")
        after, before = ordered, []
    for attempt in after:
        if attempt.outcome.is_unknown:
            states.setdefault(attempt.state, "unknown-after")
    for attempt in before:
        if attempt.outcome is Outcome.UNKNOWN_IN_FLIGHT:
            states.setdefault(attempt.state, "late-in-flight")
    return states


def verify_member(
    initial: StoredState, attempts: Sequence[Attempt], actual: StoredState
) -> MemberVerdict:
    """Whether the stored data is one the member may have, given what the site answered."""
    matched = acceptable_states(initial, attempts).get(actual)
    return MemberVerdict(ok=matched is not None, matched=matched or "none")


def count_data_lost(verdicts: Iterable[MemberVerdict]) -> int:
    """Members whose stored data is neither their last confirmed save nor an unknown one."""
    return sum(not verdict.ok for verdict in verdicts)


def alternation_breaks(actions: Sequence[str]) -> int:
    """Places in a consent history (oldest first) where the same action follows itself."""
    return sum(first == second for first, second in itertools.pairwise(actions))


def fresh_erasures(success_times: Iterable[float], retention_times: Iterable[float]) -> list[float]:
    """Retention erasures that hit data the member had saved before (so it was not stale).

    A success was answered at `success_time`, so it committed before then; a retention
    erasure recorded later erased data changed within the run, which the purge must not do.
    """
    first = min(success_times, default=None)
    if first is None:
        return []
    return sorted(moment for moment in retention_times if moment > first)


@dataclass(frozen=True)
class AccessBounds:
    """Staff views of one member: values certainly shown (and logged), and views that may
    or may not have written their row before failing."""

    shown: int = 0
    unknown: int = 0


@dataclass(frozen=True)
class AccessMismatch:
    viewer: str
    subject: str
    low: int
    high: int
    actual: int


def access_mismatches(
    bounds: Mapping[tuple[str, str], AccessBounds], rows: Mapping[tuple[str, str], int]
) -> list[AccessMismatch]:
    """(viewer, subject) pairs whose access-log row count lies outside what the views allow."""
    mismatches = []
    for pair in sorted({*bounds, *rows}):
        bound = bounds.get(pair, AccessBounds())
        actual = rows.get(pair, 0)
        low, high = bound.shown, bound.shown + bound.unknown
        if not low <= actual <= high:
            mismatches.append(AccessMismatch(pair[0], pair[1], low, high, actual))
    return mismatches


@dataclass(frozen=True)
class RequestRecord:
    """One request of the load, with its wall-clock start and end (seconds since the epoch)."""

    kind: str
    started: float
    ended: float
    label: str
    ok: bool


@dataclass
class Phase:
    """One stretch of the run: a fault from `started` to `healed`, then steady load until
    `ended` (the next phase's start). The baseline phase has `healed == started`."""

    name: str
    started: float
    healed: float
    ended: float
    data_lost: int = 0
    notes: list[str] = field(default_factory=list)
    # What the load (members, staff, reader, probes) went through: "nginx" or "none".
    front: str = "none"
    # What the fault's own traffic (the slow sockets) went through, when it has any.
    fault_front: str | None = None
    # Shown for comparison only: its failures and recovery do not decide the run's verdict
    # (lost data still does).
    informational: bool = False


@dataclass(frozen=True)
class PhaseStats:
    requests: int
    failed: Counter[str]
    recovery: float | None
    p50: float | None
    p95: float | None
    readyz: Counter[str]
    # Successes that took SLOW_SECONDS or longer (a hang the app did not cut short).
    slow: int = 0
    slowest: float | None = None
    # Seconds from the phase's start to the first and the last failed request sent.
    failure_span: tuple[float, float] | None = None


def in_phase(records: Iterable[RequestRecord], phase: Phase) -> list[RequestRecord]:
    """The requests that ended within the phase: one sent just before a fault and failed
    by it counts for that fault. Phases follow each other without gaps."""
    return [record for record in records if phase.started <= record.ended < phase.ended]


def recovery_seconds(
    records: Iterable[RequestRecord], *, healed: float, ended: float
) -> float | None:
    """Seconds from the end of a fault until requests succeed again for good.

    Requests sent while the fault lasted are the fault's; from `healed` on, the recovery
    ends with the first success sent after the last failure (0 when nothing sent after
    `healed` failed). None: still failing at `ended`, or nothing was sent at all.
    A lost session is the server answering correctly, not a failure to recover from.
    """
    counted = [
        record
        for record in records
        if record.kind not in UNCOUNTED_KINDS and record.started >= healed and record.ended < ended
    ]
    if not counted:
        return None
    failures = [
        record.started for record in counted if not record.ok and record.label not in SESSION_LOST
    ]
    if not failures:
        return 0.0
    anchor = max(failures)
    good = [record.ended for record in counted if record.ok and record.started >= anchor]
    if not good:
        return None
    return max(0.0, min(good) - healed)


def percentile(values: Sequence[float], fraction: float) -> float | None:
    """The nearest-rank percentile (fraction in 0..1); None for no values."""
    if not values:
        return None
    ordered = sorted(values)
    rank = max(1, math.ceil(fraction * len(ordered)))
    return ordered[min(rank, len(ordered)) - 1]


def phase_stats(records: Iterable[RequestRecord], phase: Phase) -> PhaseStats:
    window = in_phase(records, phase)
    counted = [record for record in window if record.kind not in UNCOUNTED_KINDS]
    durations = [record.ended - record.started for record in counted if record.ok]
    failed_at = [record.started - phase.started for record in counted if not record.ok]
    return PhaseStats(
        requests=len(counted),
        failed=Counter(record.label for record in counted if not record.ok),
        recovery=recovery_seconds(window, healed=phase.healed, ended=phase.ended),
        p50=percentile(durations, 0.5),
        p95=percentile(durations, 0.95),
        readyz=Counter(record.label for record in window if record.kind == "readyz"),
        slow=sum(duration >= SLOW_SECONDS for duration in durations),
        slowest=max(durations, default=None),
        failure_span=(min(failed_at), max(failed_at)) if failed_at else None,
    )


# While slow clients hold their connections, normal requests must keep this p95 latency, or
# twice the steady-load p95 on a machine that is slower than that anyway.
SERVING_P95_SECONDS = 2.0


def kept_serving(
    *, during_rate: float, usual_rate: float, p95: float | None, usual_p95: float | None
) -> bool:
    """Whether the site went on serving normal requests while slow clients held on: at least
    half the steady load's rate of completed requests, and no more than the latency limit."""
    if p95 is None:
        return False
    limit = max(SERVING_P95_SECONDS, 2 * (usual_p95 or 0.0))
    return during_rate >= 0.5 * usual_rate and p95 < limit


def format_failed(stats: PhaseStats) -> str:
    """The "failed" cell: failures by label, and successes that only came after a hang."""
    text = format_counts(stats.failed)
    if stats.slow:
        text += f"; {stats.slow} ok but ≥{SLOW_SECONDS:.0f} s"
    return text


def format_counts(counts: Mapping[str, int], empty: str = "none") -> str:
    """`503×12, timeout×2`: most frequent first, then by label."""
    if not counts:
        return empty
    items = sorted(counts.items(), key=lambda item: (-item[1], item[0]))
    return ", ".join(f"{label}×{count}" for label, count in items)


def format_seconds(value: float | None) -> str:
    return "not recovered" if value is None else f"{value:.1f}"


TABLE_HEADERS = (
    "fault",
    "front",
    "requests",
    "failed (by status)",
    "seconds to recover",
    "data lost",
)
# Right-aligned columns, by header.
NUMERIC_HEADERS = frozenset({"requests", "seconds to recover", "data lost"})
INFORMATIONAL_MARK = "[info]"
INFORMATIONAL_LEGEND = (
    f"{INFORMATIONAL_MARK}: informational, for comparison only; its failures and recovery "
    "do not count towards PASS/FAIL (lost data would)"
)


def front_cell(phase: Phase) -> str:
    """`nginx`, `none`, or `nginx; slow sockets: none` when the fault's own traffic took
    another way than the load."""
    if phase.fault_front is None or phase.fault_front == phase.front:
        return phase.front
    return f"{phase.front}; slow sockets: {phase.fault_front}"


def phase_label(phase: Phase) -> str:
    return f"{phase.name} {INFORMATIONAL_MARK}" if phase.informational else phase.name


def table_rows(phases: Sequence[Phase], records: Sequence[RequestRecord]) -> list[list[str]]:
    rows = []
    for phase in phases:
        stats = phase_stats(records, phase)
        rows.append(
            [
                phase_label(phase),
                front_cell(phase),
                str(stats.requests),
                format_failed(stats),
                format_seconds(stats.recovery),
                str(phase.data_lost),
            ]
        )
    return rows


def format_table(headers: Sequence[str], rows: Sequence[Sequence[str]]) -> str:
    """Plain-text table with aligned columns; numeric columns are right-aligned."""
    widths = [len(header) for header in headers]
    for row in rows:
        for index, cell in enumerate(row):
            widths[index] = max(widths[index], len(cell))

    numeric = {index for index, header in enumerate(headers) if header in NUMERIC_HEADERS}

    def line(cells: Sequence[str]) -> str:
        parts = [
            cell.rjust(widths[index]) if index in numeric else cell.ljust(widths[index])
            for index, cell in enumerate(cells)
        ]
        return " | ".join(parts).rstrip()

    rule = "-+-".join("-" * width for width in widths)
    return "\n".join([line(headers), rule, *(line(row) for row in rows)])


def _iso(moment: float) -> str:
    return datetime.fromtimestamp(moment, tz=UTC).isoformat(timespec="milliseconds")


def phase_json(phase: Phase, records: Sequence[RequestRecord]) -> dict[str, Any]:
    """One table row as JSON, with the phase's timestamps and the details behind it."""
    stats = phase_stats(records, phase)
    return {
        "fault": phase.name,
        "front": phase.front,
        "fault_front": phase.fault_front,
        "informational": phase.informational,
        "started": _iso(phase.started),
        "healed": _iso(phase.healed),
        "ended": _iso(phase.ended),
        "fault_seconds": round(phase.healed - phase.started, 2),
        "phase_seconds": round(phase.ended - phase.started, 2),
        "requests": stats.requests,
        "failed": dict(stats.failed),
        "failed_total": sum(stats.failed.values()),
        "seconds_to_recover": None if stats.recovery is None else round(stats.recovery, 2),
        "recovered": stats.recovery is not None,
        "latency_p50": None if stats.p50 is None else round(stats.p50, 4),
        "latency_p95": None if stats.p95 is None else round(stats.p95, 4),
        "slowest_success": None if stats.slowest is None else round(stats.slowest, 3),
        f"successes_over_{SLOW_SECONDS:.0f}s": stats.slow,
        "failure_span": None
        if stats.failure_span is None
        else [round(value, 2) for value in stats.failure_span],
        "readyz": dict(stats.readyz),
        "data_lost": phase.data_lost,
        "notes": list(phase.notes),
    }


def member_values(member: int, counter: int) -> tuple[str, str, str]:
    """The three values a member posts in save number `counter` (0: the seeded data).

    Every save differs from the member's others and from every other member's; "Weitere
    Informationen" carries the marker `FLT-m<member>-n<counter>`.
    """
    number = f"{1 + member % 9}{member:04d}{counter:06d}"
    mobile = f"+49171{(member * 10_007 + counter) % 10_000_000:07d}"
    info = f"FLT-m{member:04d}-n{counter:06d} erreichbar werktags ab 17 Uhr"
    return number, mobile, info
