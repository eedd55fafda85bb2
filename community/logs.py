"""Log lines: one JSON object per line in production, readable text in development, and one
line per request written by `RequestLogMiddleware`.

Fields come from a record's `extra`. Only plain values (str, int, float, bool, None and
lists of them) become fields; objects such as the `request` Django attaches to its own
records are left out, since printing them would print the query string. The project's own
lines pass names, counts and ids in `extra`, never a customer-data value, a username, a
header or a cookie.
"""

import json
import logging
import time
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from django.http import HttpRequest, HttpResponse
from django.utils.functional import LazyObject, empty

# What every LogRecord carries anyway; anything else on a record came in through `extra`.
_RECORD_ATTRIBUTES = frozenset(vars(logging.makeLogRecord({}))) | {"message", "asctime"}
_PLAIN = (str, int, float, bool, type(None))

request_logger = logging.getLogger("community.requests")

# Load-balancer probes, polled every few seconds per balancer: logged below INFO while they
# answer 200, so they do not drown the log; a failing probe is logged like any request.
PROBE_PATHS = frozenset({"/healthz", "/readyz"})


def fields_of(record: logging.LogRecord) -> dict[str, Any]:
    """The plain values a record was given through `extra`."""
    fields = {}
    for name, value in vars(record).items():
        if name in _RECORD_ATTRIBUTES or name.startswith("_"):
            continue
        if isinstance(value, _PLAIN) or (
            isinstance(value, list | tuple) and all(isinstance(item, _PLAIN) for item in value)
        ):
            fields[name] = value
    return fields


class JsonFormatter(logging.Formatter):
    """One JSON object per line: time (UTC), level, logger, message, then the fields."""

    def format(self, record: logging.LogRecord) -> str:
        line: dict[str, Any] = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
            **fields_of(record),
        }
        if record.exc_info:
            line["exc_info"] = self.formatException(record.exc_info)
        if record.stack_info:
            line["stack_info"] = self.formatStack(record.stack_info)
        return json.dumps(line, ensure_ascii=False, default=str)


class TextFormatter(logging.Formatter):
    """For people at a terminal (`make run`): the message, then the fields as key=value,
    except those the message states already (its arguments)."""

    def __init__(self) -> None:
        super().__init__("%(asctime)s %(levelname)s %(name)s: %(message)s")

    def formatMessage(self, record: logging.LogRecord) -> str:
        text = super().formatMessage(record)
        stated = record.args if isinstance(record.args, tuple) else ()
        shown = [
            f"{name}={value}"
            for name, value in fields_of(record).items()
            if not any(value is arg for arg in stated)
        ]
        return " ".join([text, *shown])


def _user_id(request: HttpRequest) -> int | None:
    """The signed-in member's id if something in this request loaded the user already; None
    otherwise. Loading it here would cost the session and user queries on pages that need
    neither (/healthz, static files); pages that show anything personal have loaded it."""
    user = getattr(request, "user", None)
    if isinstance(user, LazyObject) and user._wrapped is empty:
        return None
    return getattr(user, "pk", None)


class RequestLogMiddleware:
    """One line per request: method, path (never the query string), status, duration in ms
    and the user id.

    First in MIDDLEWARE, so it sees the status every other middleware settled on (redirects,
    403s from CSRF, 503s for a lost database) and times all of them. Every level is INFO: a 5xx
    is reported with its traceback by `django.request` already; an ERROR here would report it
    twice. No header, cookie, form field or username is read.
    """

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        started = time.perf_counter()
        response = self.get_response(request)
        duration_ms = round((time.perf_counter() - started) * 1000, 2)
        level = (
            logging.DEBUG
            if request.path in PROBE_PATHS and response.status_code == 200
            else logging.INFO
        )
        if request_logger.isEnabledFor(level):
            request_logger.log(
                level,
                "%s %s %s %.1f ms",
                request.method,
                request.path,
                response.status_code,
                duration_ms,
                extra={
                    "event": "request",
                    "method": request.method,
                    "path": request.path,
                    "status": response.status_code,
                    "duration_ms": duration_ms,
                    "user_id": _user_id(request),
                },
            )
        return response
