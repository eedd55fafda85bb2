"""Load generators: wrk when installed, otherwise a small Python one.

Both run one measurement window: N connections hammering one request (method, path, headers,
body) for a fixed time. Both report the same things: completed requests, the window's length,
responses with an unexpected status, socket errors, and the latency distribution as 1,000
quantiles (0.1 % steps), so windows can be pooled later by `bench.report`.
"""

from __future__ import annotations

import json
import resource
import shutil
import socket
import subprocess
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

QUANTILE_STEPS = 1000  # quantile i (1..1000) is the latency below which i/10 % of requests fall
WRK_TIMEOUT_S = 10
RESULT_MARKER = "BENCH-RESULT "


@dataclass(frozen=True)
class Target:
    """One URL as one viewer: what a measurement window sends, and what it expects back."""

    key: str
    label: str
    method: str
    path: str
    headers: dict[str, str]
    body: bytes = b""
    expect: int = 200


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
    extra: dict[str, int] = field(default_factory=dict)

    @property
    def rps(self) -> float:
        return self.requests / self.seconds if self.seconds else 0.0

    @property
    def other_cpu_cores(self) -> float:
        """Cores busy with anything but gunicorn, the load generator and the database/cache."""
        other = self.machine_cpu_s - self.server_cpu_s - self.client_cpu_s - self.backing_cpu_s
        return max(0.0, other / self.seconds) if self.seconds else 0.0


def _lua_string(value: str) -> str:
    """A Lua string literal for any text (decimal escapes for everything unusual)."""
    out = []
    for byte in value.encode():
        char = chr(byte)
        if char.isalnum() or char in " -_.,:;=/+%@!?*()[]{}<>#&~^|'":
            out.append(char)
        else:
            out.append(f"\\{byte:03d}")
    return '"' + "".join(out) + '"'


WRK_SCRIPT = """\
wrk.method = {method}
wrk.body = {body}
{headers}
local expected = {expect}
local threads = {{}}

function setup(thread)
  table.insert(threads, thread)
end

function init(args)
  unexpected = 0
end

function response(status, headers, body)
  if status ~= expected then
    unexpected = unexpected + 1
  end
end

function done(summary, latency, requests)
  local bad = 0
  for _, thread in ipairs(threads) do
    bad = bad + (thread:get("unexpected") or 0)
  end
  local e = summary.errors
  io.write(string.format(
    '{marker}{{"requests":%d,"duration_us":%d,"unexpected":%d,'
    .. '"connect":%d,"read":%d,"write":%d,"status":%d,"timeout":%d,"quantiles_us":[',
    summary.requests, summary.duration, bad,
    e.connect, e.read, e.write, e.status, e.timeout))
  for i = 1, {steps} do
    if i > 1 then io.write(",") end
    -- percentile(100) answers 0 in wrk 4.1; the top quantile is the maximum.
    local value = latency.max
    if i < {steps} then value = latency:percentile(i * 100 / {steps}) end
    io.write(string.format("%d", value))
  end
  io.write("]}}\\n")
end
"""


class WrkLoader:
    """Runs wrk once per window with a generated Lua script (method, body, cookies)."""

    name = "wrk"

    def __init__(self, *, host: str, port: int, connections: int, script_dir: Path) -> None:
        self.host = host
        self.port = port
        self.connections = connections
        self.script_dir = script_dir
        self.binary = shutil.which("wrk") or "wrk"
        self.version = self._version()

    @staticmethod
    def available() -> bool:
        return shutil.which("wrk") is not None

    def _version(self) -> str:
        run = subprocess.run(  # noqa: S603 (fixed command line)
            [self.binary, "--version"], capture_output=True, text=True, check=False
        )
        first = (run.stdout or run.stderr).splitlines()[:1]
        return first[0].split(" [")[0] if first else "wrk"

    def _script(self, target: Target) -> Path:
        headers = "\n".join(
            f"wrk.headers[{_lua_string(name)}] = {_lua_string(value)}"
            for name, value in target.headers.items()
            if name.lower() != "host"
        )
        script = WRK_SCRIPT.format(
            method=_lua_string(target.method),
            body=_lua_string(target.body.decode()) if target.body else "nil",
            headers=headers,
            expect=target.expect,
            marker=RESULT_MARKER,
            steps=QUANTILE_STEPS,
        )
        path = self.script_dir / f"wrk-{target.key}.lua"
        self.script_dir.mkdir(parents=True, exist_ok=True)
        path.write_text(script, encoding="utf-8")
        path.chmod(0o600)  # it holds session cookies
        return path

    def run(self, target: Target, seconds: float) -> Window:
        command = [
            self.binary,
            "--threads",
            "1",
            "--connections",
            str(self.connections),
            "--duration",
            f"{max(1, round(seconds))}s",
            "--timeout",
            f"{WRK_TIMEOUT_S}s",
            "--script",
            str(self._script(target)),
            f"http://{self.host}:{self.port}{target.path}",
        ]
        before = resource.getrusage(resource.RUSAGE_CHILDREN)
        run = subprocess.run(  # noqa: S603 (fixed command line)
            command, capture_output=True, text=True, check=False
        )
        after = resource.getrusage(resource.RUSAGE_CHILDREN)
        line = next(
            (ln for ln in run.stdout.splitlines() if ln.startswith(RESULT_MARKER)),
            None,
        )
        if run.returncode != 0 or line is None:
            raise RuntimeError(
                f"wrk failed for {target.label} (exit {run.returncode}): "
                f"{run.stderr.strip() or run.stdout.strip()}"
            )
        data = json.loads(line[len(RESULT_MARKER) :])
        quantiles: list[float] = []
        for value in data["quantiles_us"]:
            # Quantiles never decrease; guard against any quirk of wrk's histogram.
            quantiles.append(max(value / 1000, quantiles[-1] if quantiles else 0.0))
        errors = {name: int(data[name]) for name in ("connect", "read", "write", "timeout")}
        return Window(
            target=target.key,
            round=0,
            requests=int(data["requests"]),
            seconds=data["duration_us"] / 1e6,
            unexpected_status=int(data["unexpected"]),
            socket_errors=sum(errors.values()),
            quantiles_ms=quantiles,
            client_cpu_s=(after.ru_utime + after.ru_stime) - (before.ru_utime + before.ru_stime),
            extra=errors,
        )


def _raw_request(target: Target, host: str, port: int) -> bytes:
    headers = {"Host": f"{host}:{port}", **target.headers}
    if target.body:
        headers["Content-Length"] = str(len(target.body))
    lines = [f"{target.method} {target.path} HTTP/1.1"]
    lines += [f"{name}: {value}" for name, value in headers.items() if name.lower() != "host"]
    lines.insert(1, f"Host: {headers['Host']}")
    return ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1") + target.body


class _Connection:
    """One keep-alive-capable HTTP/1.1 connection that reconnects when the server closes."""

    def __init__(self, host: str, port: int) -> None:
        self.address = (host, port)
        self.sock: socket.socket | None = None
        self.buffer = b""

    def close(self) -> None:
        if self.sock is not None:
            self.sock.close()
            self.sock = None
        self.buffer = b""

    def _recv(self) -> bytes:
        assert self.sock is not None  # noqa: S101 (internal invariant)
        chunk = self.sock.recv(65536)
        if not chunk:
            raise ConnectionError("connection closed mid-response")
        return chunk

    def open(self) -> None:
        if self.sock is None:
            self.sock = socket.create_connection(self.address, timeout=WRK_TIMEOUT_S)
            self.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)

    def exchange(self, raw: bytes) -> int:
        """Send one request, read the whole response; returns the status code."""
        self.open()
        assert self.sock is not None  # noqa: S101 (internal invariant)
        self.sock.sendall(raw)
        while b"\r\n\r\n" not in self.buffer:
            self.buffer += self._recv()
        head, _, rest = self.buffer.partition(b"\r\n\r\n")
        lines = head.split(b"\r\n")
        status = int(lines[0].split(b" ", 2)[1])
        headers = {}
        for line in lines[1:]:
            name, _, value = line.partition(b":")
            headers[name.strip().lower()] = value.strip().lower()
        closes = headers.get(b"connection") == b"close" or lines[0].startswith(b"HTTP/1.0")
        if b"content-length" in headers:
            length = int(headers[b"content-length"])
            while len(rest) < length:
                rest += self._recv()
            self.buffer = rest[length:]
        elif headers.get(b"transfer-encoding") == b"chunked":
            rest = self._read_chunked(rest)
            self.buffer = rest
        else:
            closes = True
        if closes:
            # Let the server close first, so TIME_WAIT stays on its side, not on our ports.
            assert self.sock is not None  # noqa: S101 (internal invariant)
            while self.sock.recv(65536):
                pass
            self.close()
        return status

    def _read_chunked(self, rest: bytes) -> bytes:
        while True:
            while b"\r\n" not in rest:
                rest += self._recv()
            size_line, _, rest = rest.partition(b"\r\n")
            size = int(size_line.split(b";")[0], 16)
            while len(rest) < size + 2:
                rest += self._recv()
            rest = rest[size + 2 :]
            if size == 0:
                return rest


class PythonLoader:
    """Threads with raw sockets, one connection each; the fallback when wrk is missing."""

    name = "python"
    version = "bench.load.PythonLoader (threads, raw sockets, HTTP/1.1)"

    def __init__(self, *, host: str, port: int, connections: int) -> None:
        self.host = host
        self.port = port
        self.connections = connections

    def run(self, target: Target, seconds: float) -> Window:
        raw = _raw_request(target, self.host, self.port)
        latencies: list[list[float]] = [[] for _ in range(self.connections)]
        unexpected = [0] * self.connections
        errors = [0] * self.connections
        start_gate = threading.Event()
        deadline = 0.0

        def worker(slot: int) -> None:
            connection = _Connection(self.host, self.port)
            mine = latencies[slot]
            start_gate.wait()
            clock = time.perf_counter
            while True:
                try:
                    # Like wrk, the clock starts when the request is sent, after connecting.
                    connection.open()
                    began = clock()
                    if began >= deadline:
                        break
                    status = connection.exchange(raw)
                except OSError:
                    errors[slot] += 1
                    connection.close()
                    continue
                mine.append(clock() - began)
                if status != target.expect:
                    unexpected[slot] += 1
            connection.close()

        threads = [
            threading.Thread(target=worker, args=(slot,), daemon=True)
            for slot in range(self.connections)
        ]
        for thread in threads:
            thread.start()
        cpu_before = time.process_time()
        started = time.perf_counter()
        deadline = started + seconds
        start_gate.set()
        for thread in threads:
            thread.join()
        elapsed = time.perf_counter() - started
        samples = sorted(value for mine in latencies for value in mine)
        return Window(
            target=target.key,
            round=0,
            requests=len(samples),
            seconds=elapsed,
            unexpected_status=sum(unexpected),
            socket_errors=sum(errors),
            quantiles_ms=quantiles_of(samples),
            client_cpu_s=time.process_time() - cpu_before,
        )


def quantiles_of(samples: list[float]) -> list[float]:
    """QUANTILE_STEPS quantiles in ms of sorted latencies in seconds (nearest rank)."""
    if not samples:
        return [0.0] * QUANTILE_STEPS
    count = len(samples)
    return [
        samples[max(0, -(-step * count // QUANTILE_STEPS) - 1)] * 1000
        for step in range(1, QUANTILE_STEPS + 1)
    ]


Loader = WrkLoader | PythonLoader
