"""Error reporting to Sentry (community/error_reporting.py): no customer-data value in
anything the SDK would send, and a report that still says where it failed.

The values are canaries made up for each run (so they appear in no source line a stack frame
could show): a customer number and a mobile number that pass the Profil tab's validation, a
word in "Weitere Informationen", and a name typed into the staff search. What would be sent
is caught by a transport that keeps the envelopes, and searched whole: as serialised, in
lower case, and as its digits alone (a phone number in E.164, national or spaced form).
To show that the canaries really reach the SDK, the tests also keep the events as they were
before the scrubber ran, and find the canaries there.
"""

import json
import logging
import re
import secrets
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlencode

import phonenumbers
import pytest
import sentry_sdk
from django import shortcuts
from django.db.utils import DataError, OperationalError
from django.http import HttpResponse
from django.test import Client
from django.test.client import ClientHandler
from sentry_sdk.envelope import Envelope
from sentry_sdk.integrations.wsgi import SentryWsgiMiddleware
from sentry_sdk.transport import Transport

from community import error_reporting
from customer_data import crypto, selectors
from customer_data.models import CustomerData
from profiles import views as profile_views
from tests.helpers import run_with_settings, store_customer_data

DSN = "https://public@sentry.invalid/1"
# What the SDK collects when nothing restrains it: the scrubber alone must then keep every
# value out (the "data_collection" fields left out default to "collect").
COLLECT_EVERYTHING: dict[str, Any] = {
    "data_collection": {
        "user_info": True,
        "database_query_data": True,
        "stack_frame_variables": True,
        "queues": True,
    },
    "include_local_variables": True,
    "max_request_body_size": "always",
}


@dataclass(frozen=True)
class Canaries:
    customer_number: str
    mobile_number: str  # E.164, as stored
    further_info_word: str
    search_name: str

    @classmethod
    def fresh(cls) -> "Canaries":
        mobile = None
        while mobile is None:
            parsed = phonenumbers.parse(f"0176{secrets.randbelow(10**8):08d}", "DE")
            if phonenumbers.is_valid_number(parsed):
                mobile = phonenumbers.format_number(parsed, phonenumbers.PhoneNumberFormat.E164)
        token = secrets.token_hex(6).upper()
        return cls(
            customer_number=str(10**10 + secrets.randbelow(9 * 10**10)),
            mobile_number=mobile,
            further_info_word=f"KANARIE{token}",
            search_name=f"Zaunkoenig{token}",
        )

    @property
    def further_info(self) -> str:
        return f"Rückruf bitte ab 18 Uhr, Auftrag {self.further_info_word}"

    @property
    def mobile_typed(self) -> str:
        national = "0" + self.mobile_number.removeprefix("+49")
        return f"{national[:4]} {national[4:]}"

    @property
    def customer_number_typed(self) -> str:
        number = self.customer_number
        return f"{number[:4]} {number[4:8]}-{number[8:]}"

    def profile_post(self) -> dict[str, str]:
        return {
            "profile-display_name": "Olga",
            "profile-about": "",
            "profile-location": "",
            "customer-consent": "on",
            "customer-customer_number": self.customer_number_typed,
            "customer-mobile_number": self.mobile_typed,
            "customer-further_info": self.further_info,
        }

    def found_in(self, text: str) -> list[str]:
        """The canaries `text` contains in any form."""
        digits = re.sub(r"\D", "", text)
        lower = text.lower()
        found = {
            "customer number": self.customer_number in digits,
            "mobile number": self.mobile_number.removeprefix("+49") in digits,
            "further info": self.further_info_word.lower() in lower,
            "search term": self.search_name.lower() in lower,
        }
        return [name for name, present in found.items() if present]


class KeepingTransport(Transport):
    """Keeps every envelope the SDK would send."""

    def __init__(self) -> None:
        super().__init__()
        self.envelopes: list[Envelope] = []

    def capture_envelope(self, envelope: Envelope) -> None:
        self.envelopes.append(envelope)

    def items(self, kind: str) -> list[dict[str, Any]]:
        return [
            item.payload.json
            for envelope in self.envelopes
            for item in envelope.items
            if item.type == kind and item.payload.json is not None
        ]

    def everything(self) -> str:
        """All of it as it would go over the wire, and each event as JSON (non-ASCII kept)."""
        wire = "\n".join(envelope.serialize().decode("utf-8") for envelope in self.envelopes)
        events = [
            json.dumps(event, ensure_ascii=False)
            for kind in ("event", "transaction")
            for event in self.items(kind)
        ]
        return "\n".join([wire, *events])


@dataclass
class Reporting:
    transport: KeepingTransport
    # The events as they were handed to the scrubber, before it ran.
    unscrubbed: list[dict[str, Any]]

    def unscrubbed_text(self) -> str:
        return json.dumps(self.unscrubbed, ensure_ascii=False, default=str)


@pytest.fixture
def sentry() -> Iterator[Callable[..., Reporting]]:
    """Start the SDK as `init_sentry` does, with a keeping transport (and `overrides`);
    afterwards the process is left without a client again."""

    def start(**overrides: Any) -> Reporting:
        reporting = Reporting(KeepingTransport(), [])

        def recording(scrub: Callable[[Any, Any], Any]) -> Callable[[Any, Any], Any]:
            def before_send(event: Any, hint: Any) -> Any:
                reporting.unscrubbed.append(json.loads(json.dumps(event, default=str)))
                return scrub(event, hint)

            return before_send

        options = error_reporting.sentry_options(
            dsn=DSN, environment="test", traces_sample_rate=1.0
        )
        options |= overrides
        options["before_send"] = recording(options["before_send"])
        options["before_send_transaction"] = recording(options["before_send_transaction"])
        sentry_sdk.init(**options, transport=reporting.transport)
        return reporting

    yield start
    sentry_sdk.get_client().close()
    sentry_sdk.get_global_scope().set_client(None)
    sentry_sdk.get_isolation_scope().clear_breadcrumbs()


class ServerHandler(ClientHandler):
    """The test client's handler inside the WSGI middleware that the SDK puts around Django's
    `WSGIHandler` in production, so events carry the request as a server reports it (URL,
    query string, headers, transaction), which the test client's own handler skips."""

    def __call__(self, environ: dict[str, Any]) -> HttpResponse:
        responses: list[HttpResponse] = []

        def app(environ: dict[str, Any], start_response: Callable[..., Any]) -> list[bytes]:
            response = ClientHandler.__call__(self, environ)
            responses.append(response)
            start_response(f"{response.status_code} {response.reason_phrase}", [])
            return []

        SentryWsgiMiddleware(app, span_origin="auto.http.django")(environ, lambda *args: None)
        return responses[0]


def as_served(client: Client) -> Client:
    client.handler = ServerHandler(enforce_csrf_checks=False)
    return client


@pytest.fixture
def canaries() -> Canaries:
    return Canaries.fresh()


def fail_in_the_save_path(monkeypatch: pytest.MonkeyPatch, canaries: Canaries) -> None:
    """Fail where the save computes the first blind index: the three values are then in the
    service's locals (`cleaned`, `number`, `mobile`, `info`). On the way, log the value the
    way a careless line would, and fail with a database error quoting the row."""

    def blind_index(value: str) -> str:
        log = logging.getLogger("customer_data.services")
        log.warning("Blind index for %s", value)
        log.error("Saving %s failed", canaries.mobile_number)
        raise DataError(
            "value too long for type character varying(20)\n"
            f"DETAIL: Failing row contains ({value}, {canaries.mobile_number}, "
            f"{canaries.further_info})."
        ) from ValueError(canaries.further_info)

    monkeypatch.setattr(crypto, "blind_index", blind_index)


def frames_of(event: dict[str, Any]) -> list[dict[str, Any]]:
    return [
        frame
        for exception in event["exception"]["values"]
        # A cause that was never raised has no stack of its own.
        for frame in exception.get("stacktrace", {}).get("frames", [])
    ]


def test_without_a_dsn_sentry_is_never_started(monkeypatch):
    # sentry_sdk.init() without a DSN would pick this up by itself.
    monkeypatch.setenv("SENTRY_DSN", DSN)
    assert error_reporting.init_sentry(dsn="", environment="test", traces_sample_rate=1.0) is False
    assert not sentry_sdk.get_client().is_active()
    assert sentry_sdk.capture_message("nothing to send") is None


def test_settings_start_sentry_only_with_a_dsn(monkeypatch):
    monkeypatch.delenv("SENTRY_DSN", raising=False)
    setup = "import django; django.setup(); import sentry_sdk; client = sentry_sdk.get_client(); "
    assert run_with_settings(setup + "print(client.is_active())") == "False"
    started = run_with_settings(
        setup + "options = client.options; print(client.is_active(), options['environment'], "
        "options['traces_sample_rate'], options['include_local_variables'], "
        "options['before_send'].__name__, options['before_send_transaction'].__name__, "
        "options['before_breadcrumb'].__name__, options['data_collection']['user_info'], "
        "options['data_collection']['http_bodies'])",
        SENTRY_DSN=DSN,
        SENTRY_ENVIRONMENT="staging",
        SENTRY_TRACES_SAMPLE_RATE="0.25",
    )
    assert started == "True staging 0.25 False scrub_event scrub_event scrub_breadcrumb False []"


# The SDK as `init_sentry` configures it, and collecting all it can: in both, nothing of a value
# may leave; in the second the scrubber alone stands between the values and Sentry.
COLLECTION = pytest.mark.parametrize(
    "collection", [{}, COLLECT_EVERYTHING], ids=["as-configured", "collecting-everything"]
)


@COLLECTION
@pytest.mark.django_db
def test_a_failed_save_is_reported_without_any_customer_data_value(
    people, login, monkeypatch, sentry, canaries, collection
):
    reporting = sentry(**collection)
    fail_in_the_save_path(monkeypatch, canaries)
    client = as_served(login(people["owner"], Client(raise_request_exception=False)))
    query = urlencode({"ref": canaries.customer_number, "note": canaries.further_info_word})
    response = client.post(f"/settings/profile/?{query}", canaries.profile_post())

    assert response.status_code == 500
    assert not CustomerData.objects.filter(customer_number__isnull=False).exists()
    # The values did reach the SDK (the exception message, the log lines; collecting
    # everything, also the request body, the query string and the frames' variables) ...
    assert {"customer number", "mobile number", "further info"} <= set(
        canaries.found_in(reporting.unscrubbed_text())
    )
    # ... and nothing of them leaves it.
    assert canaries.found_in(reporting.transport.everything()) == []

    [logged, crash] = reporting.transport.items("event")
    assert logged["logentry"] == {"message": "Saving %s failed"}
    assert [value["type"] for value in crash["exception"]["values"]] == ["ValueError", "DataError"]
    assert crash["exception"]["values"][-1]["value"] == "DataError"
    # Still a useful report: where it failed, on which request, after what.
    frames = frames_of(crash)
    assert "save_consent_and_values" in [frame["function"] for frame in frames]
    assert all(isinstance(frame["lineno"], int) and "vars" not in frame for frame in frames)
    assert crash["request"] == {
        "method": "POST",
        "url": "http://testserver/settings/profile/",
        "headers": {
            "Content-Length": crash["request"]["headers"]["Content-Length"],
            "Content-Type": crash["request"]["headers"]["Content-Type"],
        },
    }
    assert crash["transaction"] == "/settings/profile/"
    assert set(crash.get("user", {})) <= {"id"}
    messages = [crumb.get("message", "") for crumb in crash["breadcrumbs"]["values"]]
    assert "Blind index for %s" in messages
    assert any(message.startswith("SELECT") for message in messages)


@COLLECTION
@pytest.mark.django_db
def test_a_failed_staff_search_is_reported_without_the_search_term(
    people, login, monkeypatch, sentry, canaries, collection
):
    reporting = sentry(**collection)
    real_list_search_hits = selectors.list_search_hits

    def list_search_hits(search: Any, **kwargs: Any) -> list[Any]:
        real_list_search_hits(search, **kwargs)  # the search's SQL ran, then timed out
        raise OperationalError(
            "canceling statement due to statement timeout\nCONTEXT: while locking tuple (0,1)"
        )

    monkeypatch.setattr(selectors, "list_search_hits", list_search_hits)
    client = as_served(login(people["team"], Client(raise_request_exception=False)))
    # By number (the term goes no further than the request and the locals), and by part of
    # a name (the term is also an SQL parameter).
    for term in (canaries.customer_number_typed, canaries.search_name):
        response = client.post("/admin/customer_data/customerdata/search/", {"q": term})
        assert response.status_code == 503  # the database is away: "try again shortly"

    if collection:
        assert {"customer number", "search term"} <= set(
            canaries.found_in(reporting.unscrubbed_text())
        )
    assert canaries.found_in(reporting.transport.everything()) == []
    crashes = reporting.transport.items("event")
    assert len(crashes) == 2
    for crash in crashes:
        # A database message worded without values is kept: it tells a timeout from an outage.
        assert crash["exception"]["values"][-1]["type"] == "OperationalError"
        assert crash["exception"]["values"][-1]["value"] == (
            "canceling statement due to statement timeout"
        )
        assert "search_members" in [frame["function"] for frame in frames_of(crash)]


@COLLECTION
@pytest.mark.django_db
def test_slow_transactions_are_scrubbed_too(
    people, login, monkeypatch, sentry, canaries, collection
):
    reporting = sentry(**collection)
    # In production the SDK patches `render` before the views are imported; here they were
    # imported first, so give the view the patched one.
    monkeypatch.setattr(profile_views, "render", shortcuts.render)
    data = store_customer_data(
        people["owner"],
        customer_number=canaries.customer_number,
        mobile_number=canaries.mobile_number,
        further_info=canaries.further_info,
    )
    team = as_served(login(people["team"]))
    profile = team.get("/members/owner/", {"ref": canaries.customer_number})
    change = team.get(f"/admin/customer_data/customerdata/{data.pk}/change/")
    listing = team.get("/admin/customer_data/customerdata/", {"q": canaries.search_name})
    assert [profile.status_code, change.status_code, listing.status_code] == [200, 200, 200]
    # The pages showed the values, and their template contexts went into the spans.
    assert canaries.customer_number in profile.text
    assert {"customer number", "mobile number", "further info"} <= set(
        canaries.found_in(reporting.unscrubbed_text())
    )

    assert canaries.found_in(reporting.transport.everything()) == []
    transactions = reporting.transport.items("transaction")
    assert [event["transaction"] for event in transactions] == [
        "/members/{username}/",
        "/admin/customer_data/customerdata/{object_id}/change/",
        "/admin/customer_data/customerdata/",
    ]
    spans = transactions[0]["spans"]
    assert any(span["op"] == "db" and span["description"].startswith("SELECT") for span in spans)
    assert {"op": "template.render", "description": "profiles/detail.html"}.items() <= next(
        span for span in spans if span["op"] == "template.render"
    ).items()
    assert all(set(span.get("data", {})) <= error_reporting._DATA_KEYS for span in spans)
    assert transactions[0]["request"]["url"] == "http://testserver/members/owner/"


@pytest.mark.parametrize(
    ("module", "type_name", "message", "reported"),
    [
        ("django.db.utils", "DataError", "Failing row contains (4711081512, x).", "DataError"),
        ("django.core.exceptions", "ValidationError", "['0170 1234567 ist ungültig']", None),
        ("builtins", "KeyError", "'customer-mobile_number'", "KeyError"),
        ("builtins", "RuntimeError", "", "RuntimeError"),
        (
            "customer_data.crypto",
            "DecryptionError",
            "Stored customer data cannot be decrypted with FIELD_ENCRYPTION_KEYS.",
            "Stored customer data cannot be decrypted with FIELD_ENCRYPTION_KEYS.",
        ),
        (
            "django.db.utils",
            "OperationalError",
            "server closed the connection unexpectedly\n\tThis probably means …",
            "server closed the connection unexpectedly",
        ),
        ("django.db.utils", "OperationalError", "database is locked: 4711081512", None),
    ],
)
def test_exception_messages_are_kept_only_where_known_to_name_no_value(
    module, type_name, message, reported
):
    event = {"exception": {"values": [{"module": module, "type": type_name, "value": message}]}}
    [exception] = error_reporting.scrub_event(event, {})["exception"]["values"]
    assert exception == {"module": module, "type": type_name, "value": reported or type_name}


def test_only_harmless_context_is_kept():
    event = {
        "event_id": "0" * 32,
        "level": "error",
        "transaction": "/members/{username}/",
        "user": {"id": 8, "username": "owner", "email": "owner@example.invalid"},
        "tags": {"http.status_code": "500", "customer": "4711081512"},
        "extra": {"sys.argv": ["manage.py", "seed_demo", "--password", "secret"]},
        "contexts": {
            "runtime": {"name": "CPython", "version": "3.13.0"},
            "response": {"status_code": 500, "headers": {"Location": "/?q=0170"}},
            "member": {"customer_number": "4711081512"},
        },
        "request": {
            "method": "POST",
            "url": "https://example.invalid/admin/customer_data/customerdata/search/?q=0170",
            "query_string": "q=0170 1234567",
            "data": {"q": "0170 1234567"},
            "cookies": {"sessionid": "abc"},
            "headers": {"Content-Type": "text/html", "Referer": "/?q=0170", "Cookie": "x"},
            "env": {"REMOTE_ADDR": "127.0.0.1"},
        },
    }
    assert error_reporting.scrub_event(event, {}) == {
        "event_id": "0" * 32,
        "level": "error",
        "transaction": "/members/{username}/",
        "user": {"id": "8"},
        "tags": {"http.status_code": "500"},
        "contexts": {
            "runtime": {"name": "CPython", "version": "3.13.0"},
            "response": {"status_code": 500},
        },
        "request": {
            "method": "POST",
            "url": "https://example.invalid/admin/customer_data/customerdata/search/",
            "headers": {"Content-Type": "text/html"},
        },
    }


def test_breadcrumbs_keep_log_templates_and_sql_without_parameters():
    record = logging.makeLogRecord(
        {"msg": "Search for %s found %d members", "args": ("0170 1234567", 2), "name": "staff"}
    )
    log = {
        "type": "log",
        "category": "staff",
        "level": "info",
        "message": record.getMessage(),
        "data": {"asctime": "…", "term": "0170 1234567"},
    }
    query = {
        "type": "default",
        "category": "query",
        "message": 'SELECT "id" FROM "customer_data" WHERE "display_name" LIKE %s',
        "data": {"db.params": ["%Olga%"], "db.paramstyle": "format"},
    }
    assert error_reporting.scrub_breadcrumb(log, {"log_record": record}) == {
        "type": "log",
        "category": "staff",
        "level": "info",
        "message": "Search for %s found %d members",
    }
    assert error_reporting.scrub_breadcrumb(query, {}) == {
        "type": "default",
        "category": "query",
        "message": query["message"],
        "data": {"db.paramstyle": "format"},
    }
    # Free text the code wrote (an f-string log line, say) loses anything shaped like a number.
    assert error_reporting.redact_numbers("Rückruf an +49 170 1234567, Kunde 4711 0815-12") == (
        "Rückruf an [Filtered], Kunde [Filtered]"
    )


def test_a_scrubber_that_fails_sends_nothing(sentry, monkeypatch):
    def broken(*args: Any) -> Any:
        raise RuntimeError("scrubber bug")

    reporting = sentry(before_send=broken)
    try:
        raise ValueError("4711081512")
    except ValueError:
        sentry_sdk.capture_exception()
    assert reporting.transport.items("event") == []
    # The SDK would keep a breadcrumb whose scrubber raised as it was: it is dropped here.
    monkeypatch.setattr(error_reporting, "_breadcrumb", broken)
    crumb = {"type": "log", "message": "Rückruf an 0170 1234567"}
    assert error_reporting.scrub_breadcrumb(crumb, {}) is None
