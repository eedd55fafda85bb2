"""The site under gunicorn, and the CPU time of processes, read through psutil."""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterable
from pathlib import Path
from typing import IO

import psutil
import requests

from bench.config import BASE_DIR, GUNICORN_LOG

GONE = (psutil.NoSuchProcess, psutil.AccessDenied)


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def cpu_seconds(processes: Iterable[psutil.Process]) -> float:
    """User and system time of `processes`, including that of their children that have ended.

    Summed over a whole process tree, the figure only grows: a worker that gunicorn recycles
    takes its time along into the master's `children_*` fields when the master reaps it, and
    a PostgreSQL backend into the postmaster's. So the difference of two readings is the CPU
    time spent in between, whatever processes came and went.
    """
    total = 0.0
    for process in processes:
        with contextlib.suppress(*GONE):
            times = process.cpu_times()
            total += times.user + times.system + times.children_user + times.children_system
    return total


def processes_named(names: tuple[str, ...]) -> list[psutil.Process]:
    """The processes whose name is one of `names` (the database and cache servers)."""
    return [p for p in psutil.process_iter(["name"]) if p.info["name"] in names] if names else []


def machine_busy_seconds() -> float:
    """CPU time the whole machine spent busy so far (all cores; guest time is inside user)."""
    t = psutil.cpu_times()
    return sum(
        getattr(t, name, 0.0) for name in ("user", "nice", "system", "irq", "softirq", "steal")
    )


class Gunicorn:
    """gunicorn community.wsgi with the repo's gunicorn.conf.py, N workers, a free loopback port."""

    def __init__(self, *, env: dict[str, str], workers: int) -> None:
        self.env = env
        self.workers = workers
        self.port = free_port()
        self.process: subprocess.Popen[bytes] | None = None
        self._log: IO[bytes] | None = None

    @property
    def command(self) -> list[str]:
        return [
            str(Path(sys.executable).parent / "gunicorn"),
            f"--config={BASE_DIR / 'gunicorn.conf.py'}",
            "community.wsgi",
            f"--workers={self.workers}",
            f"--bind=127.0.0.1:{self.port}",
            "--error-logfile=-",
            "--log-level=warning",
        ]

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self, timeout: float = 60.0) -> None:
        """Start it in its own process group and wait for /healthz and all workers."""
        GUNICORN_LOG.parent.mkdir(parents=True, exist_ok=True)
        self._log = GUNICORN_LOG.open("wb")
        self.process = subprocess.Popen(  # noqa: S603 (fixed command line)
            self.command,
            cwd=BASE_DIR,
            env=self.env,
            stdout=self._log,
            stderr=subprocess.STDOUT,
            start_new_session=True,  # Ctrl-C reaches us, and we stop it
        )
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"gunicorn exited with code {self.process.returncode}")
            with contextlib.suppress(requests.RequestException):
                healthy = requests.get(f"{self.base_url}/healthz", timeout=2).status_code == 200
                if healthy and len(self.processes()) > self.workers:
                    return
            time.sleep(0.2)
        raise RuntimeError(f"gunicorn did not answer /healthz within {timeout:.0f} s")

    def processes(self) -> list[psutil.Process]:
        """The master and its workers."""
        if self.process is None:
            return []
        try:
            master = psutil.Process(self.process.pid)
            return [master, *master.children(recursive=True)]
        except GONE:
            return []

    def cpu(self) -> float:
        return cpu_seconds(self.processes())

    def open_connections(self) -> int:
        """Client connections the server still holds: requests it is answering, or keep-alive
        connections it has not closed yet (a closed client's socket waits in CLOSE_WAIT until
        the worker is done with it)."""
        held = set()
        for process in self.processes():
            with contextlib.suppress(*GONE):
                for conn in process.net_connections(kind="tcp"):
                    if conn.laddr and conn.laddr.port == self.port and conn.raddr:
                        held.add((conn.laddr, conn.raddr))
        return len(held)

    def drain(self, timeout: float = 30.0, poll: float = 0.05) -> float:
        """Wait until the server holds no client connection, at most `timeout` seconds; returns
        the seconds waited. wrk stops at the end of its window without waiting for answers, so
        slow requests would otherwise still run while the next window is measured, and that
        window would pay for them."""
        started = time.monotonic()
        while self.open_connections() and time.monotonic() - started < timeout:
            time.sleep(poll)
        return time.monotonic() - started

    def stop(self) -> None:
        """Graceful stop (SIGTERM to the master), then SIGKILL to whatever is left of the group."""
        process, self.process = self.process, None
        if process is not None:
            if process.poll() is None:
                process.terminate()
                try:
                    process.wait(timeout=15)
                except subprocess.TimeoutExpired:
                    process.kill()
                    process.wait(timeout=5)
            # Workers left behind by a crashed master share its process group.
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.killpg(process.pid, signal.SIGKILL)
        if self._log is not None:
            self._log.close()
            self._log = None
