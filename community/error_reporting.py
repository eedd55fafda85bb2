"""Error reporting to Sentry, without customer data.

Sentry starts only when `SENTRY_DSN` is set (`init_sentry`); without it `sentry_sdk.init` is
never called, so the SDK stays inert: its client is the non-recording one, and nothing is
collected or sent (not even from a `SENTRY_DSN` in the process environment, which
`sentry_sdk.init` would read on its own).

What is sent is decided by an allowlist, in two layers:

1. The SDK is told to collect as little as it can: no user, no cookies, no request body, no
   query string, no SQL parameters, no local variables (`DATA_COLLECTION`; `data_collection`
   supersedes `send_default_pii` in sentry-sdk 2.75, which warns about the old option).
2. Every error event, transaction event and breadcrumb then passes `scrub_event` /
   `scrub_breadcrumb`, which build a new event from the parts known to be harmless and drop
   everything else: exception types and stack frames (function, file, line, source lines of
   our code) but no frame variables; the request's method, path and a few headers, but no
   body, query string or cookie; log messages as their templates, without the arguments;
   SQL as the statement, without parameters; span and context data only under known keys.

Why an allowlist and not a denylist (such as the SDK's `EventScrubber` and its
`DEFAULT_DENYLIST`): a denylist removes values under names someone thought of ("password",
"token", "cookie"). The customer data travels under names no generic list knows
(`customer-customer_number`, `q`, `cleaned`, `values`, a template context, an exception
message quoting a row), and under names that do not exist yet: the next form, the next
local variable, the next integration the SDK enables by itself. Each of those would leak
until someone added its name. With an allowlist a new field is dropped until someone decides
it is harmless, so the mistake costs a less useful report instead of a customer's number in
a third party's database. Layer 2 alone keeps every value out (the tests run it with the SDK
collecting everything); layer 1 means most values are never even read.

(The SDK's `EventScrubber` is not added: it adds nothing the allowlist keeps, and with
`data_collection` given the SDK leaves it out anyway.)

Free text that is kept (log message templates, `capture_message` texts, SQL statements, the
URL path, span names) is written in our code or the framework's, not typed by a member. A log
line that pastes a value into its template itself (an f-string) would carry it: the project
never logs values (other tests hold it to that), and as a last net runs of six or more digits
in kept text are replaced, since customer numbers and phone numbers are digits. Exception messages are not kept (a
`DataError` quotes the row it failed on, a `ValidationError` the value) but replaced by the
exception's type, except where the wording is fixed and known to carry no value
(`SAFE_MESSAGE_TYPES`, `SAFE_MESSAGE_PATTERNS`).

A bug here costs a report, not a value: when `scrub_event` raises, the SDK drops the event,
and `scrub_breadcrumb` drops a breadcrumb it cannot scrub.
"""

import logging
import re
from collections.abc import Callable, Iterable, Mapping
from typing import TYPE_CHECKING, Any, cast
from urllib.parse import urlsplit, urlunsplit

if TYPE_CHECKING:
    from sentry_sdk._types import Breadcrumb, DataCollectionUserOptions, Event, Hint

FILTERED = "[Filtered]"

# Runs of digits (with single spaces, dots, slashes or dashes between them) long enough to be
# a customer number (6 to 20 digits) or a phone number, in any of their written forms.
_NUMBER_LIKE = re.compile(r"\+?\d(?:[ ./-]?\d){5,}")

# What the SDK itself collects (layer 1): the least it can.
DATA_COLLECTION: "DataCollectionUserOptions" = {
    "user_info": False,
    "cookies": {"mode": "off"},
    "http_headers": {
        "request": {
            "mode": "allowlist",
            "terms": ["content-type", "content-length", "host", "user-agent"],
        }
    },
    "http_bodies": [],
    "url_query_params": {"mode": "off"},
    "graphql": {"document": False, "variables": False},
    "gen_ai": {"inputs": False, "outputs": False},
    "database_query_data": False,
    "queues": False,
    "stack_frame_variables": False,
    # Lines of source around each frame: our code and the framework's, never request data.
    "frame_context_lines": 5,
}

# Top-level event fields set by the SDK from the process and the code, never from a request.
_PLAIN_EVENT_KEYS = frozenset(
    {
        "event_id",
        "timestamp",
        "start_timestamp",
        "type",
        "level",
        "platform",
        "logger",
        "server_name",
        "release",
        "dist",
        "environment",
        "sdk",
        "modules",
        "fingerprint",
        "measurements",
        "transaction_info",
    }
)
_REQUEST_HEADERS = frozenset({"content-type", "content-length", "host", "user-agent"})
_HTTP_METHODS = frozenset(
    {"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS", "TRACE", "CONNECT"}
)
_FRAME_KEYS = frozenset(
    {
        "filename",
        "abs_path",
        "module",
        "function",
        "lineno",
        "colno",
        "in_app",
        "platform",
        "package",
        "pre_context",
        "context_line",
        "post_context",
    }
)
_MECHANISM_KEYS = frozenset(
    {"type", "handled", "synthetic", "exception_id", "parent_id", "source", "is_exception_group"}
)
_CONTEXT_KEYS = {
    "runtime": frozenset({"name", "version", "build"}),
    "os": frozenset({"name", "version", "build", "kernel_version"}),
    "response": frozenset({"status_code"}),
}
_TRACE_KEYS = frozenset(
    {"trace_id", "span_id", "parent_span_id", "op", "status", "origin", "type", "description"}
)
_SPAN_KEYS = frozenset(
    {
        "trace_id",
        "span_id",
        "parent_span_id",
        "same_process_as_parent",
        "op",
        "status",
        "origin",
        "start_timestamp",
        "timestamp",
        "exclusive_time",
        "hash",
        "description",
    }
)
# Span, trace and breadcrumb data: names, counts, codes and places in the code. Not kept,
# for instance: `context` (a template's whole context), `db.params`, `http.query`, `url`.
_DATA_KEYS = frozenset(
    {
        "thread.id",
        "thread.name",
        "signal",
        "db.system",
        "db.system.name",
        "db.name",
        "db.namespace",
        "db.operation",
        "db.operation.name",
        "db.paramstyle",
        "db.executemany",
        "server.address",
        "server.port",
        "network.peer.port",
        "http.request.method",
        "http.response.status_code",
        "http.route",
        "method",
        "status_code",
        "reason",
        "cache.hit",
        "cache.item_size",
        "code.filepath",
        "code.function",
        "code.lineno",
        "code.namespace",
    }
)
# Span operations whose name is code: an SQL statement (parameters apart), a template, view,
# middleware or signal receiver. Any other span (a cache key, an outgoing URL, a Redis command
# with its key) is named by its operation only.
_NAMED_BY_CODE = frozenset(
    {
        "db",
        "http.server",
        "template.render",
        "view.render",
        "view.response.render",
        "middleware.django",
        "event.django",
        "function",
    }
)
_TAGS = frozenset({"http.status_code"})
_SAMPLING_KEYS = frozenset(
    {
        "trace_id",
        "public_key",
        "org_id",
        "release",
        "environment",
        "transaction",
        "sample_rate",
        "sample_rand",
        "sampled",
    }
)

# Exceptions whose message is worded in our code and states no value (names a row id or a
# setting at most). Any other exception is reported by its type alone.
SAFE_MESSAGE_TYPES = frozenset(
    {
        "customer_data.crypto.DecryptionError",
        "customer_data.services.ErasureNeedsConfirmation",
        "customer_data.services.UndecryptableRow",
        "community.append_only.AppendOnlyError",
    }
)
# Database and cache failures worth telling apart in a report (what the README's fault table
# is about), recognised by their whole first line, which quotes nothing.
SAFE_MESSAGE_PATTERNS = tuple(
    re.compile(pattern)
    for pattern in (
        r"canceling statement due to (statement|lock) timeout",
        r"terminating connection due to (administrator command|idle-in-transaction timeout)",
        r"server closed the connection unexpectedly",
        r"the connection is (closed|lost)",
        r"consuming input failed: [a-z ]+",
        r"connection (failed|timeout expired)",
        r"database is locked",
        r"Timeout (connecting to server|reading from socket|writing to socket)",
        r"Connection closed by server\.",
    )
)


def redact_numbers(text: str) -> str:
    """`text` with every run of digits long enough to be a customer or phone number replaced."""
    return _NUMBER_LIKE.sub(FILTERED, text)


def _kept(source: Mapping[str, Any], keys: Iterable[str]) -> dict[str, Any]:
    return {key: source[key] for key in keys if key in source}


def _kept_data(data: Any) -> dict[str, Any]:
    if not isinstance(data, Mapping):
        return {}
    return {
        key: value
        for key, value in data.items()
        if key in _DATA_KEYS and isinstance(value, str | int | float | bool)
    }


def _text(value: Any) -> str | None:
    return redact_numbers(value) if isinstance(value, str) else None


def _path_only(url: Any) -> str | None:
    """A URL without its query string and fragment, numbers in the path redacted."""
    if not isinstance(url, str):
        return None
    parts = urlsplit(url)
    return redact_numbers(urlunsplit((parts.scheme, parts.netloc, parts.path, "", "")))


def _exception_message(exception: Mapping[str, Any]) -> str:
    type_name = str(exception.get("type") or "Exception")
    value = exception.get("value")
    if not isinstance(value, str) or not value:
        return type_name
    if f"{exception.get('module')}.{type_name}" in SAFE_MESSAGE_TYPES:
        return redact_numbers(value)
    first_line = value.strip().splitlines()[0].strip() if value.strip() else ""
    if any(pattern.fullmatch(first_line) for pattern in SAFE_MESSAGE_PATTERNS):
        return first_line
    return type_name


def _stacktrace(stacktrace: Any) -> dict[str, Any]:
    if not isinstance(stacktrace, Mapping):
        return {}
    frames = stacktrace.get("frames")
    if not isinstance(frames, list):
        return {}
    return {"frames": [_kept(frame, _FRAME_KEYS) for frame in frames if isinstance(frame, Mapping)]}


def _exception(exception: Mapping[str, Any]) -> dict[str, Any]:
    kept = _kept(exception, ("type", "module", "thread_id"))
    kept["value"] = _exception_message(exception)
    if isinstance(exception.get("mechanism"), Mapping):
        kept["mechanism"] = _kept(exception["mechanism"], _MECHANISM_KEYS)
    if "stacktrace" in exception:
        kept["stacktrace"] = _stacktrace(exception["stacktrace"])
    return kept


def _thread(thread: Mapping[str, Any]) -> dict[str, Any]:
    kept = _kept(thread, ("id", "crashed", "current", "main"))
    if "stacktrace" in thread:
        kept["stacktrace"] = _stacktrace(thread["stacktrace"])
    return kept


def _values(container: Any, scrub: Callable[[Mapping[str, Any]], dict[str, Any]]) -> list[Any]:
    values = container.get("values") if isinstance(container, Mapping) else None
    return [scrub(value) for value in values or [] if isinstance(value, Mapping)]


def _request(request: Mapping[str, Any]) -> dict[str, Any]:
    kept: dict[str, Any] = {}
    if request.get("method") in _HTTP_METHODS:
        kept["method"] = request["method"]
    url = _path_only(request.get("url"))
    if url is not None:
        kept["url"] = url
    headers = request.get("headers")
    if isinstance(headers, Mapping):
        kept["headers"] = {
            name: value
            for name, value in headers.items()
            if isinstance(name, str) and name.lower() in _REQUEST_HEADERS
        }
    return kept


def _span_description(span: Mapping[str, Any]) -> str | None:
    if span.get("op") in _NAMED_BY_CODE:
        return _text(span.get("description"))
    return _text(span.get("op"))


def _span(span: Mapping[str, Any]) -> dict[str, Any]:
    kept = _kept(span, _SPAN_KEYS - {"description"})
    description = _span_description(span)
    if description is not None:
        kept["description"] = description
    if "data" in span:
        kept["data"] = _kept_data(span["data"])
    if isinstance(span.get("tags"), Mapping):
        kept["tags"] = _kept(span["tags"], _TAGS)
    return kept


def _contexts(contexts: Mapping[str, Any]) -> dict[str, Any]:
    kept = {
        name: _kept(contexts[name], keys)
        for name, keys in _CONTEXT_KEYS.items()
        if isinstance(contexts.get(name), Mapping)
    }
    trace = contexts.get("trace")
    if isinstance(trace, Mapping):
        kept["trace"] = _kept(trace, _TRACE_KEYS - {"description"})
        description = _span_description(trace)
        if description is not None:
            kept["trace"]["description"] = description
        if "data" in trace:
            kept["trace"]["data"] = _kept_data(trace["data"])
        sampling = trace.get("dynamic_sampling_context")
        if isinstance(sampling, Mapping):
            # Sent as the envelope's `trace` header, for Sentry's server-side sampling.
            kept["trace"]["dynamic_sampling_context"] = {
                key: redact_numbers(value) if key == "transaction" else value
                for key, value in sampling.items()
                if key in _SAMPLING_KEYS and isinstance(value, str)
            }
    return kept


def _logentry(logentry: Mapping[str, Any]) -> dict[str, Any]:
    # The template as written in the code; its arguments (`params`) and the message formatted
    # with them (`formatted`) are what could carry a value.
    message = _text(logentry.get("message"))
    return {"message": message} if message is not None else {}


def _breadcrumb(crumb: Mapping[str, Any]) -> dict[str, Any]:
    kept = _kept(crumb, ("type", "category", "level", "timestamp"))
    if crumb.get("type") == "log" or crumb.get("category") == "query":
        # A log template (see `scrub_breadcrumb`) or an SQL statement without parameters.
        message = _text(crumb.get("message"))
        if message is not None:
            kept["message"] = message
    data = _kept_data(crumb.get("data"))
    if data:
        kept["data"] = data
    return kept


def scrub_event(event: "Event", hint: "Hint") -> "Event":
    """`before_send` and `before_send_transaction`: the event rebuilt from its harmless parts.

    Kept: the SDK's own fields (ids, times, level, release, environment, packages), the
    route (`transaction`), exception types with their stack frames (function, module, file,
    line and source lines; no variables), the request's method, path and content headers,
    breadcrumbs and spans as `scrub_breadcrumb` keeps them, the trace, runtime and response
    status contexts, and the user's id. Everything else is dropped: request bodies, query
    strings, cookies, frame variables, exception messages (but see `SAFE_MESSAGE_TYPES`),
    log arguments, `extra`, other contexts and tags, SQL parameters, template contexts.
    """
    source = cast(Mapping[str, Any], event)
    scrubbed: dict[str, Any] = _kept(source, _PLAIN_EVENT_KEYS)
    if "transaction" in source:
        scrubbed["transaction"] = _text(source["transaction"])
    if isinstance(source.get("message"), str):
        scrubbed["message"] = redact_numbers(source["message"])
    if isinstance(source.get("logentry"), Mapping):
        scrubbed["logentry"] = _logentry(source["logentry"])
    if "exception" in source:
        scrubbed["exception"] = {"values": _values(source["exception"], _exception)}
    if "threads" in source:
        scrubbed["threads"] = {"values": _values(source["threads"], _thread)}
    if isinstance(source.get("request"), Mapping):
        scrubbed["request"] = _request(source["request"])
    if isinstance(source.get("contexts"), Mapping):
        scrubbed["contexts"] = _contexts(source["contexts"])
    if isinstance(source.get("tags"), Mapping):
        scrubbed["tags"] = _kept(source["tags"], _TAGS)
    if isinstance(source.get("user"), Mapping) and source["user"].get("id") is not None:
        scrubbed["user"] = {"id": str(source["user"]["id"])}
    if "breadcrumbs" in source:
        scrubbed["breadcrumbs"] = {"values": _values(source["breadcrumbs"], _breadcrumb)}
    if isinstance(source.get("spans"), list):
        scrubbed["spans"] = [_span(span) for span in source["spans"] if isinstance(span, Mapping)]
    return cast("Event", scrubbed)


def scrub_breadcrumb(crumb: "Breadcrumb", hint: "Hint") -> "Breadcrumb | None":
    """`before_breadcrumb`: a log record's breadcrumb carries its template, not the message
    formatted with its arguments; SQL carries no parameters; data only under known keys."""
    try:
        source = dict(cast(Mapping[str, Any], crumb))
        record = hint.get("log_record") if hint else None
        if isinstance(record, logging.LogRecord):
            message = record.msg
            source["message"] = message if isinstance(message, str) else type(message).__name__
        return cast("Breadcrumb", _breadcrumb(source))
    except Exception:
        # Unlike an event, a breadcrumb whose scrubber raises is kept by the SDK as it was.
        return None


def sentry_options(*, dsn: str, environment: str, traces_sample_rate: float) -> dict[str, Any]:
    """The arguments of `sentry_sdk.init` for this site."""
    from sentry_sdk.integrations.django import DjangoIntegration

    return {
        "dsn": dsn,
        "environment": environment,
        "integrations": [DjangoIntegration()],
        "traces_sample_rate": traces_sample_rate,
        "data_collection": DATA_COLLECTION,
        "include_local_variables": False,
        "max_request_body_size": "never",
        "before_send": scrub_event,
        "before_send_transaction": scrub_event,
        "before_breadcrumb": scrub_breadcrumb,
    }


def init_sentry(*, dsn: str, environment: str, traces_sample_rate: float) -> bool:
    """Start reporting to Sentry when `dsn` is set; return whether it started.

    Called from the settings, so the SDK patches Django before any view module is imported.
    """
    if not dsn:
        return False
    import sentry_sdk

    sentry_sdk.init(
        **sentry_options(dsn=dsn, environment=environment, traces_sample_rate=traces_sample_rate)
    )
    return True
