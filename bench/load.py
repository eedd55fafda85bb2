"""The load generator: wrk, found or installed, driven by `bench/wrk.lua`.

One call of `run_wrk` is one measurement window: N connections sending one request (method,
path, headers, body) for a whole number of seconds. It reports completed requests, the
window's length, answers with an unexpected status, socket errors and 1,000 latency quantiles,
so that `bench.report` can pool the windows of all rounds.
"""

from __future__ import annotations

import json
import os
import resource
import shutil
import subprocess
from dataclasses import dataclass, field
from itertools import accumulate
from pathlib import Path

QUANTILE_STEPS = 1000  # quantile i (1..1000) is the latency below which i/10 % of requests fall
WRK_TIMEOUT_S = 10
WRK_SCRIPT = Path(__file__).with_name("wrk.lua")
SOCKET_ERRORS = ("connect", "read", "write", "timeout")
INSTALL_HINT = (
    "wrk is required: install it with `sudo apt-get install wrk` (Debian, Ubuntu), "
    "`brew install wrk` (macOS) or from https://github.com/wg/wrk, then run `make bench` again."
)


class BenchError(RuntimeError):
    """A step of the benchmark failed; the message says which and why."""


@dataclass(frozen=True)
class BodyCheck:
    """What the check before the load requires of an answer's HTML: `count` matches of the
    regular expression `pattern` (at least `count` with `at_least`), so that a row cannot
    silently measure another page (a filter dropped as invalid, a search that found nobody).
    `what` names it in the error."""

    what: str
    pattern: str
    count: int = 1
    at_least: bool = False

    def passes(self, found: int) -> bool:
        return found >= self.count if self.at_least else found == self.count


@dataclass(frozen=True)
class Target:
    """One URL as one viewer: what a measurement window sends, and what it expects back."""

    key: str
    label: str
    method: str
    path: str
    headers: dict[str, str]
    body: str = ""
    expect: int = 200
    checks: tuple[BodyCheck, ...] = ()


@dataclass
class Window:
    """What one measurement window of one target produced."""

    target: str
    round: int
    requests: int
    seconds: float
    unexpected_status: int
    socket_errors: int
    quantiles_ms: list[float]
    server_cpu_s: float = 0.0
    client_cpu_s: float = 0.0
    backing_cpu_s: float = 0.0  # PostgreSQL and Redis processes on this machine
    machine_cpu_s: float = 0.0  # all processes on the machine, for spotting background load
    wall_s: float = 0.0  # between the CPU readings around the window: wrk's start and end too
    drain_s: float = 0.0  # waited afterwards for the server to finish the window's requests
    extra: dict[str, int] = field(default_factory=dict)  # wrk's error counters

    @property
    def rps(self) -> float:
        return self.requests / self.seconds if self.seconds else 0.0

    @property
    def other_cpu_cores(self) -> float:
        """Cores busy with anything but gunicorn, wrk and the database/cache."""
        other = self.machine_cpu_s - self.server_cpu_s - self.client_cpu_s - self.backing_cpu_s
        wall = self.wall_s or self.seconds
        return max(0.0, other / wall) if wall else 0.0


def ensure_wrk() -> str:
    """The path of wrk; installs Debian's package first when missing and allowed (root, apt-get)."""
    found = shutil.which("wrk")
    if found:
        return found
    apt_get = shutil.which("apt-get")
    if os.geteuid() != 0 or apt_get is None:
        raise BenchError(INSTALL_HINT)
    print("wrk is missing: installing Debian's package (apt-get install -y -qq wrk)", flush=True)
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}

    def apt(*arguments: str) -> bool:
        command = [apt_get, *arguments]
        return subprocess.run(command, env=env, capture_output=True, check=False).returncode == 0  # noqa: S603

    if not apt("install", "-y", "-qq", "wrk"):
        apt("update", "-qq")  # a fresh container has no package lists yet
        apt("install", "-y", "-qq", "wrk")
    found = shutil.which("wrk")
    if not found:
        raise BenchError(f"`apt-get install -y -qq wrk` failed. {INSTALL_HINT}")
    return found


def wrk_version(binary: str) -> str:
    """E.g. "wrk debian/4.1.0-3+b2" from the first line of `wrk --version`."""
    run = subprocess.run([binary, "--version"], capture_output=True, text=True, check=False)  # noqa: S603
    first = (run.stdout or run.stderr).strip().splitlines()[:1]
    return first[0].split(" [")[0] if first else "wrk"


def parse_result(stdout: str, *, target: str) -> Window:
    """The window described by the JSON line that `wrk.lua`'s done() printed after wrk's text."""
    line = next((ln for ln in reversed(stdout.splitlines()) if ln.startswith('{"requests"')), "")
    if not line:
        raise BenchError(f"wrk printed no result for {target}:\n{stdout.strip()[-2000:]}")
    data = json.loads(line)
    # Quantiles never decrease; guard against any quirk of wrk's histogram.
    quantiles = list(accumulate((value / 1000 for value in data["latency_us"]), max))
    errors = {name: int(count) for name, count in data["errors"].items()}
    return Window(
        target=target,
        round=0,
        requests=int(data["requests"]),
        seconds=data["duration_us"] / 1e6,
        unexpected_status=int(data["unexpected"]),
        socket_errors=sum(errors.get(name, 0) for name in SOCKET_ERRORS),
        quantiles_ms=quantiles,
        extra=errors,
    )


def wrk_command(binary: str, url: str, *, connections: int, seconds: float) -> list[str]:
    """One wrk thread (the server is the thing measured), whole seconds, at least one."""
    script = f"--script={WRK_SCRIPT}"
    duration, timeout = f"--duration={max(1, round(seconds))}s", f"--timeout={WRK_TIMEOUT_S}s"
    return [binary, "--threads=1", f"--connections={connections}", duration, timeout, script, url]


def wrk_environment(target: Target) -> dict[str, str]:
    """What `wrk.lua` reads: the request of `target` (wrk sets Host and Content-Length)."""
    headers = "\n".join(
        f"{name}: {value}"
        for name, value in target.headers.items()
        if name.lower() not in ("host", "content-length")
    )
    return {
        **os.environ,
        "BENCH_METHOD": target.method,
        "BENCH_BODY": target.body,
        "BENCH_HEADERS": headers,
        "BENCH_EXPECT": str(target.expect),
    }


def run_wrk(
    binary: str, base_url: str, target: Target, *, connections: int, seconds: float
) -> Window:
    """Run one window; wrk's own CPU time is recorded as the client's."""
    command = wrk_command(binary, base_url + target.path, connections=connections, seconds=seconds)
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    run = subprocess.run(  # noqa: S603 (fixed command line)
        command, env=wrk_environment(target), capture_output=True, text=True, check=False
    )
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    if run.returncode != 0:
        raise BenchError(f"wrk failed for {target.label} (exit {run.returncode}): {run.stderr}")
    window = parse_result(run.stdout, target=target.key)
    window.client_cpu_s = (after.ru_utime + after.ru_stime) - (before.ru_utime + before.ru_stime)
    return window
