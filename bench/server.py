"""The site under gunicorn: start, wait until healthy, measure its CPU time, stop."""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path
from typing import IO

from bench.config import BASE_DIR, GUNICORN_LOG

CLOCK_TICKS = os.sysconf("SC_CLK_TCK")


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def _stat_fields(pid: int) -> list[str] | None:
    """Fields of /proc/<pid>/stat after the command name (field 3 onwards)."""
    try:
        raw = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    return raw[raw.rfind(")") + 2 :].split()


def processes_named(names: tuple[str, ...]) -> list[int]:
    """Processes whose command name is one of `names` (the database and cache servers)."""
    found = []
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                comm = Path(f"/proc/{entry}/comm").read_text().strip()
            except OSError:
                continue
            if comm in names:
                found.append(int(entry))
    return found


def process_tree(root: int) -> list[int]:
    """`root` and all its descendants (gunicorn: the master and its workers)."""
    parents: dict[int, list[int]] = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        fields = _stat_fields(int(entry))
        if fields:
            parents.setdefault(int(fields[1]), []).append(int(entry))
    tree, todo = [], [root]
    while todo:
        pid = todo.pop()
        tree.append(pid)
        todo.extend(parents.get(pid, []))
    return tree


def cpu_seconds(pids: list[int]) -> dict[int, float]:
    """utime + stime of each process, in seconds."""
    times: dict[int, float] = {}
    for pid in pids:
        fields = _stat_fields(pid)
        if fields:
            # After the name: state(3) ppid(4) ... utime(14) stime(15) -> indexes 11 and 12.
            times[pid] = (int(fields[11]) + int(fields[12])) / CLOCK_TICKS
    return times


def machine_busy_seconds() -> float:
    """CPU time all processes on the machine spent busy so far (all cores), from /proc/stat."""
    try:
        first = Path("/proc/stat").read_text().splitlines()[0].split()
    except (OSError, IndexError):
        return 0.0
    # cpu user nice system idle iowait irq softirq steal ...: everything but idle and iowait.
    values = [int(value) for value in first[1:9]]
    return (sum(values) - values[3] - values[4]) / CLOCK_TICKS


def cpu_delta(before: dict[int, float], after: dict[int, float]) -> float:
    """CPU seconds spent between two readings (a process new since `before` counts fully)."""
    return sum(value - before.get(pid, 0.0) for pid, value in after.items())


class Gunicorn:
    """gunicorn community.wsgi with the repo's gunicorn.conf.py, N workers, a free loopback port."""

    def __init__(self, *, env: dict[str, str], workers: int, port: int | None = None) -> None:
        self.env = env
        self.workers = workers
        self.port = port or free_port()
        self.process: subprocess.Popen[bytes] | None = None
        self._log: IO[bytes] | None = None

    @property
    def command(self) -> list[str]:
        gunicorn = str(Path(sys.executable).parent / "gunicorn")
        return [
            gunicorn,
            "--config",
            str(BASE_DIR / "gunicorn.conf.py"),
            "community.wsgi",
            "--workers",
            str(self.workers),
            "--bind",
            f"127.0.0.1:{self.port}",
            "--error-logfile",
            "-",
            "--log-level",
            "warning",
        ]

    def start(self, timeout: float = 60.0) -> None:
        GUNICORN_LOG.parent.mkdir(parents=True, exist_ok=True)
        self._log = GUNICORN_LOG.open("wb")
        self.process = subprocess.Popen(  # noqa: S603 (fixed command line)
            self.command,
            cwd=BASE_DIR,
            env=self.env,
            stdout=self._log,
            stderr=subprocess.STDOUT,
            start_new_session=True,  # its own process group: Ctrl-C reaches us, we stop it
        )
        deadline = time.monotonic() + timeout
        url = f"http://127.0.0.1:{self.port}/healthz"
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(
                    f"gunicorn exited with code {self.process.returncode}; see {GUNICORN_LOG}"
                )
            with (
                contextlib.suppress(OSError, urllib.error.URLError),
                urllib.request.urlopen(url, timeout=2) as response,
            ):
                if response.status == 200:
                    self._wait_for_workers(deadline)
                    return
            time.sleep(0.2)
        raise RuntimeError(f"gunicorn did not answer /healthz within {timeout:.0f} s")

    def _wait_for_workers(self, deadline: float) -> None:
        while len(self.pids()) < self.workers + 1 and time.monotonic() < deadline:
            time.sleep(0.1)

    def pids(self) -> list[int]:
        return process_tree(self.process.pid) if self.process else []

    def cpu(self) -> dict[int, float]:
        return cpu_seconds(self.pids())

    def stop(self) -> None:
        """Graceful stop (SIGTERM to the master), then SIGKILL to its process group."""
        process = self.process
        if process is not None and process.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                process.send_signal(signal.SIGTERM)
            try:
                process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(process.pid, signal.SIGKILL)
                process.wait(timeout=5)
        if process is not None:
            # Workers left behind by a crashed master share its process group.
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.killpg(process.pid, signal.SIGKILL)
        self.process = None
        if self._log is not None:
            self._log.close()
            self._log = None
