"""The faults, each applied to the run's own servers and removed again before it returns.

A fault function blocks for the fault's duration and returns notes for the report. Stopped
processes are registered with `Frozen`, so an interrupted run continues them before it stops
them.
"""

from __future__ import annotations

import contextlib
import select
import socket
import time
from dataclasses import dataclass

from faults.servers import Frozen, PostgresCluster, RedisServer

SLOW_REQUEST = b"GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Slow-Client: " + b"a" * 200


def postgres_restart(cluster: PostgresCluster) -> list[str]:
    """`pg_ctl restart -m fast`: every connection is dropped; returns once it accepts again."""
    started = time.monotonic()
    result = cluster.restart()
    took = time.monotonic() - started
    state = "ok" if result.returncode == 0 else f"exit {result.returncode}"
    return [f"pg_ctl restart -m fast: {state}, {took:.1f} s"]


def postgres_hang(cluster: PostgresCluster, frozen: Frozen, seconds: float) -> list[str]:
    """SIGSTOP the postmaster and every backend for `seconds`, then SIGCONT."""
    pids = frozen.stop(cluster.pids())
    try:
        time.sleep(seconds)
    finally:
        frozen.cont(pids)
    return [f"SIGSTOP postmaster + {max(0, len(pids) - 1)} children for {seconds:.0f} s"]


def redis_down(redis: RedisServer, seconds: float) -> list[str]:
    """Kill Redis (as a crash would), wait, start it again on the same port (empty)."""
    redis.kill()
    try:
        time.sleep(seconds)
    finally:
        redis.start()
    return [f"redis-server killed for {seconds:.0f} s, restarted empty on the same port"]


def redis_hang(redis: RedisServer, frozen: Frozen, seconds: float) -> list[str]:
    pid = redis.pid
    pids = frozen.stop([pid] if pid else [])
    try:
        time.sleep(seconds)
    finally:
        frozen.cont(pids)
    return [f"SIGSTOP redis-server for {seconds:.0f} s"]


@dataclass(frozen=True)
class SlowClientsResult:
    sockets: int
    opened: int
    closed_by_server: int
    bytes_sent: int
    seconds: float


def slow_clients(port: int, count: int, seconds: float) -> SlowClientsResult:
    """Open `count` connections that each send one header byte per second, never finishing.

    A connection the server closes (or answers, e.g. with 400 or 408) is counted and not
    reopened.
    """
    sockets: list[socket.socket] = []
    for _ in range(count):
        with contextlib.suppress(OSError):
            sockets.append(socket.create_connection(("127.0.0.1", port), timeout=2))
    opened = len(sockets)
    open_ones = dict.fromkeys(sockets, 0)
    closed = 0
    sent = 0
    started = time.monotonic()
    try:
        while open_ones and time.monotonic() - started < seconds:
            for sock in list(open_ones):
                position = open_ones[sock]
                try:
                    readable, _, _ = select.select([sock], [], [], 0)
                    if readable:
                        raise ConnectionResetError("server answered or closed")
                    sock.sendall(SLOW_REQUEST[position : position + 1])
                    open_ones[sock] = position + 1
                    sent += 1
                except OSError:
                    closed += 1
                    del open_ones[sock]
                    sock.close()
            time.sleep(1.0)
    finally:
        for sock in sockets:
            with contextlib.suppress(OSError):
                sock.close()
    return SlowClientsResult(
        sockets=count,
        opened=opened,
        closed_by_server=closed,
        bytes_sent=sent,
        seconds=time.monotonic() - started,
    )
