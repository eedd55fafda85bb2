"""`make bench`: the site under gunicorn with production settings, scaled data, load from wrk.

Run `.venv/bin/python -m bench --help` for the options; bench/README.md explains the output.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime
from types import FrameType
from typing import Any, NoReturn

from bench import config, queries, report
from bench.client import build_targets, check_targets
from bench.config import BASE_DIR, RESULTS_DIR, SQLITE_URL, State
from bench.load import BenchError, Target, Window, ensure_wrk, run_wrk, wrk_version
from bench.progress import count, duration
from bench.seed import MAX_MEMBERS
from bench.server import Gunicorn, cpu_seconds, machine_busy_seconds, processes_named

# Their CPU time is the database's and cache's share of the work (PostgreSQL forks a backend
# per connection; with SQLite the database work happens inside the gunicorn workers).
POSTGRES_PROCESS = "postgres"
REDIS_PROCESS = "redis-server"
# Many short rounds rather than few long ones: background load then hits every URL alike.
DEFAULTS = {"members": 10_000, "duration": 5.0, "rounds": 6, "warmup": 1.0}
SMOKE = {"members": 300, "duration": 1.0, "rounds": 1, "warmup": 0.5}
LEAST = {"members": 10, "rounds": 1, "duration": 0.5, "connections": 1, "workers": 1}
OPTIONS = ("members", "duration", "rounds", "connections", "warmup", "keep", "reuse", "smoke")


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="python -m bench", description="Benchmark the site under gunicorn with wrk (issue 7)."
    )
    add = parser.add_argument
    add("--duration", type=float, help="seconds per URL per round, whole (default 5; smoke 1)")
    add("--rounds", type=int, help="interleaved rounds (default 6; smoke 1)")
    add("--connections", type=int, default=4, help="concurrent wrk connections (default 4)")
    add("--members", type=int, help="generated members (default 10000; smoke 300)")
    add("--warmup", type=float, help="unmeasured seconds per URL before round 1 (default 1)")
    add("--workers", type=int, default=2, help="gunicorn workers (default 2)")
    add("--keep", action="store_true", help="keep the data set after the run (for --reuse)")
    add(
        "--reuse",
        action="store_true",
        help="reuse a kept data set of the same size in this database instead of building one",
    )
    add("--smoke", action="store_true", help="quick end-to-end check: 300 members, 1 s, 1 round")
    args = parser.parse_args(argv)
    for name, value in (SMOKE if args.smoke else DEFAULTS).items():
        if getattr(args, name) is None:
            setattr(args, name, value)
    for name, least in LEAST.items():
        if getattr(args, name) < least:
            parser.error(f"--{name} must be at least {least}")
    if args.members > MAX_MEMBERS:
        parser.error(f"--members must be at most {MAX_MEMBERS}")
    return args


def say(message: str) -> None:
    print(message, flush=True)


def whole_seconds(seconds: float) -> int:
    """What wrk runs for: whole seconds, at least one."""
    return max(1, round(seconds))


def run_step(what: str, env: dict[str, str], *arguments: str, live: bool = False) -> str:
    """Run `python <arguments>` for the set-up, log its output, fail loudly with its tail.

    `live`: show the step's stderr (its progress lines) as it comes, for the long ones."""
    started = time.monotonic()
    command = [sys.executable, *arguments]
    errors: list[str] = []
    with (
        tempfile.TemporaryFile("w+", encoding="utf-8") as stdout,
        subprocess.Popen(  # noqa: S603 (fixed command lines)
            command, cwd=BASE_DIR, env=env, stdout=stdout, stderr=subprocess.PIPE, text=True
        ) as process,
    ):
        for line in process.stderr or ():
            errors.append(line)
            if live:
                say(line.rstrip("\n"))
        returncode = process.wait()
        stdout.seek(0)
        output, error_output = stdout.read(), "".join(errors)
    with config.SETUP_LOG.open("a", encoding="utf-8") as log:
        log.write(f"$ {' '.join(command[:4])} ...\n{output}{error_output}\n")
    if returncode != 0:
        tail = "\n".join((output + error_output).strip().splitlines()[-25:])
        raise BenchError(f"{what} failed (exit {returncode}):\n{tail}")
    say(f"  {what}: {time.monotonic() - started:.1f} s")
    return output


def choose_state(args: argparse.Namespace, url: str) -> tuple[State, bool]:
    """The state (secrets) for this run's database, and whether its data set is reused: with
    `--reuse`, when the database's state file says it holds a data set of this size; else a
    fresh one with fresh secrets (the builder throws the old data set away)."""
    state = State.load(url)
    if args.reuse and state is not None and state.reusable(args.members):
        return state, True
    if args.reuse:
        had = f"one of {count(state.members)} members" if state and state.seeded else "none"
        say(f"Nothing to reuse: this database's kept data set is {had}; building a new one.")
    return State.fresh(database_url=url, members=args.members), False


def prepare(args: argparse.Namespace) -> tuple[State, dict[str, str], dict[str, Any], bool]:
    """Database, static files, demo users and scaled data; returns state, env, data, fresh."""
    RESULTS_DIR.mkdir(parents=True, exist_ok=True)
    config.SETUP_LOG.write_text("", encoding="utf-8")
    url = config.default_database_url()
    state, reused = choose_state(args, url)
    if not reused and url == SQLITE_URL:
        config.remove_sqlite_file()
    state.seeded = False  # until the data set is complete again
    state.save()
    env = config.site_environment(state)
    say(f"Preparing {config.redact_url(url)} ({'kept' if reused else 'fresh'} data)")
    run_step("migrate", env, "manage.py", "migrate", "--noinput")
    run_step("collectstatic", env, "manage.py", "collectstatic", "--noinput")
    run_step("seed_demo", env, "manage.py", "seed_demo", "--password", state.password)
    seed = ["-m", "bench.seed", f"--members={args.members}", f"--password={state.password}"]
    output = run_step(
        f"{count(args.members)} members", env, *seed, *([] if reused else ["--fresh"]), live=True
    )
    state.seeded = True
    state.save()
    data = json.loads(output.strip().splitlines()[-1])
    if data.get("build"):
        build = data["build"]
        say(
            f"  built {count(build['members'])} members in {duration(build['seconds'])} "
            f"({count(build['members_per_second'])}/s)"
        )
    return state, env, data, not data["reused"]


def discard(state: State, env: dict[str, str]) -> None:
    """Without --keep the data is thrown away: the SQLite file, or the bench members."""
    try:
        if state.database_url == SQLITE_URL:
            config.remove_sqlite_file()
        else:
            run_step("drop bench members", env, "-m", "bench.seed", "--drop", live=True)
    except BenchError as error:
        say(f"bench: {error}")
    else:
        state.seeded = False
        state.save()


def measure(
    args: argparse.Namespace, server: Gunicorn, wrk: str, targets: list[Target], backing: list[str]
) -> list[Window]:
    """Warm up, then run every target once per round, reading CPU times around each window."""
    if args.warmup > 0:
        say(f"Warm-up: {whole_seconds(args.warmup)} s per URL")
        for target in targets:
            run_wrk(wrk, server.base_url, target, connections=args.connections, seconds=args.warmup)
            server.drain()
    windows: list[Window] = []
    for number in range(1, args.rounds + 1):
        shift = (number - 1) % len(targets)  # no URL always follows the same neighbour
        for target in targets[shift:] + targets[:shift]:
            servers = processes_named(tuple(backing))
            before = (server.cpu(), cpu_seconds(servers), machine_busy_seconds(), time.monotonic())
            window = run_wrk(
                wrk, server.base_url, target, connections=args.connections, seconds=args.duration
            )
            window.round = number
            window.server_cpu_s = server.cpu() - before[0]
            window.backing_cpu_s = cpu_seconds(servers) - before[1]
            window.machine_cpu_s = machine_busy_seconds() - before[2]
            window.wall_s = time.monotonic() - before[3]
            # Outside the window's CPU readings: the drain is the tail of this window's
            # requests, not part of the next one.
            window.drain_s = server.drain()
            windows.append(window)
            bad = window.unexpected_status + window.socket_errors
            drained = f"  +{window.drain_s:.1f} s to finish" if window.drain_s >= 0.5 else ""
            say(
                f"  round {number}/{args.rounds}  {target.label:<34} {window.rps:8.1f} req/s"
                f"  p99 {window.quantiles_ms[989]:7.1f} ms"
                + (f"  {bad} bad" if bad else "")
                + drained
            )
    return windows


def count_queries(env: dict[str, str], base_url: str, targets: list[Target]) -> dict[str, int]:
    """Each target's queries per request (`bench.queries`, after the load, in a process with
    the server's environment); a target that answered otherwise than expected is left out."""
    say("Counting queries per request (in-process: each request twice, the second counted)")
    started = time.monotonic()
    done = subprocess.run(
        [sys.executable, "-m", "bench.queries"],
        cwd=BASE_DIR,
        env=env | {"DATABASE_STATEMENT_TIMEOUT": "0"},  # counting, not timing
        input=queries.targets_to_json(base_url, targets),
        capture_output=True,
        text=True,
        check=False,
    )
    with config.SETUP_LOG.open("a", encoding="utf-8") as log:
        log.write(f"$ python -m bench.queries\n{done.stdout}{done.stderr}\n")
    if done.returncode != 0:
        say(f"bench: counting queries failed (exit {done.returncode}); see {config.SETUP_LOG}")
        return {}
    found = json.loads(done.stdout.strip().splitlines()[-1])
    expected = {t.key: t.expect for t in targets}
    wrong = [key for key, entry in found.items() if entry["status"] != expected.get(key)]
    for key in wrong:
        say(f"bench: {key} answered {found[key]['status']} in-process: its queries are not counted")
    say(f"  queries counted: {time.monotonic() - started:.1f} s")
    return {key: entry["queries"] for key, entry in found.items() if key not in wrong}


def git_commit() -> str:
    git = shutil.which("git")
    command = [git or "git", "describe", "--always", "--dirty"]
    done = subprocess.run(command, cwd=BASE_DIR, capture_output=True, text=True, check=False)  # noqa: S603
    return done.stdout.strip() if git else ""


def headline(args: argparse.Namespace, data: dict[str, Any], redis: bool) -> str:
    """The line above the table: the machine and the run's shape."""
    database, counts = data["database"], data["counts"]
    return (
        f"{os.cpu_count()} cores · {database['vendor']} {database['version']} · "
        f"Redis: {'yes' if redis else 'no'} · gunicorn {args.workers} gthread workers "
        f"(gunicorn.conf.py) · wrk {args.connections} connections · {args.rounds} rounds x "
        f"{whole_seconds(args.duration)} s · {counts['members']} members "
        f"({counts['with_customer_data']} with customer data)"
    )


def run(args: argparse.Namespace, wrk: str) -> None:
    """Set up, measure and report; gunicorn is stopped and the data thrown away in any case."""
    started = time.monotonic()
    state, env, data, fresh = prepare(args)
    setup_seconds = time.monotonic() - started
    server = Gunicorn(env=env, workers=args.workers)
    postgres = [POSTGRES_PROCESS] if data["database"]["vendor"] == "postgresql" else []
    backing = postgres + ([REDIS_PROCESS] if data["django"]["REDIS"] else [])
    try:
        say(f"Starting gunicorn ({args.workers} workers) on {server.base_url}")
        server.start()
        members = data["counts"]["members"]
        targets = build_targets(server.base_url, data["owner"], state.password, members=members)
        for warning in check_targets(server.base_url, targets):
            say(f"bench: {warning}")
        version = wrk_version(wrk)
        say(
            f"Load: {version}, {args.connections} connections, {args.rounds} rounds x "
            f"{whole_seconds(args.duration)} s per URL, {len(targets)} URLs"
        )
        windows = measure(args, server, wrk, targets, backing)
        counted = count_queries(env, server.base_url, targets)
    finally:
        server.stop()
        if not args.keep:
            discard(state, env)
    rows = [report.pool(t, [w for w in windows if w.target == t.key]) for t in targets]
    for row in rows:
        row.queries = counted.get(row.key)
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
        "database": {**data["database"], "url": config.redact_url(state.database_url)},
        "redis": bool(data["django"]["REDIS"]),
        "loader": {"name": "wrk", "version": version},
        "server": {"command": " ".join(server.command[1:]), "workers": args.workers},
        "backing_processes_measured": backing,
        "options": {key: getattr(args, key) for key in OPTIONS},
        "environment": config.recorded_environment(env),
        "django": data["django"],
        "data": {
            "fresh": fresh,
            "owner": data["owner"]["username"],
            **data["counts"],
            "build": data.get("build"),
        },
        "background_load": report.background(windows),
        "seconds": {
            "setup": round(setup_seconds, 1),
            "total": round(time.monotonic() - started, 1),
        },
    }
    stamp = datetime.now(UTC).strftime("%Y%m%d-%H%M%S")
    json_path, csv_path = RESULTS_DIR / f"bench-{stamp}.json", RESULTS_DIR / f"bench-{stamp}.csv"
    report.write(rows=rows, windows=windows, meta=meta, json_path=json_path, csv_path=csv_path)
    shutil.copyfile(json_path, RESULTS_DIR / "latest.json")
    shutil.copyfile(csv_path, RESULTS_DIR / "latest.csv")
    warning = report.background_warning(windows, os.cpu_count() or 1)
    say(f"\n{headline(args, data, meta['redis'])}\n{report.table(rows, backing=bool(backing))}")
    say(report.summary(rows) + (f"\n{warning}" if warning else ""))
    say(f"Written: {json_path.relative_to(BASE_DIR)}, {csv_path.relative_to(BASE_DIR)}")


def _on_signal(signum: int, frame: FrameType | None) -> NoReturn:
    raise SystemExit(128 + signum)  # unwinds through run(), which stops gunicorn


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    # Ctrl-C must reach us even when started with SIGINT ignored (e.g. in the background).
    signal.signal(signal.SIGINT, signal.default_int_handler)
    signal.signal(signal.SIGTERM, _on_signal)
    signal.signal(signal.SIGHUP, _on_signal)
    try:
        wrk = ensure_wrk()  # before the slow set-up: a missing wrk fails at once
    except BenchError as error:
        say(f"bench: {error}")
        return 1
    try:
        run(args, wrk)
    except (BenchError, RuntimeError) as error:
        logs = (
            f"{config.SETUP_LOG.relative_to(BASE_DIR)}, {config.GUNICORN_LOG.relative_to(BASE_DIR)}"
        )
        say(f"bench: {error}\n(logs: {logs})")
        return 1
    except KeyboardInterrupt:
        say("bench: interrupted")
        return 130
    return 0


if __name__ == "__main__":
    sys.exit(main())
