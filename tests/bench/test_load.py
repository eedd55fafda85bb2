"""The wrk side of the benchmark: finding or installing wrk, its command, its result line."""

import json
import subprocess
from collections import namedtuple

import pytest

from bench import load
from bench.load import BenchError, Target, parse_result, wrk_command, wrk_environment

WRK_TEXT = """\
Running 1s test @ http://127.0.0.1:40000/healthz
  1 threads and 4 connections
  Thread Stats   Avg      Stdev     Max   +/- Stdev
    Latency     2.10ms    1.02ms  12.30ms   90.00%
  1408 requests in 1.00s, 301.20KB read
  Non-2xx or 3xx responses: 3
Requests/sec:   1402.71
Transfer/sec:    300.07KB
"""


def result_line(**overrides: object) -> str:
    data = {
        "requests": 1408,
        "duration_us": 1_003_771,
        "unexpected": 3,
        "errors": {"connect": 0, "read": 1, "write": 0, "status": 3, "timeout": 2},
        "latency_us": [1000 + step for step in range(1, 1001)],
    }
    return json.dumps(data | overrides)


def test_result_line_after_wrk_text_becomes_a_window():
    window = parse_result(WRK_TEXT + result_line() + "\n", target="healthz")

    assert window.target == "healthz"
    assert window.requests == 1408
    assert window.seconds == pytest.approx(1.003771)
    assert window.rps == pytest.approx(1402.7, abs=0.1)
    assert window.unexpected_status == 3
    assert window.socket_errors == 3  # read + timeout; non-2xx/3xx answers are not socket errors
    assert window.extra["status"] == 3
    assert len(window.quantiles_ms) == load.QUANTILE_STEPS
    assert window.quantiles_ms[0] == pytest.approx(1.001)
    assert window.quantiles_ms[-1] == pytest.approx(2.0)


def test_quantiles_never_decrease():
    latencies = [5000, 3000, *range(4000, 4998)]
    window = parse_result(result_line(latency_us=latencies), target="x")

    assert window.quantiles_ms[:3] == [5.0, 5.0, 5.0]
    assert window.quantiles_ms == sorted(window.quantiles_ms)


def test_output_without_result_line_is_an_error_naming_the_target():
    with pytest.raises(BenchError, match="no result for profile_owner"):
        parse_result(WRK_TEXT, target="profile_owner")


def test_wrk_command_runs_whole_seconds_with_the_script():
    command = wrk_command("/usr/bin/wrk", "http://127.0.0.1:1/x", connections=4, seconds=0.5)

    assert command[0] == "/usr/bin/wrk"
    assert "--duration=1s" in command
    assert "--connections=4" in command
    assert "--threads=1" in command
    assert f"--script={load.WRK_SCRIPT}" in command
    assert command[-1] == "http://127.0.0.1:1/x"
    assert load.WRK_SCRIPT.exists()


def test_request_reaches_the_script_through_the_environment():
    target = Target(
        "settings_post",
        "POST",
        "POST",
        "/settings/profile/",
        {"Cookie": "__Host-sessionid=abc", "Host": "ignored", "Content-Type": "a/b"},
        body="x=1&y=2",
        expect=302,
    )
    env = wrk_environment(target)

    assert env["BENCH_METHOD"] == "POST"
    assert env["BENCH_BODY"] == "x=1&y=2"
    assert env["BENCH_EXPECT"] == "302"
    assert env["BENCH_HEADERS"].splitlines() == [
        "Cookie: __Host-sessionid=abc",
        "Content-Type: a/b",
    ]


@pytest.fixture
def no_wrk(monkeypatch):
    """A machine without wrk; records the commands the installer would run."""
    installed: list[bool] = []
    commands: list[list[str]] = []

    def which(name: str) -> str | None:
        if name == "wrk":
            return "/usr/bin/wrk" if installed else None
        return "/usr/bin/apt-get" if name == "apt-get" else None

    def run(command, **kwargs):
        commands.append(command)
        if command[1:] == ["install", "-y", "-qq", "wrk"]:
            installed.append(True)
        return subprocess.CompletedProcess(command, 0)

    monkeypatch.setattr(load.shutil, "which", which)
    monkeypatch.setattr(load.subprocess, "run", run)
    return commands


def test_installed_wrk_is_used_as_it_is(monkeypatch):
    monkeypatch.setattr(load.shutil, "which", lambda name: f"/opt/{name}")

    assert load.ensure_wrk() == "/opt/wrk"


def test_missing_wrk_is_installed_with_apt_get_as_root(no_wrk, monkeypatch):
    monkeypatch.setattr(load.os, "geteuid", lambda: 0)

    assert load.ensure_wrk() == "/usr/bin/wrk"
    assert no_wrk == [["/usr/bin/apt-get", "install", "-y", "-qq", "wrk"]]


def test_missing_wrk_without_root_says_how_to_install_it(no_wrk, monkeypatch):
    monkeypatch.setattr(load.os, "geteuid", lambda: 1000)

    with pytest.raises(BenchError, match=r"apt-get install wrk.*brew install wrk"):
        load.ensure_wrk()
    assert no_wrk == []


def test_failed_install_updates_the_package_lists_and_tries_again(monkeypatch):
    commands: list[list[str]] = []

    def run(command, **kwargs):
        commands.append(command[1:])
        return subprocess.CompletedProcess(command, 100)

    monkeypatch.setattr(
        load.shutil, "which", lambda name: "/usr/bin/apt-get" if name == "apt-get" else None
    )
    monkeypatch.setattr(load.subprocess, "run", run)
    monkeypatch.setattr(load.os, "geteuid", lambda: 0)

    with pytest.raises(BenchError, match="apt-get install -y -qq wrk` failed"):
        load.ensure_wrk()
    assert commands == [
        ["install", "-y", "-qq", "wrk"],
        ["update", "-qq"],
        ["install", "-y", "-qq", "wrk"],
    ]


Address = namedtuple("Address", "ip port")  # as psutil gives them


class FakeConnection:
    def __init__(self, local_port: int, remote: Address | None) -> None:
        self.laddr = Address("127.0.0.1", local_port)
        self.raddr = remote


class FakeProcess:
    def __init__(self, connections: list) -> None:
        self.connections = connections

    def net_connections(self, kind: str) -> list:
        return self.connections


def test_drain_waits_until_the_server_holds_no_client_connection(monkeypatch):
    from bench import server as server_module

    gunicorn = server_module.Gunicorn(env={}, workers=1)
    client = Address("127.0.0.1", 40000)
    listening = FakeConnection(gunicorn.port, None)
    answering = FakeConnection(gunicorn.port, client)
    polls = iter([[answering], [answering, FakeConnection(gunicorn.port, client)], []])
    other_port = FakeConnection(5432, Address("127.0.0.1", 5432))
    monkeypatch.setattr(
        gunicorn,
        "processes",
        lambda: [FakeProcess([listening, other_port, *next(polls, [])])],
    )
    monkeypatch.setattr(server_module.time, "sleep", lambda seconds: None)

    waited = gunicorn.drain(timeout=5.0)

    assert waited < 5.0
    assert next(polls, "done") == "done"  # polled until the connections were gone


def test_drain_gives_up_after_its_timeout(monkeypatch):
    from bench import server as server_module

    gunicorn = server_module.Gunicorn(env={}, workers=1)
    stuck = FakeConnection(gunicorn.port, Address("127.0.0.1", 40001))
    monkeypatch.setattr(gunicorn, "processes", lambda: [FakeProcess([stuck])])
    clock = iter(range(100))
    monkeypatch.setattr(server_module.time, "monotonic", lambda: float(next(clock)))
    monkeypatch.setattr(server_module.time, "sleep", lambda seconds: None)

    assert gunicorn.drain(timeout=3.0) == 4.0
