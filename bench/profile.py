"""Profile one page in-process against the kept benchmark database.

    .venv/bin/python -m bench --smoke --keep          # or a full run with --keep
    .venv/bin/python -m bench.profile /members/ --as expert
    .venv/bin/python -m bench.profile /members/bench-0000001/ --as team --requests 200

Runs the request through Django's whole stack (middleware, view, templates) in this process
with the benchmark's production settings, under pyinstrument (cProfile when it is missing), and
prints where the time goes. Not a load test: use `python -m bench` for figures.
"""

from __future__ import annotations

import argparse
import os
import sys
import time

from bench.config import State, default_database_url, site_environment


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.profile", description=__doc__)
    parser.add_argument("path", help="e.g. /members/ or /settings/profile/")
    parser.add_argument("--as", dest="username", default="", help="viewer (default: anonymous)")
    parser.add_argument("--requests", type=int, default=100, help="requests to profile")
    parser.add_argument("--post", action="store_true", help="POST the path (form fields below)")
    parser.add_argument(
        "--field", action="append", default=[], metavar="NAME=VALUE", help="form field for --post"
    )
    args = parser.parse_args(argv)
    state = State.load(default_database_url())  # DATABASE_URL's, else the SQLite file's
    if state is None or not state.seeded:
        parser.error("no kept benchmark database: run `python -m bench --keep` first")
    os.environ.update(site_environment(state))
    import django

    django.setup()
    from django.contrib.auth import get_user_model
    from django.test import Client

    client = Client(HTTP_HOST="127.0.0.1", HTTP_X_FORWARDED_PROTO="https")
    if args.username:
        client.force_login(get_user_model()._default_manager.get(username=args.username))
    form = dict(field.split("=", 1) for field in args.field)

    def once() -> int:
        if args.post:
            return client.post(args.path, form).status_code
        return client.get(args.path).status_code

    first = once()  # warm caches (templates, connections) outside the profile
    print(
        f"{'POST' if args.post else 'GET'} {args.path} as {args.username or 'anonymous'}: {first}"
    )
    started = time.perf_counter()
    try:
        from pyinstrument import Profiler
    except ImportError:
        import cProfile
        import pstats

        profiler = cProfile.Profile()
        profiler.enable()
        for _ in range(args.requests):
            once()
        profiler.disable()
        elapsed = time.perf_counter() - started
        pstats.Stats(profiler).sort_stats("cumulative").print_stats(40)
    else:
        with Profiler(interval=0.0005) as session:
            for _ in range(args.requests):
                once()
        elapsed = time.perf_counter() - started
        print(session.output_text(unicode=True, color=sys.stdout.isatty(), show_all=False))
    print(
        f"{args.requests} requests in {elapsed:.2f} s: {1000 * elapsed / args.requests:.2f} ms each"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
