"""`make bench`: the site under gunicorn with production settings, scaled data, measured load.

Run `.venv/bin/python -m bench --help` for the options; bench/README.md explains the output.
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import platform
import shutil
import signal
import subprocess
import sys
import time
from datetime import UTC, datetime
from types import FrameType
from typing import Any, NoReturn
from urllib.parse import urlencode

from bench import report
from bench.client import PROXY_HEADERS, BenchError, Browser, log_in
from bench.config import (
    BASE_DIR,
    GUNICORN_LOG,
    RESULTS_DIR,
    SETUP_LOG,
    State,
    default_database_url,
    recorded_environment,
    redact_url,
    remove_sqlite_file,
    site_environment,
    uses_sqlite_file,
)
from bench.load import Loader, PythonLoader, Target, Window, WrkLoader
from bench.server import (
    Gunicorn,
    cpu_delta,
    cpu_seconds,
    machine_busy_seconds,
    processes_named,
)

HOST = "127.0.0.1"
# Their CPU time is the database's and cache's share of the work (PostgreSQL forks a backend
# per connection; with SQLite the database work happens inside the gunicorn workers).
POSTGRES_PROCESS = "postgres"
REDIS_PROCESS = "redis-server"
# Many short rounds rather than few long ones: background load then hits every URL alike.
DEFAULTS = {"members": 10_000, "duration": 5.0, "rounds": 6, "warmup": 1.0}
SMOKE = {"members": 300, "duration": 1.0, "rounds": 1, "warmup": 0.5}
# What the owner saves with "Speichern" (all three customer-data fields filled).
SAVED_CUSTOMER_DATA = {
    "customer-consent": "on",
    "customer-customer_number": "4711 0815 42",
    "customer-mobile_number": "0171 1234567",
    "customer-further_info": "Auftrag 12345678, erreichbar werktags ab 17 Uhr",
}


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="python -m bench",
        description="Benchmark the community site under gunicorn (issue 7).",
    )
    parser.add_argument(
        "--duration", type=float, help="seconds per URL per round (default 5; smoke 1)"
    )
    parser.add_argument("--rounds", type=int, help="interleaved rounds (default 6; smoke 1)")
    parser.add_argument(
        "--connections", type=int, default=4, help="concurrent connections (default 4)"
    )
    parser.add_argument("--members", type=int, help="generated members (default 10000; smoke 300)")
    parser.add_argument(
        "--warmup", type=float, help="unmeasured seconds per URL before round 1 (default 1)"
    )
    parser.add_argument("--workers", type=int, default=2, help="gunicorn workers (default 2)")
    parser.add_argument(
        "--keep",
        action="store_true",
        help="keep the database after the run and reuse it next time (skips regeneration)",
    )
    parser.add_argument(
        "--smoke", action="store_true", help="quick end-to-end check: 300 members, 1 s, 1 round"
    )
    parser.add_argument(
        "--loader",
        choices=("auto", "wrk", "python"),
        default="auto",
        help="load generator (default: wrk when installed, else Python)",
    )
    args = parser.parse_args(argv)
    chosen = SMOKE if args.smoke else DEFAULTS
    for name, value in chosen.items():
        if getattr(args, name) is None:
            setattr(args, name, value)
    if args.members < 10 or args.rounds < 1 or args.duration <= 0 or args.connections < 1:
        parser.error("--members >= 10, --rounds >= 1, --duration > 0, --connections >= 1")
    return args


def say(message: str) -> None:
    print(message, flush=True)


def _on_signal(signum: int, frame: FrameType | None) -> NoReturn:
    raise SystemExit(128 + signum)


def run_step(command: list[str], env: dict[str, str], what: str) -> str:
    """Run one set-up command, log its output, fail loudly with the tail of it."""
    started = time.monotonic()
    result = subprocess.run(  # noqa: S603 (fixed command lines)
        command, cwd=BASE_DIR, env=env, capture_output=True, text=True, check=False
    )
    with SETUP_LOG.open("a", encoding="utf-8") as log:
        log.write(f"$ {' '.join(command[:4])} ...\n{result.stdout}{result.stderr}\n")
    if result.returncode != 0:
        tail = "\n".join((result.stdout + result.stderr).strip().splitlines()[-25:])
        raise BenchError(f"{what} failed (exit {result.returncode}):\n{tail}")
    say(f"  {what}: {time.monotonic() - started:.1f} s")
    return result.stdout


def manage(*arguments: str) -> list[str]:
    return [sys.executable, "manage.py", *arguments]


def prepare(args: argparse.Namespace) -> tuple[State, dict[str, str], dict[str, Any], bool]:
    """Database, static files, demo users and scaled data; returns state, env, data, fresh."""
    RESULTS_DIR.mkdir(parents=True, exist_ok=True)
    SETUP_LOG.write_text("", encoding="utf-8")
    database_url = default_database_url()
    state = State.load() if args.keep else None
    fresh = (
        state is None
        or state.database_url != database_url
        or state.members != args.members
        or not state.seeded
    )
    if fresh or state is None:
        state = State.fresh(database_url=database_url, members=args.members)
        if uses_sqlite_file(database_url):
            remove_sqlite_file()
    state.save()
    env = site_environment(state)
    say(f"Preparing {redact_url(database_url)} ({'fresh' if fresh else 'kept'} data)")
    run_step(manage("migrate", "--noinput"), env, "migrate")
    run_step(manage("collectstatic", "--noinput"), env, "collectstatic")
    run_step(manage("seed_demo", "--password", state.password), env, "seed_demo")
    seed_command = [
        sys.executable,
        "-m",
        "bench.seed",
        "--members",
        str(args.members),
        "--password",
        state.password,
    ]
    output = run_step(
        [*seed_command, "--fresh"] if fresh else seed_command, env, f"{args.members} members"
    )
    data: dict[str, Any] = json.loads(output.strip().splitlines()[-1])
    state.seeded = True
    state.save()
    return state, env, data, fresh


def discard(state: State, env: dict[str, str]) -> None:
    """Without --keep the data is thrown away: the SQLite file, or the bench members."""
    if uses_sqlite_file(state.database_url):
        remove_sqlite_file()
    else:
        run_step([sys.executable, "-m", "bench.seed", "--drop"], env, "drop bench members")
    state.seeded = False
    state.save()


def build_targets(port: int, owner: dict[str, str], password: str) -> list[Target]:
    """Log in the viewers and describe every measured request."""
    viewers: dict[str, Browser] = {
        name: log_in(HOST, port, name, password)
        for name in ("member", "expert", "team", owner["username"])
    }
    owner_browser = viewers[owner["username"]]
    settings_page = owner_browser.request("GET", "/settings/profile/")
    if settings_page.status != 200:
        raise BenchError(f"GET /settings/profile/ as owner answered {settings_page.status}.")
    form = {
        "csrfmiddlewaretoken": owner_browser.csrf_token(settings_page),
        "profile-display_name": owner["display_name"],
        "profile-about": owner["about"] or "Glasfaser-Neukunde.",
        "profile-location": owner["location"] or "Bonn",
        **SAVED_CUSTOMER_DATA,
    }

    def as_viewer(name: str) -> dict[str, str]:
        return {"Cookie": viewers[name].cookie_header(), **PROXY_HEADERS}

    profile = f"/members/{owner['username']}/"
    return [
        Target("healthz", "/healthz", "GET", "/healthz", dict(PROXY_HEADERS)),
        Target("profile_owner", "/members/<owner>/ as owner", "GET", profile, as_viewer(owner["username"])),
        Target("profile_expert", "/members/<owner>/ as Mitgestalter", "GET", profile, as_viewer("expert")),
        Target("profile_team", "/members/<owner>/ as THT", "GET", profile, as_viewer("team")),
        Target("directory_expert", "/members/ p1 as Mitgestalter", "GET", "/members/", as_viewer("expert")),
        Target("directory_member", "/members/ p1 as member", "GET", "/members/", as_viewer("member")),
        Target("settings_get", "/settings/profile/ GET (owner)", "GET", "/settings/profile/", as_viewer(owner["username"])),
        Target(
            "settings_post",
            "/settings/profile/ Speichern POST",
            "POST",
            "/settings/profile/",
            {
                **as_viewer(owner["username"]),
                "Content-Type": "application/x-www-form-urlencoded",
                "Referer": f"{owner_browser.origin}/settings/profile/",
            },
            urlencode(form).encode(),
            expect=302,
        ),
    ]  # fmt: skip


def probe(port: int, target: Target) -> int:
    connection = http.client.HTTPConnection(HOST, port, timeout=30)
    try:
        connection.request(
            target.method, target.path, body=target.body or None, headers=target.headers
        )
        response = connection.getresponse()
        response.read()
        return response.status
    finally:
        connection.close()


def check_targets(port: int, targets: list[Target]) -> None:
    for target in targets:
        status = probe(port, target)
        if status != target.expect:
            hint = (
                " (the Profil form may have gained required fields; see bench/README.md)"
                if target.method == "POST"
                else ""
            )
            raise BenchError(
                f"{target.label}: {target.method} {target.path} answered {status}, "
                f"expected {target.expect}{hint}."
            )


def make_loader(args: argparse.Namespace, port: int) -> Loader:
    use_wrk = args.loader == "wrk" or (args.loader == "auto" and WrkLoader.available())
    if args.loader == "wrk" and not WrkLoader.available():
        raise BenchError("--loader wrk: wrk is not installed (apt-get install wrk).")
    if use_wrk:
        return WrkLoader(
            host=HOST, port=port, connections=args.connections, script_dir=RESULTS_DIR / "wrk"
        )
    return PythonLoader(host=HOST, port=port, connections=args.connections)


def backing_services(data: dict[str, Any]) -> tuple[str, ...]:
    """Process names of the database and cache servers this run uses (none for SQLite)."""
    names = []
    if data["database"]["vendor"] == "postgresql":
        names.append(POSTGRES_PROCESS)
    if data["django"]["REDIS"]:
        names.append(REDIS_PROCESS)
    return tuple(names)


def measure(
    args: argparse.Namespace,
    server: Gunicorn,
    loader: Loader,
    targets: list[Target],
    backing_names: tuple[str, ...],
) -> list[Window]:
    if args.warmup > 0:
        say(f"Warm-up: {args.warmup:g} s per URL")
        for target in targets:
            loader.run(target, args.warmup)
    windows: list[Window] = []
    for number in range(1, args.rounds + 1):
        # Rotate the order each round, so no URL always follows the same neighbour.
        shift = (number - 1) % len(targets)
        for target in targets[shift:] + targets[:shift]:
            backing = processes_named(backing_names) if backing_names else []
            before, machine_before = server.cpu(), machine_busy_seconds()
            backing_before = cpu_seconds(backing)
            window = loader.run(target, args.duration)
            window.machine_cpu_s = machine_busy_seconds() - machine_before
            window.server_cpu_s = cpu_delta(before, server.cpu())
            window.backing_cpu_s = cpu_delta(backing_before, cpu_seconds(backing))
            window.round = number
            windows.append(window)
            bad = window.unexpected_status + window.socket_errors
            say(
                f"  round {number}/{args.rounds}  {target.label:<34} {window.rps:8.1f} req/s"
                f"  p99 {window.quantiles_ms[989]:7.1f} ms" + (f"  {bad} bad" if bad else "")
            )
    return windows


def git_commit() -> str:
    git = shutil.which("git")
    if not git:
        return ""
    result = subprocess.run(  # noqa: S603 (fixed command line)
        [git, "describe", "--always", "--dirty"],
        cwd=BASE_DIR,
        capture_output=True,
        text=True,
        check=False,
    )
    return result.stdout.strip()


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    # Ctrl-C must reach us even when started with SIGINT ignored (e.g. in the background).
    signal.signal(signal.SIGINT, signal.default_int_handler)
    signal.signal(signal.SIGTERM, _on_signal)
    signal.signal(signal.SIGHUP, _on_signal)
    started = time.monotonic()
    server: Gunicorn | None = None
    state: State | None = None
    env: dict[str, str] = {}
    try:
        state, env, data, fresh = prepare(args)
        setup_seconds = time.monotonic() - started
        server = Gunicorn(env=env, workers=args.workers)
        say(f"Starting gunicorn ({args.workers} workers) on {HOST}:{server.port}")
        server.start()
        targets = build_targets(server.port, data["owner"], state.password)
        check_targets(server.port, targets)
        loader = make_loader(args, server.port)
        say(
            f"Load: {loader.version}, {args.connections} connections, {args.rounds} rounds x "
            f"{args.duration:g} s per URL, {len(targets)} URLs"
        )
        backing_names = backing_services(data)
        windows = measure(args, server, loader, targets, backing_names)
        server.stop()
        rows = [
            report.pool(target, [w for w in windows if w.target == target.key])
            for target in targets
        ]
        report.judge(rows)
        meta = {
            "issue": 7,
            "generated_at": datetime.now(UTC).isoformat(timespec="seconds"),
            "git": git_commit(),
            "machine": {
                "cpu_count": os.cpu_count(),
                "platform": platform.platform(),
                "python": platform.python_version(),
            },
            "database": {**data["database"], "url": redact_url(state.database_url)},
            "redis": bool(data["django"]["REDIS"]),
            "loader": {"name": loader.name, "version": loader.version},
            "server": {"command": " ".join(server.command[1:]), "workers": args.workers},
            "backing_processes_measured": list(backing_names),
            "options": {
                key: getattr(args, key)
                for key in (
                    "members",
                    "duration",
                    "rounds",
                    "connections",
                    "warmup",
                    "keep",
                    "smoke",
                )
            },
            "environment": recorded_environment(env),
            "django": data["django"],
            "data": {"fresh": fresh, "owner": data["owner"]["username"], **data["counts"]},
            "background_load": report.background(windows),
            "seconds": {"setup": round(setup_seconds, 1), "total": 0.0},
        }
        stamp = datetime.now(UTC).strftime("%Y%m%d-%H%M%S")
        json_path = RESULTS_DIR / f"bench-{stamp}.json"
        csv_path = RESULTS_DIR / f"bench-{stamp}.csv"
        meta["seconds"]["total"] = round(time.monotonic() - started, 1)
        report.write(rows=rows, windows=windows, meta=meta, json_path=json_path, csv_path=csv_path)
        shutil.copyfile(json_path, RESULTS_DIR / "latest.json")
        shutil.copyfile(csv_path, RESULTS_DIR / "latest.csv")

        say("")
        say(
            f"{os.cpu_count()} cores · {data['database']['vendor']} "
            f"{data['database']['version']} · Redis: {'yes' if meta['redis'] else 'no'} · "
            f"gunicorn {args.workers} gthread workers (gunicorn.conf.py) · {loader.name} {args.connections} connections · "
            f"{args.rounds} rounds x {args.duration:g} s · {data['counts']['members']} members "
            f"({data['counts']['with_customer_data']} with customer data)"
        )
        say(report.table(rows, backing=bool(backing_names)))
        say(report.summary(rows))
        warning = report.background_warning(windows, os.cpu_count() or 1)
        if warning:
            say(warning)
        say(f"Written: {json_path.relative_to(BASE_DIR)}, {csv_path.relative_to(BASE_DIR)}")
        return 0
    except (BenchError, RuntimeError) as error:
        say(f"bench: {error}")
        if GUNICORN_LOG.exists() and server is not None:
            say(f"(server log: {GUNICORN_LOG.relative_to(BASE_DIR)})")
        return 1
    except KeyboardInterrupt:
        say("bench: interrupted; stopping gunicorn")
        return 130
    except SystemExit:
        say("bench: stopped by a signal; stopping gunicorn")
        raise
    finally:
        if server is not None:
            server.stop()
        if state is not None and state.seeded and not args.keep:
            try:
                discard(state, env)
            except BenchError as error:
                say(f"bench: {error}")


if __name__ == "__main__":
    sys.exit(main())
