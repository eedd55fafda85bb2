"""The database queries of each measured request, counted in-process after the load.

    python -m bench.queries < targets.json      # run by the harness, in the site's environment

Reads the measured requests (`bench.load.Target`s as JSON, with the base URL they were sent
to) from stdin, replays each through Django's whole stack with `django.test.Client` against
the same database and settings the server used (production settings, `X-Forwarded-Proto:
https`, the visitor's own cookies and CSRF token, CSRF checks on), and prints one JSON line:
{key: {"queries": n, "status": s}}. Each request is sent twice and the second one counted,
as a warm worker under load answers it (per-process caches filled, the directory's member
count cached). The queries run inside `CaptureQueriesContext`, which records them also with
DEBUG off. The harness lifts the statement timeout for this process
(`DATABASE_STATEMENT_TIMEOUT=0`): it counts queries, not time, and a page slower than the
server's limit still has a count. Requests that write (the Speichern POST, the searches that log) write once more
each, as every measured request did.
"""

from __future__ import annotations

import json
import os
import sys
from typing import Any
from urllib.parse import urlsplit

from bench.load import Target


def split_headers(headers: dict[str, str]) -> tuple[str, dict[str, str]]:
    """The Content-Type, and the other headers but Host (the client sets the server's)."""
    content_type = next((v for k, v in headers.items() if k.lower() == "content-type"), "")
    others = {k: v for k, v in headers.items() if k.lower() not in ("content-type", "host")}
    return content_type, others


def count_queries(base_url: str, targets: list[Target]) -> dict[str, dict[str, Any]]:
    """Each target's status and query count, replayed in this process (Django set up)."""
    from django.db import connection
    from django.test import Client
    from django.test.utils import CaptureQueriesContext

    # The Host the server saw: the CSRF check compares the Referer with it. A page that
    # fails is reported by its status, not raised: the other pages are still counted.
    client = Client(
        enforce_csrf_checks=True,
        raise_request_exception=False,
        HTTP_HOST=urlsplit(base_url).netloc,
    )
    counted: dict[str, dict[str, Any]] = {}

    def send(target: Target) -> int:
        content_type, headers = split_headers(target.headers)
        response = client.generic(
            target.method,
            target.path,
            data=target.body.encode(),
            content_type=content_type,
            headers=headers,
        )
        return int(response.status_code)

    for target in targets:
        send(target)
        with CaptureQueriesContext(connection) as queries:
            status = send(target)
        counted[target.key] = {"queries": len(queries.captured_queries), "status": status}
    return counted


def targets_from_json(document: dict[str, Any]) -> tuple[str, list[Target]]:
    """The base URL and targets as `targets_to_json` wrote them (body checks left out)."""
    targets = [
        Target(
            key=entry["key"],
            label=entry["label"],
            method=entry["method"],
            path=entry["path"],
            headers=entry["headers"],
            body=entry["body"],
            expect=entry["expect"],
        )
        for entry in document["targets"]
    ]
    return document["base_url"], targets


def targets_to_json(base_url: str, targets: list[Target]) -> str:
    """What the harness hands this module on stdin (it holds session cookies: never a file)."""
    fields = ("key", "label", "method", "path", "headers", "body", "expect")
    entries = [{name: getattr(target, name) for name in fields} for target in targets]
    return json.dumps({"base_url": base_url, "targets": entries})


def main() -> int:
    base_url, targets = targets_from_json(json.loads(sys.stdin.read()))
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "community.settings")
    import django

    django.setup()
    sys.stdout.write(json.dumps(count_queries(base_url, targets)) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
