"""The run's own servers: a PostgreSQL cluster, a Redis and gunicorn, on free loopback ports.

Each is started by this run and stopped by it only, by process id or by its own data
directory; the machine's shared servers are never touched. PostgreSQL runs as the `postgres`
OS user (the run itself is root), with trust authentication and its socket in the run's
temporary directory.
"""

from __future__ import annotations

import contextlib
import glob
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import IO

BASE_DIR = Path(__file__).resolve().parent.parent
PYTHON = (
    str(BASE_DIR / ".venv" / "bin" / "python") if (BASE_DIR / ".venv").exists() else sys.executable
)
PG_USER = "postgres"


class ServerError(RuntimeError):
    """A server could not be started or stopped; the message says which and why."""


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    state = _stat(pid)
    return state is not None and state[0] != "Z"


def _stat(pid: int) -> list[str] | None:
    """Fields of /proc/<pid>/stat after the command name (state, ppid, ...)."""
    try:
        raw = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    return raw[raw.rfind(")") + 2 :].split()


def children_of(root: int) -> list[int]:
    """All descendants of `root` (not `root` itself)."""
    parents: dict[int, list[int]] = {}
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            fields = _stat(int(entry))
            if fields:
                parents.setdefault(int(fields[1]), []).append(int(entry))
    found, todo = [], list(parents.get(root, []))
    while todo:
        pid = todo.pop()
        found.append(pid)
        todo.extend(parents.get(pid, []))
    return found


def signal_all(pids: Iterable[int], signum: int) -> None:
    for pid in pids:
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.kill(pid, signum)


def _binary(name: str) -> str:
    found = shutil.which(name)
    if found:
        return found
    candidates = sorted(glob.glob(f"/usr/lib/postgresql/*/bin/{name}"))
    if candidates:
        return candidates[-1]
    raise ServerError(f"{name} not found on PATH or in /usr/lib/postgresql/*/bin")


def wait_for(check: Callable[[], bool], timeout: float, interval: float = 0.1) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if check():
            return True
        time.sleep(interval)
    return False


class Frozen:
    """Processes stopped with SIGSTOP, so that every exit path continues them."""

    def __init__(self) -> None:
        self.pids: set[int] = set()

    def stop(self, pids: Iterable[int]) -> list[int]:
        stopped = list(pids)
        self.pids.update(stopped)
        signal_all(stopped, signal.SIGSTOP)
        return stopped

    def cont(self, pids: Iterable[int] | None = None) -> None:
        targets = set(self.pids if pids is None else pids)
        signal_all(targets, signal.SIGCONT)
        self.pids -= targets


class PostgresCluster:
    """A throw-away cluster in `root/pgdata`, listening on 127.0.0.1:`port` only."""

    def __init__(self, root: Path, port: int) -> None:
        self.root = root
        self.port = port
        self.data = root / "pgdata"
        self.sockets = root / "pgsock"
        self.log = root / "postgres.log"
        self.started = False

    def _as_postgres(self, *args: str, timeout: float = 60.0) -> subprocess.CompletedProcess[str]:
        command = ["runuser", "-u", PG_USER, "--", *args]
        return subprocess.run(  # noqa: S603 (fixed programs, arguments built here)
            command,
            cwd=self.root,
            capture_output=True,
            text=True,
            timeout=timeout,
            check=False,
        )

    def init(self) -> None:
        self.sockets.mkdir()
        shutil.chown(self.sockets, PG_USER, PG_USER)
        result = self._as_postgres(
            _binary("initdb"),
            "-D",
            str(self.data),
            "--auth=trust",
            f"--username={PG_USER}",
            "--encoding=UTF8",
            "--locale=C.UTF-8",
            "--no-sync",
            "--no-instructions",
        )
        if result.returncode != 0:
            raise ServerError(f"initdb failed: {result.stderr.strip()[-500:]}")
        # In the configuration file, so a restart (and a kept cluster) needs no options.
        with (self.data / "postgresql.conf").open("a") as conf:
            conf.write(
                f"\nport = {self.port}\n"
                "listen_addresses = '127.0.0.1'\n"
                f"unix_socket_directories = '{self.sockets}'\n"
                "max_connections = 60\n"
                "shared_buffers = 64MB\n"
            )

    def start(self) -> None:
        result = self._as_postgres(
            _binary("pg_ctl"),
            "-D",
            str(self.data),
            "-l",
            str(self.log),
            "-w",
            "-t",
            "30",
            "start",
        )
        self.started = True
        if result.returncode != 0:
            raise ServerError(f"pg_ctl start failed: {result.stderr.strip()[-500:]}")

    def create_database(self, name: str) -> None:
        result = self._as_postgres(
            _binary("createdb"), "-h", str(self.sockets), "-p", str(self.port), name
        )
        if result.returncode != 0:
            raise ServerError(f"createdb failed: {result.stderr.strip()[-500:]}")

    def restart(self) -> subprocess.CompletedProcess[str]:
        """`pg_ctl restart -m fast`: drops every connection, back when it accepts new ones."""
        # `-l` again: without it the new postmaster would hold our output pipe open.
        return self._as_postgres(
            _binary("pg_ctl"),
            "-D",
            str(self.data),
            "-l",
            str(self.log),
            "-m",
            "fast",
            "-w",
            "-t",
            "30",
            "restart",
        )

    def postmaster_pid(self) -> int | None:
        try:
            first = (self.data / "postmaster.pid").read_text().splitlines()[0]
            pid = int(first)
        except (OSError, ValueError, IndexError):
            return None
        return pid if alive(pid) and self._is_ours(pid) else None

    def _is_ours(self, pid: int) -> bool:
        try:
            command = Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ")
        except OSError:
            return False
        return str(self.data).encode() in command

    def pids(self) -> list[int]:
        """The postmaster and all its backends and helpers."""
        pid = self.postmaster_pid()
        return [pid, *children_of(pid)] if pid else []

    def stop(self) -> None:
        """Immediate stop by data directory; the postmaster is killed if that fails."""
        if not self.started:
            return
        pid = self.postmaster_pid()
        if pid is None:
            return
        signal_all(self.pids(), signal.SIGCONT)
        with contextlib.suppress(subprocess.TimeoutExpired):
            self._as_postgres(
                _binary("pg_ctl"),
                "-D",
                str(self.data),
                "-m",
                "immediate",
                "-w",
                "-t",
                "15",
                "stop",
                timeout=30,
            )
        if alive(pid) and self._is_ours(pid):
            signal_all([pid, *children_of(pid)], signal.SIGKILL)
            wait_for(lambda: not alive(pid), 5)


class RedisServer:
    """`redis-server` on 127.0.0.1:`port` without persistence, as a child of this run."""

    def __init__(self, root: Path, port: int) -> None:
        self.root = root
        self.port = port
        self.log = root / "redis.log"
        self.process: subprocess.Popen[bytes] | None = None

    @property
    def pid(self) -> int | None:
        return self.process.pid if self.process and self.process.poll() is None else None

    def start(self, timeout: float = 15.0) -> None:
        command = [
            shutil.which("redis-server") or "redis-server",
            "--port",
            str(self.port),
            "--bind",
            "127.0.0.1",
            "--save",
            "",
            "--appendonly",
            "no",
            "--dir",
            str(self.root),
            "--logfile",
            str(self.log),
            "--daemonize",
            "no",
        ]
        self.process = subprocess.Popen(  # noqa: S603 (fixed program)
            command,
            cwd=self.root,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            start_new_session=True,
        )
        if not wait_for(self.ping, timeout):
            raise ServerError(f"redis-server did not answer PING on port {self.port}")

    def ping(self) -> bool:
        try:
            with socket.create_connection(("127.0.0.1", self.port), timeout=0.5) as sock:
                sock.sendall(b"PING\r\n")
                return sock.recv(16).startswith(b"+PONG")
        except OSError:
            return False

    def kill(self) -> None:
        """Kill it hard, as a crash would."""
        process = self.process
        if process is not None and process.poll() is None:
            signal_all([process.pid], signal.SIGCONT)
            process.kill()
            process.wait(timeout=10)

    def stop(self) -> None:
        process = self.process
        if process is None or process.poll() is not None:
            return
        signal_all([process.pid], signal.SIGCONT)
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=5)


class Gunicorn:
    """gunicorn community.wsgi, with the repository's config file when there is one."""

    def __init__(
        self, *, env: dict[str, str], port: int, log: Path, workers: int, threads: int
    ) -> None:
        self.env = env
        self.port = port
        self.log_path = log
        self.workers = workers
        self.threads = threads
        self.process: subprocess.Popen[bytes] | None = None
        self._log: IO[bytes] | None = None

    @property
    def uses_config_file(self) -> bool:
        return (BASE_DIR / "gunicorn.conf.py").exists()

    @property
    def command(self) -> list[str]:
        gunicorn = str(Path(PYTHON).parent / "gunicorn")
        bind = f"127.0.0.1:{self.port}"
        if self.uses_config_file:
            # The file reads GUNICORN_BIND, GUNICORN_WORKERS and GUNICORN_THREADS; the
            # command-line bind wins over it, keeping the server on loopback regardless.
            return [gunicorn, "-c", "gunicorn.conf.py", "community.wsgi", "--bind", bind]
        return [
            gunicorn,
            "community.wsgi",
            "--bind",
            bind,
            "--worker-class",
            "gthread",
            "--workers",
            str(self.workers),
            "--threads",
            str(self.threads),
            "--timeout",
            "30",
        ]

    def start(self, timeout: float = 60.0) -> None:
        self._log = self.log_path.open("ab")
        env = {
            **self.env,
            "GUNICORN_BIND": f"127.0.0.1:{self.port}",
            "GUNICORN_WORKERS": str(self.workers),
            "GUNICORN_THREADS": str(self.threads),
        }
        self.process = subprocess.Popen(  # noqa: S603 (fixed command line)
            self.command,
            cwd=BASE_DIR,
            env=env,
            stdout=self._log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        url = f"http://127.0.0.1:{self.port}/healthz"
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise ServerError(f"gunicorn exited with code {self.process.returncode}")
            with (
                contextlib.suppress(OSError, urllib.error.URLError),
                urllib.request.urlopen(url, timeout=2) as response,
            ):
                if response.status == 200:
                    return
            time.sleep(0.2)
        raise ServerError(f"gunicorn did not answer /healthz within {timeout:.0f} s")

    def pids(self) -> list[int]:
        if self.process is None or self.process.poll() is not None:
            return []
        return [self.process.pid, *children_of(self.process.pid)]

    def stop(self) -> None:
        process = self.process
        if process is not None and process.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                process.send_signal(signal.SIGTERM)
            try:
                process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                with contextlib.suppress(ProcessLookupError, PermissionError):
                    os.killpg(process.pid, signal.SIGKILL)
                process.wait(timeout=5)
        if process is not None:
            # Workers left behind by the master share its process group.
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.killpg(process.pid, signal.SIGKILL)
        self.process = None
        if self._log is not None:
            self._log.close()
            self._log = None


def manage(
    args: list[str], *, env: dict[str, str], timeout: float, stdin: str | None = None
) -> subprocess.CompletedProcess[str]:
    """`python manage.py …` in the run's environment; a hang past `timeout` kills it."""
    return subprocess.run(  # noqa: S603 (fixed program, arguments built here)
        [PYTHON, "manage.py", *args],
        cwd=BASE_DIR,
        env=env,
        input=stdin,
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )


def python_module(
    module: str, args: list[str], *, env: dict[str, str], timeout: float, stdin: str | None = None
) -> subprocess.CompletedProcess[str]:
    """`python -m module …` from the repository root in the run's environment."""
    return subprocess.run(  # noqa: S603 (fixed program, arguments built here)
        [PYTHON, "-m", module, *args],
        cwd=BASE_DIR,
        env=env,
        input=stdin,
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )
