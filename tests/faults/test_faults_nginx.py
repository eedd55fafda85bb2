"""The fault run's nginx in front of gunicorn: its configuration, its logs and how the report
shows which front each phase went through. No server is started here but a loopback socket."""

import re
import socket
import threading
from pathlib import Path

import pytest

from faults.client import Browser
from faults.load import Load, LoadConfig, Recorder
from faults.report import (
    INFORMATIONAL_MARK,
    Phase,
    RequestRecord,
    front_cell,
    kept_serving,
    phase_json,
    table_rows,
)
from faults.run import (
    SLOW_CLIENTS,
    SLOW_CLIENTS_NO_PROXY,
    Verification,
    app_environment,
    parse_args,
)
from faults.servers import (
    NGINX_MIRRORED,
    NGINX_OPTIONAL_TEMP_PATHS,
    nginx_directives,
    parse_nginx_version,
    render_nginx_config,
    summarise_nginx_log,
)

DEPLOY_CONF = Path(__file__).resolve().parents[2] / "deploy" / "nginx.conf"
RUN_DIR = Path("/srv/faults-abc/nginx")


def rendered(**overrides) -> str:
    arguments = {"directory": RUN_DIR, "port": 18080, "upstream_port": 18000}
    arguments.update(overrides)
    return render_nginx_config(**arguments)


# --- the configuration ---


def test_config_listens_on_loopback_only_and_proxies_to_the_runs_gunicorn():
    directives = nginx_directives(rendered())
    assert directives["listen"] == {"127.0.0.1:18080"}
    assert directives["server"] == {"127.0.0.1:18000"}
    assert directives["proxy_pass"] == {"http://community_app"}
    assert "ssl" not in rendered()
    assert directives["daemon"] == {"off"}
    assert directives["worker_processes"] == {"1"}


def test_every_file_nginx_writes_lies_in_the_runs_directory():
    directives = nginx_directives(rendered())
    names = [
        "pid",
        "lock_file",
        "error_log",
        "access_log",
        "client_body_temp_path",
        "proxy_temp_path",
        *(f"{module}_temp_path" for module in NGINX_OPTIONAL_TEMP_PATHS),
    ]
    for name in names:
        values = directives[name] - {"off"}
        assert values, name
        for value in values:
            assert value.startswith(f"{RUN_DIR}/"), (name, value)


def test_temp_paths_of_modules_the_build_lacks_are_left_out():
    text = rendered(configure="configure arguments: --without-http_uwsgi_module --with-debug")
    directives = nginx_directives(text)
    assert "uwsgi_temp_path" not in directives
    assert "fastcgi_temp_path" in directives
    assert "scgi_temp_path" in directives


def test_workers_stay_root_only_when_the_run_is_root():
    assert nginx_directives(rendered())["user"] == {"root"}
    assert "user" not in nginx_directives(rendered(as_root=False))


def test_the_app_is_told_https_and_the_clients_address_and_host():
    headers = {
        value.split(None, 1)[0]: value.split(None, 1)[1]
        for value in nginx_directives(rendered())["proxy_set_header"]
    }
    assert headers == {
        "Connection": '""',
        # The port is not the default one: Django compares host and port with the Referer.
        "Host": "$http_host",
        "X-Forwarded-For": "$remote_addr",
        "X-Forwarded-Proto": "https",
    }


def test_the_proxy_headers_reach_the_probe_locations_too():
    # Given at server level (before any location), so /healthz and /readyz inherit them.
    text = rendered()
    assert text.index("proxy_set_header Host") < text.index("location")


@pytest.mark.parametrize("name", NGINX_MIRRORED)
def test_mirrors_the_production_value(name):
    production = nginx_directives(DEPLOY_CONF.read_text())
    ours = nginx_directives(rendered())
    assert name in production, f"{name} is no longer in deploy/nginx.conf"
    assert ours[name] == production[name]


def test_sets_the_same_proxy_headers_as_production():
    def names(text: str) -> set[str]:
        return {value.split()[0] for value in nginx_directives(text)["proxy_set_header"]}

    assert names(rendered()) == names(DEPLOY_CONF.read_text())


def test_probe_locations_as_in_production():
    for text in (rendered(), DEPLOY_CONF.read_text()):
        assert re.search(r"location = /healthz \{ proxy_pass http://community_app;", text)
        assert re.search(r"location = /readyz\s+\{ proxy_pass http://community_app;", text)


@pytest.mark.parametrize(
    "overrides",
    [
        {"port": 0},
        {"upstream_port": 70000},
        {"directory": Path("/srv/with blank")},
        {"directory": Path("/srv/x;y")},
    ],
)
def test_config_refuses_odd_ports_and_directories(overrides):
    with pytest.raises(ValueError, match=r"port|directory"):
        rendered(**overrides)


def test_directives_ignore_comments_and_collect_every_value():
    text = "# listen 80;\nserver {\n  listen 1;  # listen 2;\n  listen   3 ;\n}\nfoo bar baz;"
    directives = nginx_directives(text)
    assert directives["listen"] == {"1", "3"}
    assert directives["foo"] == {"bar baz"}
    assert "server" not in directives  # a block, not a directive


def test_nginx_version():
    assert parse_nginx_version("nginx version: nginx/1.22.1\nbuilt with OpenSSL") == (1, 22, 1)
    assert parse_nginx_version("nginx version: nginx/1.25") == (1, 25)
    assert parse_nginx_version("command not found") is None


def test_nginx_log_summary_keeps_kinds_and_drops_requests_and_clients():
    log = "\n".join(
        [
            "2026/12/02 04:00:00 [notice] 10#10: using the epoll event method",
            "2026/12/02 04:00:01 [info] 11#11: *5 client timed out (110: Connection timed out)"
            " while reading client request headers, client: 127.0.0.1, server: 127.0.0.1",
            "2026/12/02 04:00:02 [info] 11#11: *6 client timed out (110: Connection timed out)"
            " while reading client request headers, client: 127.0.0.1, server: 127.0.0.1",
            "2026/12/02 04:00:03 [error] 11#11: *7 upstream timed out (110: Connection timed"
            " out) while reading response header from upstream, client: 127.0.0.1, server:"
            ' 127.0.0.1, request: "GET /members/?q=secret HTTP/1.1", upstream: "http://x/"',
            "2026/12/02 04:00:04 [warn] 11#11: *8 a client request body is buffered to a temporary file /srv/x/00000001, client: 127.0.0.1",
            "not a log line",
        ]
    )
    found = summarise_nginx_log(log)
    assert found == {
        "[info] client timed out (110: Connection timed out) while reading client request"
        " headers": 2,
        "[error] upstream timed out (110: Connection timed out) while reading response header"
        " from upstream": 1,
        "[warn] a client request body is buffered to a temporary file /srv/x/N": 1,
    }
    assert not any("secret" in key or "127.0.0.1" in key for key in found)


# --- which front each phase went through ---


def test_front_cell():
    assert front_cell(Phase("redis hang", 0.0, 1.0, 2.0, front="nginx")) == "nginx"
    assert front_cell(Phase("slow", 0.0, 1.0, 2.0, front="nginx", fault_front="nginx")) == "nginx"
    assert front_cell(Phase("slow", 0.0, 1.0, 2.0)) == "none"
    direct = Phase(SLOW_CLIENTS_NO_PROXY, 0.0, 1.0, 2.0, front="nginx", fault_front="none")
    assert front_cell(direct) == "nginx; slow sockets: none"


def test_informational_phase_is_marked_in_the_table_and_the_json():
    through = Phase(SLOW_CLIENTS, 0.0, 1.0, 2.0, front="nginx", fault_front="nginx")
    direct = Phase(
        SLOW_CLIENTS_NO_PROXY,
        2.0,
        3.0,
        4.0,
        front="nginx",
        fault_front="none",
        informational=True,
    )
    records = [
        RequestRecord("save", 0.5, 0.6, "ok", True),
        RequestRecord("save", 2.5, 2.6, "ok", True),
    ]
    rows = table_rows([through, direct], records)
    assert rows[0][:2] == [SLOW_CLIENTS, "nginx"]
    assert rows[1][:2] == [
        f"{SLOW_CLIENTS_NO_PROXY} {INFORMATIONAL_MARK}",
        "nginx; slow sockets: none",
    ]
    as_json = phase_json(direct, records)
    assert (as_json["front"], as_json["fault_front"], as_json["informational"]) == (
        "nginx",
        "none",
        True,
    )


def test_an_informational_phase_that_does_not_recover_does_not_fail_the_run():
    check = Verification(savers=1, idle=0, informational_unrecovered=[SLOW_CLIENTS_NO_PROXY])
    assert check.ok
    detail = {name: detail for name, _ok, detail in check.checks()}
    assert "informational" in detail["every phase checked and recovered"]
    assert not Verification(savers=1, idle=0, unrecovered=[SLOW_CLIENTS]).ok


def test_lost_data_fails_the_run_in_any_phase():
    assert not Verification(savers=1, idle=0, data_lost=1).ok


def test_no_nginx_option():
    assert parse_args([]).nginx is True
    assert parse_args(["--no-nginx"]).nginx is False


def test_proxy_count_only_with_a_proxy():
    assert "DJANGO_PROXY_COUNT" not in app_environment(pg_port=1, redis_port=2)
    assert app_environment(pg_port=1, redis_port=2, proxies=1)["DJANGO_PROXY_COUNT"] == "1"


# --- the client: X-Forwarded-Proto only without a proxy ---


def _captured_request(says_forwarded_proto: bool) -> bytes:
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen(1)
    server.settimeout(5)
    received: list[bytes] = []

    def serve() -> None:
        connection, _ = server.accept()
        with connection:
            connection.settimeout(5)
            data = b""
            while b"\r\n\r\n" not in data:
                chunk = connection.recv(4096)
                if not chunk:
                    break
                data += chunk
            received.append(data)
            connection.sendall(
                b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\nConnection: close\r\n\r\nok"
            )

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    try:
        port = server.getsockname()[1]
        answer = Browser(
            "127.0.0.1", port, timeout=5, says_forwarded_proto=says_forwarded_proto
        ).request("GET", "/healthz")
        thread.join(5)
    finally:
        server.close()
    assert answer.status == 200
    return received[0].lower()


def test_client_says_forwarded_proto_itself_only_without_a_proxy():
    assert b"x-forwarded-proto: https" in _captured_request(True)
    assert b"x-forwarded-proto" not in _captured_request(False)


def test_the_load_can_be_sent_past_the_proxy():
    config = LoadConfig(
        host="127.0.0.1",
        port=18080,
        password="x",
        savers=["a", "b"],
        indexes={"a": 0, "b": 1},
        subjects=["a", "b"],
        staff=["s"],
        reader="r",
        env={},
        says_forwarded_proto=False,
    )
    load = Load(config, Recorder())
    assert len(load.browsers) == 5  # two members, one staff, the reader, the probes
    assert {(b.port, b.says_forwarded_proto) for b in load.browsers} == {(18080, False)}
    load.reroute(18000, says_forwarded_proto=True)
    assert {(b.port, b.says_forwarded_proto) for b in load.browsers} == {(18000, True)}


@pytest.mark.parametrize(
    ("during", "usual", "p95", "usual_p95", "served"),
    [
        (20.0, 25.0, 1.1, 0.7, True),
        # Starved: hardly anything completes.
        (0.9, 37.0, 5.1, 0.4, False),
        # Half the rate is the floor.
        (12.0, 25.0, 1.0, 0.7, False),
        # Slow answers on a fast machine.
        (20.0, 25.0, 2.5, 0.7, False),
        # A loaded machine, slow in steady load too: twice its steady p95 is the limit.
        (11.9, 9.2, 2.1, 4.6, True),
        (11.9, 9.2, 9.5, 4.6, False),
        # Nothing was sent during the slow clients.
        (0.0, 25.0, None, 0.7, False),
    ],
)
def test_kept_serving(during, usual, p95, usual_p95, served):
    assert (
        kept_serving(during_rate=during, usual_rate=usual, p95=p95, usual_p95=usual_p95) is served
    )
