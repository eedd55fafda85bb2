"""The pure parts of the fault run (`scripts/faults.py`): no servers, no database."""

from collections import Counter

import pytest

from faults.report import (
    ERASED,
    TABLE_HEADERS,
    AccessBounds,
    Attempt,
    Outcome,
    Phase,
    RequestRecord,
    StoredState,
    access_mismatches,
    alternation_breaks,
    classify_page,
    classify_save,
    classify_staff_view,
    count_data_lost,
    exception_name,
    format_counts,
    format_seconds,
    format_table,
    fresh_erasures,
    in_phase,
    member_values,
    percentile,
    phase_json,
    phase_stats,
    recovery_seconds,
    table_rows,
    value_digest,
    verify_member,
)
from faults.run import summarise_log

INITIAL = StoredState.of(consent=True, values=member_values(1, 0))


def state(counter: int, *, consent: bool = True) -> StoredState:
    return StoredState.of(consent=consent, values=member_values(1, counter))


def attempt(seq: int, outcome: Outcome, *, consent: bool = True) -> Attempt:
    return Attempt(seq, state(seq, consent=consent), outcome, sent_at=seq, done_at=seq + 0.5)


def record(started: float, ok: bool, *, label: str = "", kind: str = "save") -> RequestRecord:
    return RequestRecord(kind, started, started + 0.1, label or ("ok" if ok else "503"), ok)


# --- stored states ---


def test_digest_hides_the_value_and_treats_empty_as_none():
    digest = value_digest("FLT-m0001-n000001")
    assert digest is not None
    assert "FLT" not in digest
    assert value_digest("") is None
    assert value_digest(None) is None


def test_a_save_without_consent_stores_nothing_whatever_was_posted():
    assert StoredState.of(consent=False, values=member_values(3, 7)) == ERASED


def test_every_save_of_a_member_differs_and_members_differ():
    values = {member_values(member, counter) for member in range(3) for counter in range(50)}
    assert len(values) == 150


def test_state_survives_json():
    assert StoredState.from_json(INITIAL.to_json()) == INITIAL


# --- classifying answers ---


@pytest.mark.parametrize(
    ("status", "location", "error", "label", "outcome"),
    [
        (302, "/settings/profile/", None, "ok", Outcome.APPLIED),
        (302, "/accounts/login/?next=/settings/profile/", None, "302→login", Outcome.REJECTED),
        (200, None, None, "200-form", Outcome.REJECTED),
        (403, None, None, "403", Outcome.REJECTED),
        # SessionInterrupted: the session could not be saved after the view had run.
        (400, None, None, "400", Outcome.UNKNOWN_ANSWERED),
        (503, None, None, "503", Outcome.UNKNOWN_ANSWERED),
        (500, None, None, "500", Outcome.UNKNOWN_ANSWERED),
        (None, None, "timeout", "timeout", Outcome.UNKNOWN_IN_FLIGHT),
        (None, None, "reset", "reset", Outcome.UNKNOWN_IN_FLIGHT),
        (None, None, "refused", "refused", Outcome.REJECTED),
        (None, None, "connect-timeout", "connect-timeout", Outcome.REJECTED),
    ],
)
def test_classify_save(status, location, error, label, outcome):
    assert classify_save(status, location, error) == (label, outcome)


def test_staff_view_with_values_was_logged():
    body = b'<h2 id="customer-panel-heading">Kundendaten</h2><dl><dt>Kundennummer</dt></dl>'
    result = classify_staff_view(200, body, None)
    assert (result.ok, result.shown, result.logged_in) == (True, True, True)


def test_staff_view_without_values_was_not_logged():
    body = b'<h2 id="customer-panel-heading">Kundendaten</h2><p>Keine Kundendaten hinterlegt.</p>'
    assert classify_staff_view(200, body, None).shown is False


def test_staff_view_without_the_panel_means_the_session_was_lost():
    result = classify_staff_view(200, b"<h1>Olga</h1>", None)
    assert (result.label, result.ok, result.logged_in, result.shown) == (
        "logged-out",
        False,
        False,
        False,
    )


@pytest.mark.parametrize(
    ("status", "error"), [(503, None), (500, None), (400, None), (None, "timeout")]
)
def test_failed_staff_view_may_or_may_not_have_logged(status, error):
    assert classify_staff_view(status, b"", error).shown is None


def test_classify_page():
    assert classify_page("home", 200, None) == ("ok", True)
    assert classify_page("settings", 302, None) == ("302→login", False)
    assert classify_page("directory", None, "timeout") == ("timeout", False)


# --- verification: stored state against what members were told ---


def test_last_success_must_be_stored():
    attempts = [attempt(1, Outcome.APPLIED), attempt(2, Outcome.APPLIED)]
    assert verify_member(INITIAL, attempts, state(2)).matched == "last-success"
    assert verify_member(INITIAL, attempts, state(1)).ok is False


def test_unknown_after_the_last_success_may_be_stored_or_not():
    attempts = [attempt(1, Outcome.APPLIED), attempt(2, Outcome.UNKNOWN_ANSWERED)]
    assert verify_member(INITIAL, attempts, state(1)).ok
    assert verify_member(INITIAL, attempts, state(2)).matched == "unknown-after"


def test_rejected_saves_are_never_acceptable():
    attempts = [attempt(1, Outcome.APPLIED), attempt(2, Outcome.REJECTED)]
    assert verify_member(INITIAL, attempts, state(2)).ok is False


def test_a_timed_out_save_may_land_after_a_later_success():
    attempts = [attempt(1, Outcome.UNKNOWN_IN_FLIGHT), attempt(2, Outcome.APPLIED)]
    assert verify_member(INITIAL, attempts, state(1)).matched == "late-in-flight"


def test_an_answered_error_cannot_land_after_a_later_success():
    attempts = [attempt(1, Outcome.UNKNOWN_ANSWERED), attempt(2, Outcome.APPLIED)]
    assert verify_member(INITIAL, attempts, state(1)).ok is False


def test_withdrawal_confirmed_means_everything_erased():
    attempts = [attempt(1, Outcome.APPLIED), attempt(2, Outcome.APPLIED, consent=False)]
    assert verify_member(INITIAL, attempts, ERASED).ok
    assert verify_member(INITIAL, attempts, state(1)).ok is False


def test_without_any_success_initial_or_purged_data_is_fine():
    attempts = [attempt(1, Outcome.REJECTED)]
    assert verify_member(INITIAL, attempts, INITIAL).matched == "initial"
    assert verify_member(INITIAL, attempts, ERASED).matched == "erased"
    assert verify_member(INITIAL, attempts, state(1)).ok is False


def test_data_lost_counts_members_in_no_acceptable_state():
    good = verify_member(INITIAL, [attempt(1, Outcome.APPLIED)], state(1))
    lost = verify_member(INITIAL, [attempt(1, Outcome.APPLIED)], ERASED)
    assert count_data_lost([good, lost, good]) == 1
    assert count_data_lost([]) == 0


def test_consent_history_must_alternate():
    assert alternation_breaks(["granted", "withdrawn", "granted"]) == 0
    assert alternation_breaks(["granted", "granted", "withdrawn", "withdrawn"]) == 2
    assert alternation_breaks([]) == 0


def test_retention_erasure_after_a_confirmed_save_is_a_loss():
    assert fresh_erasures([10.0, 20.0], [5.0]) == []
    assert fresh_erasures([10.0, 20.0], [5.0, 12.0]) == [12.0]
    assert fresh_erasures([], [5.0]) == []


def test_access_rows_must_lie_between_shown_and_shown_plus_unknown():
    bounds = {
        ("team", "anna"): AccessBounds(shown=3, unknown=1),
        ("team", "ben"): AccessBounds(shown=2),
    }
    rows = {("team", "anna"): 4, ("team", "ben"): 1, ("cm", "carl"): 1}
    mismatches = access_mismatches(bounds, rows)
    assert [(m.viewer, m.subject, m.low, m.high, m.actual) for m in mismatches] == [
        ("cm", "carl", 0, 0, 1),
        ("team", "ben", 2, 2, 1),
    ]


# --- recovery time ---


def test_no_failure_after_the_fault_means_no_recovery_time():
    records = [record(1.0, False), record(5.0, True), record(6.0, True)]
    assert recovery_seconds(records, healed=4.0, ended=10.0) == 0.0


def test_recovery_ends_with_the_first_success_after_the_last_failure():
    records = [record(4.5, False), record(6.0, False), record(6.5, True), record(7.0, True)]
    # The success sent at 6.5 s ends at 6.6 s: 2.6 s after the fault was removed at 4 s.
    assert recovery_seconds(records, healed=4.0, ended=10.0) == pytest.approx(2.6)


def test_still_failing_at_the_end_is_not_recovered():
    records = [record(5.0, True), record(9.0, False)]
    assert recovery_seconds(records, healed=4.0, ended=10.0) is None
    assert format_seconds(None) == "not recovered"


def test_nothing_sent_after_the_fault_is_not_recovered():
    assert recovery_seconds([record(1.0, True)], healed=4.0, ended=10.0) is None


def test_lost_sessions_and_readyz_do_not_delay_recovery():
    records = [
        record(5.0, False, label="302→login"),
        record(6.0, False, kind="readyz"),
        record(7.0, True),
    ]
    assert recovery_seconds(records, healed=4.0, ended=10.0) == 0.0


def test_percentile_nearest_rank():
    assert percentile([], 0.5) is None
    assert percentile([3.0, 1.0, 2.0, 4.0], 0.5) == 2.0
    assert percentile([float(n) for n in range(1, 101)], 0.95) == 95.0


# --- the table ---


def test_counts_are_most_frequent_first():
    assert format_counts(Counter({"timeout": 2, "503": 12, "500": 2})) == "503×12, 500×2, timeout×2"
    assert format_counts(Counter()) == "none"


def test_table_columns_are_aligned():
    text = format_table(("fault", "requests"), [["a", "5"], ["longer name", "1234"]])
    lines = text.splitlines()
    assert lines[0] == "fault       | requests"
    assert lines[1] == "------------+---------"
    assert lines[2] == "a           |        5"
    assert lines[3] == "longer name |     1234"


def test_table_rows_for_a_phase():
    phase = Phase("postgres restart", started=0.0, healed=2.0, ended=10.0, data_lost=0)
    records = [
        record(0.5, False, label="503"),
        record(1.0, False, label="503"),
        record(1.5, False, label="timeout"),
        record(2.5, True),
        record(3.0, True),
        record(4.0, False, kind="readyz", label="503"),
        record(11.0, False),  # after the phase: not counted
    ]
    [row] = table_rows([phase], records)
    assert row == ["postgres restart", "none", "5", "503×2, timeout×1", "0.0", "0"]
    assert len(row) == len(TABLE_HEADERS)
    stats = phase_stats(records, phase)
    assert stats.readyz == Counter({"503": 1})
    assert stats.failure_span == (0.5, 1.5)
    as_json = phase_json(phase, records)
    assert as_json["failed"] == {"503": 2, "timeout": 1}
    assert as_json["recovered"] is True


def test_a_request_belongs_to_the_phase_in_which_it_ended():
    before = Phase("steady", started=0.0, healed=0.0, ended=10.0)
    fault = Phase("postgres restart", started=10.0, healed=11.0, ended=20.0)
    # Sent just before the restart, failed by it.
    failed = RequestRecord("settings", 9.95, 10.2, "400", False)
    assert in_phase([failed], before) == []
    assert in_phase([failed], fault) == [failed]
    assert phase_stats([failed], fault).failure_span == pytest.approx((-0.05, -0.05))


def test_slow_successes_are_shown_beside_the_failures():
    phase = Phase("postgres hang", started=0.0, healed=6.0, ended=12.0)
    slow = RequestRecord("save", 0.5, 6.2, "ok", True)
    [row] = table_rows([phase], [slow, record(7.0, True)])
    assert row[3] == "none; 1 ok but ≥5 s"


def test_server_log_summary_counts_the_final_exception_and_never_messages():
    log = "\n".join(
        [
            "Service Unavailable: /members/faults-saver-01/",
            "Traceback (most recent call last):",
            '  File "x.py", line 1, in f',
            "AttributeError: 'SessionStore' object has no attribute '_session_cache'",
            "",
            "During handling of the above exception, another exception occurred:",
            "",
            "Traceback (most recent call last):",
            "psycopg.OperationalError: connection failed: secret detail",
            "",
            "The above exception was the direct cause of the following exception:",
            "",
            "django.db.utils.OperationalError: connection failed: secret detail",
            "[2026-12-02 04:09:08 +0100] [12] [CRITICAL] WORKER TIMEOUT (pid:13)",
            "Traceback (most recent call last):",
            "django.contrib.sessions.exceptions.SessionInterrupted: The request's session was",
            '127.0.0.1 [02/Dec/2026:05:09:06 +0100] "GET /healthz HTTP/1.1" 200 2 1ms',
        ]
    )
    found = summarise_log(log)
    assert found == Counter(
        {
            "Service Unavailable /members/<name>/": 1,
            "django.db.utils.OperationalError": 1,
            "WORKER TIMEOUT": 1,
            "django.contrib.sessions.exceptions.SessionInterrupted": 1,
        }
    )
    assert not any("secret" in key for key in found)


def test_a_failed_commands_exception_is_named_by_type_only():
    err = "\n".join(
        [
            "Traceback (most recent call last):",
            '  File "manage.py", line 22, in <module>',
            "psycopg.OperationalError: connection failed: secret detail",
            "",
            "django.db.utils.OperationalError: connection failed: secret detail",
            "\tIs the server running on that host and accepting TCP/IP connections?",
            "DETAIL:  Key (id)=(7) is still referenced.",
        ]
    )
    assert exception_name(err) == "django.db.utils.OperationalError"
    assert exception_name("KeyboardInterrupt\n") == "KeyboardInterrupt"
    assert exception_name("Killed\n") == "no exception named"
    assert exception_name("RuntimeError: stop\n") == "RuntimeError"
    assert exception_name("") == "no output"
