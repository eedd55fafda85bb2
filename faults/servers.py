"""The run's own servers: a PostgreSQL cluster, a Redis, gunicorn and (when installed) nginx in
front of gunicorn, on free loopback ports.

Each is started by this run and stopped by it only, by process id or by its own data
directory; the machine's shared servers are never touched. PostgreSQL runs as the `postgres`
OS user (the run itself is root), with trust authentication and its socket in the run's
temporary directory. nginx gets a configuration, pid file, logs and temporary files of its
own in the run's directory (`render_nginx_config`), so a system nginx is never touched either.
"""

from __future__ import annotations

import contextlib
import glob
import os
import re
import shutil
import signal
import socket
import string
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterable
from dataclasses import dataclass
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


def stop_process_group(process: subprocess.Popen | None) -> None:
    """SIGTERM to a master process (gunicorn, nginx), SIGKILL to its process group if it
    hangs, and SIGKILL to any worker it left behind (they share its group)."""
    if process is None:
        return
    if process.poll() is None:
        with contextlib.suppress(ProcessLookupError):
            process.send_signal(signal.SIGTERM)
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.killpg(process.pid, signal.SIGKILL)
            process.wait(timeout=5)
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(process.pid, signal.SIGKILL)


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
        stop_process_group(self.process)
        self.process = None
        if self._log is not None:
            self._log.close()
            self._log = None


# --- nginx ---

NGINX_INSTALL_HINT = "apt-get install -y nginx-light (or: apt-get install -y nginx)"
# `-e` (the error log nginx writes before it has read its configuration) came with 1.19.5.
NGINX_E_FLAG_SINCE = (1, 19, 5)
# The directives of deploy/nginx.conf that decide how slow clients and a slow app are
# handled; tests/faults checks that the run's configuration gives each the production value.
NGINX_MIRRORED = (
    "client_header_timeout",
    "client_body_timeout",
    "send_timeout",
    "keepalive_timeout",
    "client_max_body_size",
    "large_client_header_buffers",
    "proxy_request_buffering",
    "proxy_buffering",
    "proxy_http_version",
    "proxy_connect_timeout",
    "proxy_read_timeout",
    "proxy_next_upstream",
    "proxy_next_upstream_tries",
    "keepalive",
)
# Temporary-file paths of modules a build may lack; each is set only when the module is in.
NGINX_OPTIONAL_TEMP_PATHS = ("fastcgi", "uwsgi", "scgi")


class _NginxTemplate(string.Template):
    # nginx itself uses `$`; the placeholders of the template are `@name`.
    delimiter = "@"


# Mirrors deploy/nginx.conf (keep the two in step; tests/faults compares the values listed
# in NGINX_MIRRORED). Differences, all on purpose:
# - loopback ports chosen by the run, no TLS and no HTTP/2: the client speaks plain HTTP to
#   127.0.0.1, and `X-Forwarded-Proto` is fixed to "https" because in production TLS
#   terminates at this proxy (deploy/nginx.conf passes `$scheme`, which is "https" there);
# - `Host $http_host` instead of `Host $host`: the run's port is not the default one, and
#   `$host` drops the port, which Django's CSRF check compares with the Referer's;
# - the proxy settings are given at server level, so the /healthz and /readyz locations get
#   them too (in deploy/nginx.conf they sit inside `location /` and are not inherited by the
#   probe locations);
# - no /static/ location (whitenoise serves the few static files the load never asks for);
# - pid file, logs and temporary files in the run's directory; one worker process; the
#   error log at `info`, so client timeouts show up in it.
NGINX_TEMPLATE = _NginxTemplate(
    """\
# Written by faults/servers.py for one fault run; mirrors deploy/nginx.conf.
@user_line
worker_processes 1;
daemon off;
master_process on;
pid @dir/nginx.pid;
lock_file @dir/nginx.lock;
error_log @dir/error.log info;

events {
    worker_connections 1024;
}

http {
    default_type application/octet-stream;
    log_format community_no_query '$remote_addr [$time_local] "$request_method $uri" '
                                  '$status $body_bytes_sent $request_time';
    access_log @dir/access.log community_no_query;
    client_body_temp_path @dir/temp/client_body;
    proxy_temp_path @dir/temp/proxy;
@temp_paths
    upstream community_app {
        server 127.0.0.1:@upstream_port;
        keepalive 16;
        keepalive_timeout 4s;
    }

    server {
        listen 127.0.0.1:@port;
        server_name 127.0.0.1 localhost;

        # Slow clients: headers and body must arrive within these, or the connection is closed.
        client_header_timeout 10s;
        client_body_timeout 10s;
        send_timeout 30s;
        keepalive_timeout 30s;
        client_max_body_size 1m;
        large_client_header_buffers 4 8k;

        # Buffer whole requests and whole answers.
        proxy_request_buffering on;
        proxy_buffering on;

        proxy_http_version 1.1;
        proxy_set_header Connection "";
        proxy_set_header Host $http_host;
        proxy_set_header X-Forwarded-For $remote_addr;
        # TLS terminates at this proxy in production; here the client speaks plain HTTP.
        proxy_set_header X-Forwarded-Proto https;
        proxy_connect_timeout 2s;
        proxy_read_timeout 20s;
        proxy_next_upstream error timeout http_503;
        proxy_next_upstream_tries 2;

        location = /healthz { proxy_pass http://community_app; access_log off; }
        location = /readyz  { proxy_pass http://community_app; access_log off; }

        location / {
            proxy_pass http://community_app;
        }
    }
}
"""
)


def find_nginx() -> str | None:
    """The nginx binary, or None when it is not installed."""
    found = shutil.which("nginx")
    if found:
        return found
    return "/usr/sbin/nginx" if os.access("/usr/sbin/nginx", os.X_OK) else None


def parse_nginx_version(text: str) -> tuple[int, ...] | None:
    """(1, 22, 1) from the output of `nginx -v` or `nginx -V`."""
    match = re.search(r"nginx/(\d+(?:\.\d+)*)", text)
    return tuple(int(part) for part in match.group(1).split(".")) if match else None


def render_nginx_config(
    *, directory: Path, port: int, upstream_port: int, configure: str = "", as_root: bool = True
) -> str:
    """The run's nginx.conf: listens on 127.0.0.1:`port`, proxies to 127.0.0.1:`upstream_port`
    and keeps every file it writes in `directory`. `configure` is the output of `nginx -V`
    (temporary paths of modules the build was configured without are left out)."""
    for value in (port, upstream_port):
        if not 0 < value < 65536:
            raise ValueError(f"not a port: {value}")
    if re.search(r"[\s;{}'\"$@#]", str(directory)):
        raise ValueError("the nginx directory must not hold blanks or nginx syntax")
    temp_paths = "".join(
        f"    {module}_temp_path {directory}/temp/{module};\n"
        for module in NGINX_OPTIONAL_TEMP_PATHS
        if f"--without-http_{module}_module" not in configure
    )
    return NGINX_TEMPLATE.substitute(
        # As root, the workers stay root: the run's directory belongs to root and postgres
        # only, and nginx would otherwise chown its temporary directories to `nobody`.
        user_line="user root;" if as_root else "",
        dir=str(directory),
        port=str(port),
        upstream_port=str(upstream_port),
        temp_paths=temp_paths,
    )


def nginx_directives(text: str) -> dict[str, set[str]]:
    """Every simple directive (`name args;`, not block openers) of an nginx configuration,
    comments dropped: name -> the argument strings it is given anywhere, blanks collapsed."""
    found: dict[str, set[str]] = {}
    body = "\n".join(line.split("#", 1)[0] for line in text.splitlines())
    for statement in re.finditer(r"([^;{}]*)([;{}])", body):
        words = statement.group(1).split()
        if words and statement.group(2) == ";":
            found.setdefault(words[0], set()).add(" ".join(words[1:]))
    return found


NGINX_LOG_LINE = re.compile(r"^\S+ \S+ \[(\w+)\] \d+#\d+: (?:\*\d+ )?(.*)$")
NGINX_LOG_SKIPPED = frozenset({"debug", "notice"})


def summarise_nginx_log(text: str) -> dict[str, int]:
    """nginx error-log messages by level and kind (`[error] upstream timed out while reading
    response header from upstream`). Only the message is kept: the client, the request line
    (which could carry a query string) and quoted parts are dropped."""
    found: dict[str, int] = {}
    for line in text.splitlines():
        match = NGINX_LOG_LINE.match(line)
        if not match or match.group(1) in NGINX_LOG_SKIPPED:
            continue
        message = match.group(2).split(", client:", 1)[0]
        message = re.sub(r'"[^"]*"', '"…"', message)
        # Numbers (connection ids, sizes, file names) become N; the errno stays readable.
        message = re.sub(
            r"\(\d+: [^)]*\)|\d+",
            lambda number: number.group(0) if number.group(0).startswith("(") else "N",
            message,
        )
        key = f"[{match.group(1)}] {' '.join(message.split())[:160]}"
        found[key] = found.get(key, 0) + 1
    return found


@dataclass(frozen=True)
class NginxBuild:
    binary: str
    version: tuple[int, ...] | None
    configure: str

    @property
    def version_text(self) -> str:
        return ".".join(map(str, self.version)) if self.version else "unknown"

    @classmethod
    def probe(cls, binary: str) -> NginxBuild:
        result = subprocess.run(  # noqa: S603 (the nginx binary found on this machine)
            [binary, "-V"], capture_output=True, text=True, timeout=10, check=False
        )
        output = result.stderr + result.stdout
        if result.returncode != 0:
            raise ServerError(f"{binary} -V failed: {output.strip()[-300:]}")
        return cls(binary, parse_nginx_version(output), output)


class Nginx:
    """nginx with the configuration of `render_nginx_config`, in the foreground (`daemon off`)
    as a child of this run, in a session of its own; stopped by its own process id."""

    def __init__(self, build: NginxBuild, *, root: Path, port: int, upstream_port: int) -> None:
        self.build = build
        self.dir = root / "nginx"
        self.port = port
        self.upstream_port = upstream_port
        self.config = self.dir / "nginx.conf"
        self.error_log = self.dir / "error.log"
        self.process: subprocess.Popen[bytes] | None = None

    @property
    def command(self) -> list[str]:
        command = [self.build.binary, "-p", f"{self.dir}/", "-c", str(self.config)]
        if self.build.version is not None and self.build.version >= NGINX_E_FLAG_SINCE:
            command += ["-e", str(self.error_log)]
        return command

    def write_config(self) -> None:
        (self.dir / "temp").mkdir(parents=True, exist_ok=True)
        self.config.write_text(
            render_nginx_config(
                directory=self.dir,
                port=self.port,
                upstream_port=self.upstream_port,
                configure=self.build.configure,
                as_root=os.geteuid() == 0,
            )
        )

    def start(self, timeout: float = 20.0) -> None:
        self.write_config()
        test = subprocess.run(  # noqa: S603 (the nginx binary, arguments built here)
            [*self.command, "-t", "-q"], capture_output=True, text=True, timeout=15, check=False
        )
        if test.returncode != 0:
            raise ServerError(f"nginx -t failed: {(test.stderr + test.stdout).strip()[-500:]}")
        self.process = subprocess.Popen(  # noqa: S603 (the nginx binary, arguments built here)
            self.command,
            cwd=self.dir,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            start_new_session=True,
        )
        url = f"http://127.0.0.1:{self.port}/healthz"
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise ServerError(
                    f"nginx exited with code {self.process.returncode}: {self._log_tail()}"
                )
            with (
                contextlib.suppress(OSError, urllib.error.URLError),
                urllib.request.urlopen(url, timeout=2) as response,
            ):
                if response.status == 200:
                    return
            time.sleep(0.2)
        raise ServerError(f"nginx did not pass /healthz on within {timeout:.0f} s")

    def _log_tail(self) -> str:
        with contextlib.suppress(OSError):
            lines = self.error_log.read_text(errors="replace").strip().splitlines()
            return " | ".join(lines[-3:])[-500:]
        return "no error log"

    @property
    def pid(self) -> int | None:
        return self.process.pid if self.process and self.process.poll() is None else None

    def stop(self) -> None:
        """Fast shutdown (SIGTERM) of the master, which ends its worker; SIGKILL to the
        process group (master and worker only: the session is nginx's own) if that hangs."""
        stop_process_group(self.process)
        self.process = None


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
