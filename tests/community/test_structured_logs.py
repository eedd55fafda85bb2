"""Structured logs: one JSON line per request and the project's own lines in the same format,
with names, counts and ids only (never a value, a query string, a username or a header)."""

import json
import logging
import re
import sys
from collections import Counter
from datetime import timedelta

import pytest
from django.db import OperationalError, transaction
from django.test import Client, RequestFactory
from django.utils import timezone

from community.logs import JsonFormatter, TextFormatter
from customer_data.models import CustomerData
from customer_data.retention import purge_stale_customer_data
from customer_data.services import UndecryptableRow, erase_customer_data, rotate_field_keys
from faults.run import summarise_log
from tests.factories import FURTHER_INFO, TYPED, CustomerDataFactory, UserFactory
from tests.helpers import run_with_settings
from tests.resilience.test_maintenance import corrupt, new_key
from tests.visibility.conftest import LEAK_MARKERS

pytestmark = pytest.mark.django_db

# Stands out in any line it should not be in.
CANARY = "Kanarienvogel"
PROFIL_POST = {
    "profile-display_name": f"{CANARY} Anzeigename",
    "profile-about": f"{CANARY} über mich",
    "profile-location": f"{CANARY}stadt",
    "customer-consent": "on",
    **{f"customer-{name}": value for name, value in TYPED.items()},
}
FORBIDDEN = [*LEAK_MARKERS, FURTHER_INFO, CANARY, CANARY.lower(), "?", "csrftoken", "sessionid"]


def json_lines(caplog, logger: str) -> list[dict]:
    """The captured records of `logger`, each as the production formatter writes it."""
    formatter = JsonFormatter()
    return [
        json.loads(formatter.format(record))
        for record in caplog.records
        if record.name == logger or record.name.startswith(f"{logger}.")
    ]


def raw_lines(caplog) -> str:
    formatter = JsonFormatter()
    return "\n".join(formatter.format(record) for record in caplog.records)


@pytest.fixture
def member():
    return UserFactory(username=f"{CANARY.lower()}-mitglied", rank="neuling")


def test_a_members_profil_post_is_one_request_line_with_fields_and_no_values(member, login, caplog):
    client = login(member)
    client.cookies["extra"] = CANARY
    caplog.set_level(logging.DEBUG)
    response = client.post(
        f"/settings/profile/?q={CANARY}", PROFIL_POST, HTTP_USER_AGENT=f"{CANARY}-Browser"
    )

    assert response.status_code == 302  # saved: back to the tab
    assert CustomerData.objects.get(user=member).filled_count == 3
    (line,) = json_lines(caplog, "community.requests")
    assert line["event"] == "request"
    assert line["level"] == "INFO"
    assert (line["method"], line["path"], line["status"]) == ("POST", "/settings/profile/", 302)
    assert line["user_id"] == member.pk
    assert isinstance(line["duration_ms"], float)
    assert line["duration_ms"] > 0
    assert set(line) == {
        *("time", "level", "logger", "message", "event"),
        *("method", "path", "status", "duration_ms", "user_id"),
    }
    text = json.dumps(line, ensure_ascii=False)
    assert [marker for marker in FORBIDDEN if marker in text] == []
    assert member.username not in text
    # Nothing any logger wrote during the request carries a value or the canary either.
    everything = raw_lines(caplog)
    assert [marker for marker in FORBIDDEN if marker in everything] == []


def test_an_admin_search_in_the_query_string_logs_the_path_only(people, login, caplog):
    client = login(people["cm"])
    caplog.set_level(logging.INFO)
    response = client.get(f"/admin/customer_data/customerdata/?q={CANARY}&o=1")

    assert response.status_code == 200
    (line,) = json_lines(caplog, "community.requests")
    assert line["path"] == "/admin/customer_data/customerdata/"
    assert (line["method"], line["status"], line["user_id"]) == ("GET", 200, people["cm"].pk)
    assert CANARY not in json.dumps(line)
    assert "q=" not in json.dumps(line)
    assert "cm" not in {line["message"], line["path"]}


def test_the_request_line_loads_no_user_a_page_did_not_need(
    member, login, caplog, django_assert_num_queries
):
    client = login(member)
    caplog.set_level(logging.DEBUG)
    with django_assert_num_queries(0):
        response = client.get("/healthz?probe=1")

    assert response.status_code == 200
    (line,) = json_lines(caplog, "community.requests")
    # Healthy probes sit below INFO, out of the production log; the user was never loaded.
    assert (line["level"], line["path"], line["user_id"]) == ("DEBUG", "/healthz", None)


def test_healthy_probes_are_left_out_at_the_default_level(caplog):
    caplog.set_level(logging.INFO)
    assert Client().get("/healthz").status_code == 200
    assert json_lines(caplog, "community.requests") == []


def test_an_anonymous_request_and_a_404_are_logged_with_no_user(caplog):
    caplog.set_level(logging.INFO)
    response = Client().get(f"/members/{CANARY}-gibt-es-nicht/?page=2")
    assert response.status_code == 404
    (line,) = json_lines(caplog, "community.requests")
    assert (line["status"], line["user_id"]) == (404, None)
    assert "page=" not in json.dumps(line)


def test_an_erasure_is_a_json_line_with_counts_and_no_values(
    member, caplog, django_capture_on_commit_callbacks
):
    CustomerDataFactory(user=member, full=True)
    caplog.set_level(logging.INFO)
    with django_capture_on_commit_callbacks(execute=True):
        assert erase_customer_data(user_id=member.pk, by=member)

    (line,) = json_lines(caplog, "customer_data")
    assert line["event"] == "customer_data.erased"
    assert (line["reason"], line["fields"], line["consent_withdrawn"]) == ("erasure", 3, True)
    text = json.dumps(line, ensure_ascii=False)
    assert [marker for marker in FORBIDDEN if marker in text] == []
    assert member.username not in text


def erase_then_fail(user_id: int) -> None:
    with transaction.atomic():
        erase_customer_data(user_id=user_id, by=None)
        raise RuntimeError("fails midway")


def test_an_erasure_rolled_back_is_not_logged(member, caplog, django_capture_on_commit_callbacks):
    CustomerDataFactory(user=member, full=True)
    caplog.set_level(logging.INFO)
    with django_capture_on_commit_callbacks(execute=True), pytest.raises(RuntimeError):
        erase_then_fail(member.pk)

    assert json_lines(caplog, "customer_data") == []
    assert CustomerData.objects.get(user=member).filled_count == 3


def test_the_purge_logs_its_counts_and_each_erasure_as_json(
    member, people, caplog, django_capture_on_commit_callbacks, settings
):
    settings.CUSTOMER_DATA_RETENTION_DAYS = 30
    CustomerDataFactory(user=member, full=True)
    CustomerDataFactory(user=people["owner"], partly=True)
    caplog.set_level(logging.INFO)
    with django_capture_on_commit_callbacks(execute=True):
        result = purge_stale_customer_data(now=timezone.now() + timedelta(days=31))

    assert result.stale == 2
    lines = json_lines(caplog, "customer_data")
    erasures = [line for line in lines if line["event"] == "customer_data.erased"]
    assert sorted(line["fields"] for line in erasures) == [2, 3]
    assert {line["reason"] for line in erasures} == {"retention"}
    (summary,) = [line for line in lines if line["event"] == "retention.purged"]
    assert (summary["stale"], summary["outdated_consent"], summary["access_rows"]) == (2, 0, 0)
    text = raw_lines(caplog)
    assert [marker for marker in FORBIDDEN if marker in text] == []


def test_a_staff_view_logs_the_access_log_write_as_a_count(
    people, login, caplog, django_capture_on_commit_callbacks
):
    CustomerDataFactory(user=people["owner"], full=True)
    client = login(people["team"])
    caplog.set_level(logging.INFO)
    with django_capture_on_commit_callbacks(execute=True):
        assert client.get("/members/owner/").status_code == 200

    (written,) = json_lines(caplog, "customer_data")
    assert written["event"] == "access_log.written"
    assert written["rows"] == 1
    assert written["channels"] == ["profile"]
    (request,) = json_lines(caplog, "community.requests")
    assert request["user_id"] == people["team"].pk
    text = raw_lines(caplog)
    assert [marker for marker in FORBIDDEN if marker in text] == []
    assert "Olga" not in text


def test_a_key_rotation_logs_how_many_rows_it_rewrote(member, people, caplog, settings):
    CustomerDataFactory(user=member, full=True)
    CustomerDataFactory(user=people["owner"], partly=True)
    settings.FIELD_ENCRYPTION_KEYS = [new_key(), *settings.FIELD_ENCRYPTION_KEYS]
    caplog.set_level(logging.INFO)
    rotate_field_keys()

    (line,) = json_lines(caplog, "customer_data")
    assert line["event"] == "maintenance.finished"
    assert (line["job"], line["rows"], line["undecryptable"]) == ("rotate_field_keys", 2, 0)


def test_a_rotation_stopped_by_an_unreadable_row_logs_its_id_not_its_token(
    member, caplog, settings
):
    CustomerDataFactory(user=member, full=True)
    row_id = corrupt(member)
    settings.FIELD_ENCRYPTION_KEYS = [new_key(), *settings.FIELD_ENCRYPTION_KEYS]
    caplog.set_level(logging.INFO)
    with pytest.raises(UndecryptableRow):
        rotate_field_keys()

    (line,) = json_lines(caplog, "customer_data")
    assert (line["event"], line["level"], line["row_id"]) == (
        "maintenance.stopped",
        "ERROR",
        row_id,
    )
    assert "gAAAAA" not in raw_lines(caplog)


def test_djangos_own_records_lose_the_request_they_carry():
    request = RequestFactory().get(f"/members/?q={CANARY}", HTTP_COOKIE=f"sessionid={CANARY}")
    record = logging.getLogger("django.request").makeRecord(
        "django.request",
        logging.WARNING,
        __file__,
        1,
        "Not Found: %s",
        (request.path,),
        None,
        extra={"status_code": 404, "request": request},
    )

    line = json.loads(JsonFormatter().format(record))
    assert line["message"] == "Not Found: /members/"
    assert line["status_code"] == 404
    assert "request" not in line
    assert CANARY not in TextFormatter().format(record)


def test_the_text_format_reads_as_a_sentence_with_its_fields():
    record = logging.getLogger("customer_data.retention").makeRecord(
        "customer_data.retention",
        logging.INFO,
        __file__,
        1,
        "Retention purge finished",
        (),
        None,
        extra={"event": "retention.purged", "stale": 2},
    )
    text = TextFormatter().format(record)
    assert text.endswith(
        "INFO customer_data.retention: Retention purge finished event=retention.purged stale=2"
    )


def test_the_text_request_line_states_each_field_once(member, login, caplog):
    client = login(member)
    caplog.set_level(logging.INFO)
    client.get("/settings/profile/?tab=1")

    (record,) = [record for record in caplog.records if record.name == "community.requests"]
    text = TextFormatter().format(record)
    assert re.search(
        rf"INFO community\.requests: GET /settings/profile/ 200 \d+\.\d ms "
        rf"event=request user_id={member.pk}$",
        text,
    ), text


def test_the_fault_runs_log_summary_reads_json_lines():
    try:
        try:
            raise KeyError("erster Fehler")
        except KeyError as exc:
            raise OperationalError(f"connection failed: {CANARY}") from exc
    except OperationalError:
        exc_info = sys.exc_info()
    record = logging.getLogger("django.request").makeRecord(
        "django.request",
        logging.ERROR,
        __file__,
        1,
        "%s: %s",
        ("Service Unavailable", "/members/faults-saver-01/"),
        exc_info,
        extra={"status_code": 503},
    )
    request_line = '{"time": "2026-12-02T11:41:19.235+00:00", "message": "GET /x 503 2.0 ms"}'
    log = "\n".join([JsonFormatter().format(record), request_line, '{"time": "cut off'])

    found = summarise_log(log)
    assert found == Counter(
        {"Service Unavailable /members/<name>/": 1, "django.db.utils.OperationalError": 1}
    )
    assert not any(CANARY in key for key in found)


# Configures logging as the server would, with stderr sent to stdout, and logs one line.
LOG_PROBE = (
    "import logging, django; sys.stderr = sys.stdout; django.setup(); "
    "logging.getLogger('customer_data.retention').info("
    "'Retention purge finished', extra={'event': 'retention.purged', 'stale': 2})"
)


def test_production_logs_json_lines():
    line = json.loads(run_with_settings(LOG_PROBE, DJANGO_DEBUG="false"))
    assert line["logger"] == "customer_data.retention"
    assert (line["event"], line["stale"], line["level"]) == ("retention.purged", 2, "INFO")


def test_development_logs_text_and_the_variable_chooses_either_way():
    development = run_with_settings(LOG_PROBE, DJANGO_DEBUG="true")
    assert development.endswith("Retention purge finished event=retention.purged stale=2")
    forced_json = run_with_settings(LOG_PROBE, DJANGO_DEBUG="true", DJANGO_LOG_FORMAT="json")
    assert json.loads(forced_json)["stale"] == 2
    forced_text = run_with_settings(LOG_PROBE, DJANGO_DEBUG="false", DJANGO_LOG_FORMAT="text")
    assert forced_text.endswith("stale=2")
