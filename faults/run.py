"""The fault run from start to report: `python scripts/faults.py [--quick] [--keep]`.

1. Start a PostgreSQL cluster and a Redis of its own on free loopback ports, migrate, collect
   static files, build the data set through the app's code, start gunicorn and, when nginx is
   installed, an nginx of its own in front of it, shaped like deploy/nginx.conf (the
   production shape: a buffering proxy with short client timeouts).
2. Drive members, staff, a reader and the retention purge for the whole run, through nginx
   when there is one.
3. Apply each fault in turn, with steady load between them; after each phase, hold the saves
   for a moment and check every member's stored data through the models. With nginx, the slow
   clients come twice: through nginx, and once more straight to gunicorn ("slow clients, no
   proxy", informational: it shows why the proxy is required and decides nothing).
4. After the load, check everything once more (data, consent histories, retention, access
   log), print the table and write it to `faults/results/faults-YYYYmmdd-HHMMSS.json`.

Exit status 0 when no data was lost and every check held, 1 otherwise, 2 when the run could
not be set up. Only what the run started is stopped, also on Ctrl-C.
"""

from __future__ import annotations

import argparse
import atexit
import contextlib
import json
import os
import re
import secrets
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from datetime import datetime
from pathlib import Path
from types import FrameType
from typing import Any

from faults import inject
from faults.client import Browser
from faults.load import Load, LoadConfig, Recorder
from faults.report import (
    ERASED,
    EXCEPTION_LINE,
    INFORMATIONAL_LEGEND,
    TABLE_HEADERS,
    MemberVerdict,
    Outcome,
    Phase,
    StoredState,
    access_mismatches,
    alternation_breaks,
    count_data_lost,
    format_counts,
    format_table,
    fresh_erasures,
    in_phase,
    kept_serving,
    percentile,
    phase_json,
    phase_stats,
    table_rows,
    verify_member,
)
from faults.servers import (
    BASE_DIR,
    NGINX_INSTALL_HINT,
    PG_USER,
    PYTHON,
    Frozen,
    Gunicorn,
    Nginx,
    NginxBuild,
    PostgresCluster,
    RedisServer,
    ServerError,
    find_nginx,
    free_port,
    manage,
    python_module,
    summarise_nginx_log,
)

RESULTS_DIR = BASE_DIR / "faults" / "results"
DATABASE = "faults"
# Variables the settings read: the caller's values must not leak into the run.
STRIPPED_PREFIXES = (
    "DJANGO_",
    "DATABASE_",
    "REDIS_",
    "FIELD_ENCRYPTION",
    "BLIND_INDEX",
    "CUSTOMER_",
    "CONSENT_",
    "ACCESS_LOG_",
    "FURTHER_INFO_",
    "AXES_",
    "COMMUNITY_",
    "GUNICORN_",
    "WEB_CONCURRENCY",
)
LOG_EXCEPTION = EXCEPTION_LINE
LOG_RESPONSE = re.compile(r"^(Internal Server Error|Service Unavailable|Gateway Timeout): (/\S*)")
LOG_GUNICORN = re.compile(r"\[(CRITICAL|ERROR)\] (WORKER TIMEOUT|Worker \(pid:\d+\) was sent \w+)")
MEMBER_PATH = re.compile(r"^/members/[^/?]+/")
CHAINED = ("During handling of the above exception", "The above exception was the direct cause")
SLOW_CLIENTS = "slow clients"
SLOW_CLIENTS_NO_PROXY = "slow clients, no proxy"


@dataclass(frozen=True)
class Timing:
    """Seconds of each stretch of the run (scaled by --duration-scale / --quick)."""

    baseline: float = 12.0
    gap: float = 12.0
    hang: float = 6.0
    redis_down: float = 6.0
    slow: float = 15.0
    slow_sockets: int = 10

    def scaled(self, factor: float) -> Timing:
        return Timing(
            baseline=max(4.0, self.baseline * factor),
            gap=max(4.0, self.gap * factor),
            hang=max(3.0, self.hang * factor),
            redis_down=max(3.0, self.redis_down * factor),
            slow=max(6.0, self.slow * factor),
            slow_sockets=self.slow_sockets,
        )


@dataclass(frozen=True)
class Step:
    """One fault phase: its name, the fault, and the way the traffic takes."""

    name: str
    apply: Callable[[], list[str]]
    # What the load goes through ("nginx" or "none"), and the fault's own traffic if any.
    front: str
    fault_front: str | None = None
    informational: bool = False


@dataclass
class Options:
    timing: Timing
    savers: int = 40
    idle: int = 20
    staff: int = 2
    member_threads: int = 10
    workers: int = 2
    threads: int = 4
    request_timeout: float = 10.0
    keep: bool = False
    max_seconds: int = 900
    # Put the run's own nginx in front of gunicorn when nginx is installed.
    nginx: bool = True


def parse_args(argv: list[str] | None) -> Options:
    parser = argparse.ArgumentParser(
        prog="python scripts/faults.py",
        description="Fault injection against the site with its own PostgreSQL, Redis, gunicorn "
        "and (when installed) nginx.",
    )
    parser.add_argument("--quick", action="store_true", help="halve every phase (about 2 minutes)")
    parser.add_argument(
        "--duration-scale", type=float, default=1.0, help="multiply every phase's length"
    )
    parser.add_argument(
        "--slow-sockets", type=int, default=10, help="slow-client connections (6-12 suits)"
    )
    parser.add_argument("--keep", action="store_true", help="keep the temporary cluster directory")
    parser.add_argument(
        "--no-nginx",
        action="store_true",
        help="talk to gunicorn directly even when nginx is installed (not the production shape)",
    )
    parser.add_argument(
        "--max-seconds",
        type=int,
        default=900,
        help="give up (and clean up) when the whole run takes longer than this",
    )
    args = parser.parse_args(argv)
    scale = args.duration_scale * (0.5 if args.quick else 1.0)
    if not 0.1 <= scale <= 3.0:
        parser.error("the duration scale must lie between 0.1 and 3")
    timing = Timing(slow_sockets=max(1, min(50, args.slow_sockets))).scaled(scale)
    return Options(
        timing=timing,
        keep=args.keep,
        max_seconds=max(60, args.max_seconds),
        nginx=not args.no_nginx,
    )


def app_environment(*, pg_port: int, redis_port: int, proxies: int = 0) -> dict[str, str]:
    """Production settings against the run's own servers, with fresh secrets; `proxies` is
    the number of reverse proxies in front of the app (1 with the run's nginx)."""
    from cryptography.fernet import Fernet

    env = {key: value for key, value in os.environ.items() if not key.startswith(STRIPPED_PREFIXES)}
    env.update(
        {
            "DATABASE_URL": f"postgres://{PG_USER}@127.0.0.1:{pg_port}/{DATABASE}",
            "REDIS_URL": f"redis://127.0.0.1:{redis_port}/0",
            "DJANGO_DEBUG": "false",
            "COMMUNITY_SKIP_DOTENV": "1",
            "DJANGO_SECRET_KEY": secrets.token_urlsafe(64),
            "FIELD_ENCRYPTION_KEYS": Fernet.generate_key().decode("ascii"),
            "BLIND_INDEX_KEY": secrets.token_urlsafe(32),
            "DJANGO_ALLOWED_HOSTS": "127.0.0.1,localhost",
            "DJANGO_SECURE_SSL_REDIRECT": "false",
            "DATABASE_CONNECT_TIMEOUT": "2",
            "DATABASE_STATEMENT_TIMEOUT": "5000",
            "REDIS_TIMEOUT": "0.5",
            "PYTHONUNBUFFERED": "1",
        }
    )
    if proxies:
        env["DJANGO_PROXY_COUNT"] = str(proxies)
    return env


def _json_record(line: str) -> dict[str, Any] | None:
    """A JSON log line as a dict; None for any other line (or one cut off by a slice)."""
    if not line.startswith("{"):
        return None
    try:
        record = json.loads(line)
    except ValueError:
        return None
    return record if isinstance(record, dict) else None


def summarise_log(text: str) -> Counter[str]:
    """5xx responses by path, the exception that ended each traceback, and gunicorn worker
    kills, in a slice of the server log. Only names and paths are kept, never messages
    (they could hold values). An exception that another one replaced while it was being
    handled ("During handling of the above exception…") is not counted.

    The app writes JSON lines in production (community/logs.py): such a line is read as its
    message followed by its traceback, the text Django's plain format would have written."""
    found: Counter[str] = Counter()
    lines: list[str] = []
    for line in text.splitlines():
        record = _json_record(line)
        if record is None:
            lines.append(line)
        else:
            lines += [str(record.get("message", "")), *str(record.get("exc_info", "")).splitlines()]
    for position, line in enumerate(lines):
        if match := LOG_RESPONSE.match(line):
            path = MEMBER_PATH.sub("/members/<name>/", match.group(2).split("?")[0])
            found[f"{match.group(1)} {path}"] += 1
        elif match := LOG_GUNICORN.search(line):
            found[re.sub(r"\(pid:\d+\)", "", match.group(2))] += 1
        elif match := LOG_EXCEPTION.match(line):
            following = next((later for later in lines[position + 1 :] if later.strip()), "")
            if not following.startswith(CHAINED):
                found[match.group(1)] += 1
    return found


@dataclass
class Verification:
    """The checks after the load, as counts."""

    savers: int = 0
    matched: Counter[str] = field(default_factory=Counter)
    data_lost: int = 0
    alternation_breaks: int = 0
    idle: int = 0
    idle_erased: int = 0
    fresh_erasures: int = 0
    access_pairs: int = 0
    access_rows: int = 0
    access_shown: int = 0
    access_unknown: int = 0
    access_mismatches: int = 0
    foreign_values: int = 0
    undecryptable: int = 0
    filled_count_mismatches: int = 0
    unrecovered: list[str] = field(default_factory=list)
    # Informational phases that did not recover: reported, not counted.
    informational_unrecovered: list[str] = field(default_factory=list)
    checkpoint_failures: list[str] = field(default_factory=list)
    attempts: Counter[str] = field(default_factory=Counter)

    def checks(self) -> list[tuple[str, bool, str]]:
        matched = ", ".join(f"{label} {count}" for label, count in sorted(self.matched.items()))
        return [
            (
                "saving members hold what they were told",
                self.data_lost == 0,
                f"{self.savers - self.data_lost}/{self.savers} ({matched}); data lost {self.data_lost}",
            ),
            (
                "consent histories alternate",
                self.alternation_breaks == 0,
                f"{self.alternation_breaks} grants or withdrawals in a row",
            ),
            (
                "untouched stale data erased (retention)",
                self.idle_erased == self.idle,
                f"{self.idle_erased}/{self.idle}",
            ),
            (
                "purge never erased a fresh save",
                self.fresh_erasures == 0,
                f"{self.fresh_erasures} retention erasures after a confirmed save",
            ),
            (
                "access log matches staff views",
                self.access_mismatches == 0,
                f"{self.access_rows} rows for {self.access_pairs} pairs; views with values "
                f"{self.access_shown}, unknown {self.access_unknown}; "
                f"{self.access_mismatches} pairs outside their bounds",
            ),
            (
                "staff saw only the member's own values",
                self.foreign_values == 0,
                f"{self.foreign_values} foreign markers",
            ),
            (
                "stored rows consistent",
                self.undecryptable == 0 and self.filled_count_mismatches == 0,
                f"undecryptable {self.undecryptable}, filled_count wrong {self.filled_count_mismatches}",
            ),
            (
                "every phase checked and recovered",
                not self.unrecovered and not self.checkpoint_failures,
                (
                    ", ".join(
                        [f"not recovered: {name}" for name in self.unrecovered]
                        + [f"check failed: {name}" for name in self.checkpoint_failures]
                    )
                    or "all"
                )
                + "".join(
                    f"; not recovered (informational, not counted): {name}"
                    for name in self.informational_unrecovered
                ),
            ),
        ]

    @property
    def ok(self) -> bool:
        return all(passed for _name, passed, _detail in self.checks())


class FaultRun:
    def __init__(self, options: Options) -> None:
        self.options = options
        self.timing = options.timing
        self.frozen = Frozen()
        self.root: Path | None = None
        self.postgres: PostgresCluster | None = None
        self.redis: RedisServer | None = None
        self.gunicorn: Gunicorn | None = None
        self.nginx: Nginx | None = None
        self.nginx_build: NginxBuild | None = None
        # Why the run has no proxy in front, when it has none.
        self.no_proxy_reason = ""
        self.load: Load | None = None
        self.env: dict[str, str] = {}
        self.recorder = Recorder()
        self.phases: list[Phase] = []
        self.lost_by_phase: dict[str, set[str]] = {}
        self.failed_checkpoints: set[str] = set()
        # Byte ranges of each phase in the gunicorn log and in nginx's error log.
        self.log_marks: dict[str, tuple[tuple[int, int], tuple[int, int]]] = {}
        self.data: dict[str, Any] = {}
        self.initial: dict[str, StoredState] = {}
        self.clock = time.monotonic()
        self.started_at = datetime.now().astimezone()
        self.readyz_at_start = ""
        # Per slow-client phase: whether the site went on serving normal requests.
        self.slow_clients_served: dict[str, bool] = {}
        self._cleaned = False

    # --- output ---

    def say(self, message: str) -> None:
        sys.stderr.write(f"[{time.monotonic() - self.clock:6.1f}s] {message}\n")
        sys.stderr.flush()

    # --- set-up ---

    @property
    def front(self) -> str:
        """What the load goes through: "nginx" or "none" (gunicorn directly)."""
        return "nginx" if self.nginx is not None else "none"

    @property
    def front_port(self) -> int:
        if self.nginx is not None:
            return self.nginx.port
        return _started(self.gunicorn, "gunicorn").port

    def _find_nginx(self) -> None:
        if not self.options.nginx:
            self.no_proxy_reason = "--no-nginx given"
            return
        binary = find_nginx()
        if binary is None:
            self.no_proxy_reason = f"nginx is not installed (install: {NGINX_INSTALL_HINT})"
            return
        self.nginx_build = NginxBuild.probe(binary)

    def set_up(self) -> None:
        self._find_nginx()
        if self.nginx_build is None:
            self.say(
                f"NO PROXY: the load talks to gunicorn directly ({self.no_proxy_reason}); "
                "production runs behind nginx (README, Production)"
            )
        self.root = Path(tempfile.mkdtemp(prefix="faults-"))
        shutil.chown(self.root, PG_USER, PG_USER)
        self.postgres = PostgresCluster(self.root, free_port())
        self.say(f"PostgreSQL: initdb in {self.root}, port {self.postgres.port}")
        self.postgres.init()
        self.postgres.start()
        self.postgres.create_database(DATABASE)
        self.redis = RedisServer(self.root, free_port())
        self.redis.start()
        self.say(f"Redis: port {self.redis.port}")
        self.env = app_environment(
            pg_port=self.postgres.port,
            redis_port=self.redis.port,
            proxies=1 if self.nginx_build is not None else 0,
        )
        self.say("migrate and collectstatic")
        self._migrate_and_collect()
        self.say("data set through the app's services")
        self._seed()
        self.gunicorn = Gunicorn(
            env=self.env,
            port=free_port(),
            log=self.root / "gunicorn.log",
            workers=self.options.workers,
            threads=self.options.threads,
        )
        source = "gunicorn.conf.py" if self.gunicorn.uses_config_file else "command-line flags"
        self.say(f"gunicorn on port {self.gunicorn.port} ({source})")
        self.gunicorn.start()
        if self.nginx_build is not None:
            self.nginx = Nginx(
                self.nginx_build,
                root=self.root,
                port=free_port(),
                upstream_port=self.gunicorn.port,
            )
            self.say(
                f"nginx {self.nginx_build.version_text} on port {self.nginx.port} in front of "
                f"gunicorn (shaped like deploy/nginx.conf; config {self.nginx.config})"
            )
            self.nginx.start()
        self.readyz_at_start = self._wait_readyz()
        self.say(f"/readyz: {self.readyz_at_start}")

    def _migrate_and_collect(self) -> None:
        collect = subprocess.Popen(  # noqa: S603 (fixed program)
            [PYTHON, "manage.py", "collectstatic", "--noinput", "-v", "0"],
            cwd=BASE_DIR,
            env=self.env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
        )
        try:
            migrate = manage(["migrate", "--noinput", "-v", "0"], env=self.env, timeout=240)
            if migrate.returncode != 0:
                raise ServerError(f"migrate failed: {migrate.stderr.strip()[-800:]}")
            _, err = collect.communicate(timeout=240)
            if collect.returncode != 0:
                raise ServerError(f"collectstatic failed: {err.decode().strip()[-800:]}")
        finally:
            if collect.poll() is None:
                collect.kill()
                collect.wait(timeout=5)

    def _seed(self) -> None:
        password = secrets.token_urlsafe(12)
        config = {
            "savers": self.options.savers,
            "idle": self.options.idle,
            "staff": self.options.staff,
            "password": password,
        }
        result = python_module(
            "faults.dbstate", ["seed"], env=self.env, timeout=180, stdin=json.dumps(config)
        )
        if result.returncode != 0:
            raise ServerError(f"seeding failed: {result.stderr.strip()[-800:]}")
        self.data = json.loads(result.stdout.strip().splitlines()[-1])
        self.data["password"] = password
        self.initial = {
            name: StoredState.from_json(raw) for name, raw in self.data["initial"].items()
        }

    def _wait_readyz(self, timeout: float = 20.0) -> str:
        browser = Browser(
            "127.0.0.1", self.front_port, timeout=5, says_forwarded_proto=self.nginx is None
        )
        deadline = time.monotonic() + timeout
        last = "no answer"
        while time.monotonic() < deadline:
            answer = browser.request("GET", "/readyz")
            if answer.status == 200:
                return "200"
            if answer.status == 404:
                return "404 (not there yet: tolerated)"
            last = answer.error or str(answer.status)
            time.sleep(0.5)
        return f"{last} after {timeout:.0f} s"

    # --- the run ---

    def execute(self) -> int:
        self.set_up()
        gunicorn = _started(self.gunicorn, "gunicorn")
        postgres = _started(self.postgres, "PostgreSQL")
        redis = _started(self.redis, "Redis")
        config = LoadConfig(
            host="127.0.0.1",
            port=self.front_port,
            password=self.data["password"],
            savers=self.data["savers"],
            indexes=self.data["indexes"],
            subjects=[*self.data["savers"], *self.data["idle"]],
            staff=self.data["staff"],
            reader=self.data["reader"],
            env=self.env,
            member_threads=self.options.member_threads,
            request_timeout=self.options.request_timeout,
            says_forwarded_proto=self.nginx is None,
        )
        load = self.load = Load(config, self.recorder)
        self.say(f"logging in {len(config.savers)} members, {len(config.staff)} staff, 1 reader")
        load.start()
        if not load.wait_ready(90):
            self.say("not every client logged in within 90 s; going on")
        if load.start_purges() is None:
            raise ServerError("the first purge did not get ready within 30 s")
        timing = self.timing
        frozen = self.frozen

        def slow(port: int, front: str, *, reroute: bool = False) -> Callable[[], list[str]]:
            def apply() -> list[str]:
                notes = []
                if reroute:
                    # The site without its proxy: everybody talks to gunicorn directly.
                    load.reroute(port, says_forwarded_proto=True)
                    notes.append(
                        f"load, probes and slow sockets straight to gunicorn (port {port}), "
                        "past nginx, from the start of this phase to the end of the run"
                    )
                result = inject.slow_clients(port, timing.slow_sockets, timing.slow)
                by = "nginx" if front == "nginx" else "gunicorn"
                notes.insert(
                    0,
                    f"{result.opened}/{result.sockets} slow connections to {by} (port {port}) "
                    f"for {result.seconds:.0f} s, {result.closed_by_server} closed or answered "
                    f"by {by}",
                )
                return notes

            return apply

        front = self.front
        faults = [
            Step("postgres restart", lambda: inject.postgres_restart(postgres), front),
            Step(
                "postgres hang", lambda: inject.postgres_hang(postgres, frozen, timing.hang), front
            ),
            Step("redis stopped", lambda: inject.redis_down(redis, timing.redis_down), front),
            Step("redis hang", lambda: inject.redis_hang(redis, frozen, timing.hang), front),
            Step(SLOW_CLIENTS, slow(self.front_port, front), front, fault_front=front),
        ]
        if self.nginx is not None:
            # The documented reason for the proxy, shown beside the row above: the same slow
            # sockets with everybody talking to gunicorn directly. Last, so that a starved
            # server cannot spill into another fault's phase.
            faults.append(
                Step(
                    SLOW_CLIENTS_NO_PROXY,
                    slow(gunicorn.port, "none", reroute=True),
                    "none",
                    fault_front="none",
                    informational=True,
                )
            )
        load.release()
        self._phase("steady load (purge race)", None, front=front)
        for step in faults:
            self._phase(
                step.name,
                step.apply,
                front=step.front,
                fault_front=step.fault_front,
                informational=step.informational,
            )
        self.say("stopping the load")
        load.finish(timeout=self.options.request_timeout + 35)
        for phase in self.phases:
            if phase.fault_front is not None:
                self._note_slow_clients(phase)
        self._note_purge_race()
        verification = self._verify()
        return self._report(verification)

    def _phase(
        self,
        name: str,
        apply: Callable[[], list[str]] | None,
        *,
        front: str,
        fault_front: str | None = None,
        informational: bool = False,
    ) -> None:
        load = _started(self.load, "the load")
        log_start = self._log_sizes()
        started = self.phases[-1].ended if self.phases else time.time()
        self.say(f"phase: {name}" + (" (informational)" if informational else ""))
        try:
            notes = apply() if apply else []
        except (OSError, subprocess.SubprocessError, ServerError) as error:
            notes = [f"the fault could not be applied or removed: {type(error).__name__}"]
        healed = time.time()
        load.stop.wait(self.timing.gap if apply else self.timing.baseline)
        phase = Phase(
            name=name,
            started=started,
            healed=healed,
            ended=0.0,
            notes=notes,
            front=front,
            fault_front=fault_front,
            informational=informational,
        )
        self.phases.append(phase)
        self._checkpoint(phase)
        # The phase lasts until the next one begins: every request belongs to one phase.
        phase.ended = time.time()
        log_end = self._log_sizes()
        self.log_marks[name] = ((log_start[0], log_end[0]), (log_start[1], log_end[1]))

    def _log_paths(self) -> tuple[Path | None, Path | None]:
        """The gunicorn log and nginx's error log (None when there is no such log)."""
        gunicorn = self.root / "gunicorn.log" if self.root is not None else None
        nginx = self.nginx.error_log if self.nginx is not None else None
        return gunicorn, nginx

    def _log_sizes(self) -> tuple[int, int]:
        sizes = []
        for path in self._log_paths():
            size = 0
            if path is not None:
                with contextlib.suppress(OSError):
                    size = path.stat().st_size
            sizes.append(size)
        return sizes[0], sizes[1]

    def _dump(self, members: list[str]) -> dict[str, Any] | None:
        try:
            result = python_module(
                "faults.dbstate",
                ["dump"],
                env=self.env,
                timeout=60,
                stdin=json.dumps({"members": members}),
            )
        except subprocess.TimeoutExpired:
            return None
        if result.returncode != 0:
            return None
        parsed: dict[str, Any] = json.loads(result.stdout.strip().splitlines()[-1])
        return parsed

    def _verdicts(self, dump: dict[str, Any]) -> dict[str, MemberVerdict]:
        load = _started(self.load, "the load")
        verdicts = {}
        for member in load.members:
            actual = StoredState.from_json(dump["members"][member.username]["state"])
            verdicts[member.username] = verify_member(
                self.initial[member.username], list(member.attempts), actual
            )
        return verdicts

    def _checkpoint(self, phase: Phase) -> None:
        """Hold the saves, read every member's data through the models, compare."""
        load = _started(self.load, "the load")
        with load.paused_saves(self.options.request_timeout + 3) as settled:
            dump = self._dump(self.data["savers"])
        if not settled:
            phase.notes.append("saves still in flight at the check")
        lost = self.lost_by_phase.setdefault(phase.name, set())
        if dump is None:
            self.failed_checkpoints.add(phase.name)
            phase.notes.append("the check could not read the database")
            return
        bad = {name for name, verdict in self._verdicts(dump).items() if not verdict.ok}
        lost.update(bad)
        self.say(
            f"  checked: {len(self.data['savers']) - len(bad)}/{len(self.data['savers'])} members hold what they were told"
        )

    def _note_slow_clients(self, phase: Phase) -> None:
        """Whether the site went on serving while the slow connections held on: completed
        requests per second compared with the steady phase, and their latency."""
        records = [record for record in self.recorder.snapshot() if record.kind != "readyz"]
        steady = self.phases[0]

        def rate(start: float, end: float) -> float:
            done = sum(record.ok and start <= record.ended < end for record in records)
            return done / max(0.1, end - start)

        def durations(start: float, end: float) -> list[float]:
            return [
                record.ended - record.started for record in records if start <= record.started < end
            ]

        # The first second belongs to opening the connections.
        during = rate(phase.started + 1.0, phase.healed)
        usual = rate(steady.started, steady.ended)
        started = durations(phase.started + 1.0, phase.healed)
        p95 = percentile(started, 0.95)
        usual_p95 = percentile(durations(steady.started, steady.ended), 0.95)
        served = kept_serving(during_rate=during, usual_rate=usual, p95=p95, usual_p95=usual_p95)
        self.slow_clients_served[phase.name] = served
        if phase.informational:
            phase.notes.append(
                "informational: the site without its proxy; this row shows why nginx is "
                "required and does not decide PASS/FAIL (lost data would)"
            )
        phase.notes.append(
            f"normal requests served during the slow clients: {'yes' if served else 'NO'} "
            f"({during:.1f} completed/s against {usual:.1f}/s in steady load; requests sent "
            f"meanwhile: {len(started)}, p95 {'-' if p95 is None else f'{p95:.1f} s'}, "
            f"in steady load {'-' if usual_p95 is None else f'{usual_p95:.1f} s'})"
        )

    def _note_purge_race(self) -> None:
        """How much the first purge overlapped with confirmed saves (the race it provokes)."""
        load = _started(self.load, "the load")
        if not load.purges or not self.phases:
            return
        first = load.purges[0]
        saves = sum(
            attempt.outcome is Outcome.APPLIED and first.started <= attempt.done_at <= first.ended
            for member in load.members
            for attempt in member.attempts
        )
        erased = "?" if first.erased is None else str(first.erased)
        self.phases[0].notes.append(
            f"first purge ran {first.ended - first.started:.1f} s from the start line and "
            f"erased {erased} stale rows; {saves} saves were confirmed meanwhile"
        )

    # --- verification ---

    def _verify(self) -> Verification:
        load = _started(self.load, "the load")
        self.say("verifying through the models")
        savers, idle = self.data["savers"], self.data["idle"]
        check = Verification(savers=len(savers), idle=len(idle))
        dump = self._dump([*savers, *idle])
        if dump is None:
            check.checkpoint_failures.append("final")
            check.data_lost = len(savers)
            return check
        verdicts = self._verdicts(dump)
        check.matched = Counter(verdict.matched for verdict in verdicts.values())
        check.data_lost = count_data_lost(verdicts.values())
        for member in load.members:
            for attempt in member.attempts:
                check.attempts[attempt.outcome.value] += 1
        members = dump["members"]
        for name in [*savers, *idle]:
            actions = [action for action, _reason, _at in members[name]["records"]]
            check.alternation_breaks += alternation_breaks(actions)
        for name in idle:
            records = members[name]["records"]
            actual = StoredState.from_json(members[name]["state"])
            if actual == ERASED and records and records[-1][:2] == ["withdrawn", "retention"]:
                check.idle_erased += 1
        for member in load.members:
            successes = [a.done_at for a in member.attempts if a.outcome is Outcome.APPLIED]
            retention = [
                at
                for action, reason, at in members[member.username]["records"]
                if action == "withdrawn" and reason == "retention"
            ]
            for moment in fresh_erasures(successes, retention):
                check.fresh_erasures += 1
                self.lost_by_phase.setdefault(self._phase_at(moment), set()).add(member.username)
        rows = {(viewer, subject): count for viewer, subject, count in dump["access"]}
        bounds = dict(load.bounds)
        check.access_pairs = len({*rows, *bounds})
        check.access_rows = int(dump["access_total"])
        check.access_shown = sum(bound.shown for bound in bounds.values())
        check.access_unknown = sum(bound.unknown for bound in bounds.values())
        check.access_mismatches = len(access_mismatches(bounds, rows))
        check.foreign_values = load.foreign_values
        check.undecryptable = int(dump["undecryptable"])
        check.filled_count_mismatches = int(dump["filled_count_mismatches"])
        # The final look counts for the last phase as well.
        if self.phases:
            last = self.phases[-1].name
            self.lost_by_phase.setdefault(last, set()).update(
                name for name, verdict in verdicts.items() if not verdict.ok
            )
        records = self.recorder.snapshot()
        for phase in self.phases:
            phase.data_lost = len(self.lost_by_phase.get(phase.name, set()))
            if phase_stats(records, phase).recovery is None:
                if phase.informational:
                    check.informational_unrecovered.append(phase.name)
                else:
                    check.unrecovered.append(phase.name)
        check.checkpoint_failures.extend(sorted(self.failed_checkpoints))
        return check

    def _phase_at(self, moment: float) -> str:
        current = self.phases[0].name if self.phases else "before"
        for phase in self.phases:
            if phase.started <= moment:
                current = phase.name
        return current

    # --- report ---

    def _read_logs(self) -> tuple[bytes, bytes]:
        contents = []
        for path in self._log_paths():
            raw = b""
            if path is not None:
                with contextlib.suppress(OSError):
                    raw = path.read_bytes()
            contents.append(raw)
        return contents[0], contents[1]

    def _report(self, check: Verification) -> int:
        records = self.recorder.snapshot()
        raw_log, raw_nginx_log = self._read_logs()
        for phase in self.phases:
            (start, end), (nginx_start, nginx_end) = self.log_marks.get(
                phase.name, ((0, 0), (0, 0))
            )
            found = summarise_log(raw_log[start:end].decode("utf-8", "replace"))
            nginx_found = summarise_nginx_log(
                raw_nginx_log[nginx_start:nginx_end].decode("utf-8", "replace")
            )
            stats = phase_stats(records, phase)
            p50 = "-" if stats.p50 is None else f"{stats.p50 * 1000:.0f} ms"
            p95 = "-" if stats.p95 is None else f"{stats.p95 * 1000:.0f} ms"
            slowest = "-" if stats.slowest is None else f"{stats.slowest:.1f} s"
            phase.notes.append(f"latency of successes p50 {p50}, p95 {p95}, slowest {slowest}")
            if stats.failure_span is not None:
                first, last = stats.failure_span
                phase.notes.append(
                    f"failed requests were sent from {first:+.1f} s to {last:+.1f} s "
                    f"(fault removed at +{phase.healed - phase.started:.1f} s)"
                )
            phase.notes.append(f"/readyz: {format_counts(stats.readyz, empty='not asked')}")
            by_kind = Counter(
                f"{record.kind} {record.label}"
                for record in in_phase(records, phase)
                if not record.ok
            )
            if by_kind:
                phase.notes.append(f"failures by request: {format_counts(by_kind)}")
            if found:
                phase.notes.append(f"server log: {format_counts(found)}")
            if nginx_found:
                phase.notes.append(f"nginx error log: {format_counts(nginx_found)}")
            if phase.data_lost:
                phase.notes.append(
                    f"data lost: {phase.data_lost} members whose confirmed save is not what is stored"
                )
        table = format_table(TABLE_HEADERS, table_rows(self.phases, records))
        purges = self.load.purges if self.load else []
        purge_errors = Counter(run.error or "ok" for run in purges)
        erased = sum(run.erased or 0 for run in purges)
        print()
        if self.nginx is not None:
            print(
                f"front: nginx {_started(self.nginx_build, 'nginx').version_text} "
                "(shaped like deploy/nginx.conf) in front of gunicorn"
            )
        else:
            print(
                f"front: NONE, the load talked to gunicorn directly ({self.no_proxy_reason}). "
                "Production runs behind nginx: the slow-clients row shows gunicorn unprotected."
            )
        print(table)
        if any(phase.informational for phase in self.phases):
            print(INFORMATIONAL_LEGEND)
        print()
        for phase in self.phases:
            print(f"{phase.name}:")
            for note in phase.notes:
                print(f"  - {note}")
        print()
        print("verification through the models, after the load:")
        for name, passed, detail in check.checks():
            print(f"  [{'ok' if passed else 'FAIL'}] {name}: {detail}")
        for phase in self.phases:
            served = self.slow_clients_served.get(phase.name)
            if served is None:
                continue
            if phase.informational:
                outcome = (
                    "held every gunicorn thread, as documented: that is why nginx is required"
                    if not served
                    else "did not starve the site this time"
                )
                print(f"  [info] {phase.name}: slow sockets straight to gunicorn {outcome}")
            elif not served:
                print(
                    f"  [warn] {phase.name} (front: {phase.front}): slow clients held every "
                    "server thread (not a data check; see the slow-clients notes above)"
                )
            else:
                print(f"  [ok] {phase.name} (front: {phase.front}): the site kept serving")
        print(
            f"  saves sent: {sum(check.attempts.values())} ({format_counts(check.attempts)}); "
            f"purge runs: {len(purges)} ({format_counts(purge_errors)}), "
            f"{erased} erased on retention; /readyz at start: {self.readyz_at_start}"
        )
        ok = check.ok and all(phase.data_lost == 0 for phase in self.phases)
        path = self._write_json(check, records, purges, ok)
        print()
        print(
            f"{'PASS' if ok else 'FAIL'}: data lost {sum(p.data_lost for p in self.phases)}; report {path.relative_to(BASE_DIR)}"
        )
        return 0 if ok else 1

    def _write_json(
        self, check: Verification, records: list[Any], purges: list[Any], ok: bool
    ) -> Path:
        RESULTS_DIR.mkdir(parents=True, exist_ok=True)
        path = RESULTS_DIR / f"faults-{self.started_at:%Y%m%d-%H%M%S}.json"
        payload = {
            "started": self.started_at.isoformat(timespec="seconds"),
            "finished": datetime.now().astimezone().isoformat(timespec="seconds"),
            "ok": ok,
            "timing": asdict(self.timing),
            "setup": {
                "savers": self.options.savers,
                "idle": self.options.idle,
                "staff": self.options.staff,
                "member_threads": self.options.member_threads,
                "gunicorn_workers": self.options.workers,
                "gunicorn_threads": self.options.threads,
                "gunicorn_config_file": bool(self.gunicorn and self.gunicorn.uses_config_file),
                "front": self.front,
                "no_proxy_reason": self.no_proxy_reason or None,
                "nginx_version": self.nginx_build.version_text if self.nginx_build else None,
                "request_timeout": self.options.request_timeout,
                "readyz_at_start": self.readyz_at_start,
            },
            # Through the front (None when there was no such phase) and straight to gunicorn.
            "slow_clients_served": self.slow_clients_served.get(SLOW_CLIENTS),
            "slow_clients_no_proxy_served": self.slow_clients_served.get(SLOW_CLIENTS_NO_PROXY),
            "columns": list(TABLE_HEADERS),
            "phases": [phase_json(phase, records) for phase in self.phases],
            "verification": {
                "ok": check.ok,
                "checks": [
                    {"check": name, "ok": passed, "detail": detail}
                    for name, passed, detail in check.checks()
                ],
                "matched": dict(check.matched),
                "save_outcomes": dict(check.attempts),
            },
            "purges": [asdict(run) for run in purges],
        }
        path.write_text(json.dumps(payload, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
        return path

    # --- tear-down ---

    def clean_up(self) -> None:
        """Stop what this run started, in reverse order; safe to call more than once."""
        if self._cleaned:
            return
        self._cleaned = True
        steps: list[tuple[str, Callable[[], None]]] = []
        if self.load is not None:
            load = self.load
            steps.append(("load", lambda: load.finish(timeout=self.options.request_timeout + 5)))
        steps.append(("stopped processes", self.frozen.cont))
        if self.nginx is not None:
            steps.append(("nginx", self.nginx.stop))
        if self.gunicorn is not None:
            steps.append(("gunicorn", self.gunicorn.stop))
        if self.redis is not None:
            steps.append(("redis", self.redis.stop))
        if self.postgres is not None:
            steps.append(("postgres", self.postgres.stop))
        for name, step in steps:
            try:
                step()
            except Exception as error:
                sys.stderr.write(f"stopping {name} failed: {type(error).__name__}\n")
        if self.root is None:
            return
        if self.options.keep:
            self._keep_notes()
            sys.stderr.write(f"kept {self.root} (see {self.root / 'README.txt'})\n")
        else:
            shutil.rmtree(self.root, ignore_errors=True)

    def _keep_notes(self) -> None:
        root = _started(self.root, "the run directory")
        env_file = root / "app.env"
        keys = (
            "DATABASE_URL",
            "REDIS_URL",
            "DJANGO_SECRET_KEY",
            "FIELD_ENCRYPTION_KEYS",
            "BLIND_INDEX_KEY",
            "DJANGO_DEBUG",
            "COMMUNITY_SKIP_DOTENV",
        )
        env_file.write_text("".join(f"{key}={self.env.get(key, '')}\n" for key in keys))
        env_file.chmod(0o600)
        port = self.postgres.port if self.postgres else 0
        (root / "README.txt").write_text(
            "Kept by scripts/faults.py --keep. The servers are stopped.\n"
            f"Start the cluster: runuser -u {PG_USER} -- pg_ctl -D {root / 'pgdata'} "
            f"-l {root / 'postgres.log'} start   (port {port})\n"
            f"Environment of the run (secrets!): {env_file}\n"
            "Logs: gunicorn.log, postgres.log, redis.log"
            + (
                ", nginx/error.log, nginx/access.log (config: nginx/nginx.conf)"
                if self.nginx
                else ""
            )
            + "\n"
        )


def _started[T](value: T | None, what: str) -> T:
    """`value`, which the set-up has made; a missing one is a set-up failure."""
    if value is None:
        raise ServerError(f"{what} is not set up")
    return value


class RunTooLong(Exception):
    """The whole run took longer than --max-seconds."""


def _raise_interrupt(signum: int, frame: FrameType | None) -> None:
    raise KeyboardInterrupt


def _raise_overtime(signum: int, frame: FrameType | None) -> None:
    raise RunTooLong


def main(argv: list[str] | None = None) -> int:
    if os.geteuid() != 0:
        sys.stderr.write("The run starts PostgreSQL as the postgres user and needs root.\n")
        return 2
    options = parse_args(argv)
    run = FaultRun(options)
    atexit.register(run.clean_up)
    # Interruptible even when started in the background (where SIGINT starts out ignored).
    signal.signal(signal.SIGINT, signal.default_int_handler)
    signal.signal(signal.SIGTERM, _raise_interrupt)
    signal.signal(signal.SIGALRM, _raise_overtime)
    signal.alarm(options.max_seconds)
    try:
        return run.execute()
    except KeyboardInterrupt:
        sys.stderr.write("interrupted: stopping what the run started\n")
        return 130
    except RunTooLong:
        sys.stderr.write(f"gave up after {options.max_seconds} s: stopping what the run started\n")
        return 2
    except (ServerError, subprocess.TimeoutExpired) as error:
        sys.stderr.write(f"the run could not go on: {error}\n")
        return 2
    finally:
        signal.alarm(0)
        run.clean_up()


if __name__ == "__main__":
    sys.exit(main())
