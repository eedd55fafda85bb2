"""The app server as deployed: gunicorn with the repo's gunicorn.conf.py."""

import os
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

from cryptography.fernet import Fernet

from tests.resilience.conftest import free_port

ROOT = Path(__file__).resolve().parents[2]
GUNICORN = str(Path(sys.executable).parent / "gunicorn")


def environment(tmp_path: Path, keys: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("DJANGO_", "DATABASE_"))}
    env.update(
        DJANGO_SETTINGS_MODULE="community.settings",
        COMMUNITY_SKIP_DOTENV="1",
        DJANGO_DEBUG="false",
        DJANGO_SECURE_SSL_REDIRECT="false",
        DJANGO_SECRET_KEY="a-secret-key-for-the-gunicorn-probe-" + "x" * 40,
        DATABASE_URL=f"sqlite:///{tmp_path / 'db.sqlite3'}",
        FIELD_ENCRYPTION_KEYS=keys,
        BLIND_INDEX_KEY="a-blind-index-key-for-the-gunicorn-probe-" + "y" * 32,
        GUNICORN_WORKERS="2",
        GUNICORN_ACCESS_LOG="",
    )
    return env


def gunicorn(env: dict[str, str], port: int) -> subprocess.Popen:
    return subprocess.Popen(
        [GUNICORN, "-c", "gunicorn.conf.py", "community.wsgi", "--bind", f"127.0.0.1:{port}"],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def wait_until_up(port: int, server: subprocess.Popen) -> None:
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        assert server.poll() is None, server.stderr.read() if server.stderr else ""
        try:
            urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=1).close()
            return
        except OSError:
            time.sleep(0.2)
    raise AssertionError("gunicorn did not come up")


def test_gunicorn_refuses_to_start_with_keys_that_cannot_read_the_data(tmp_path):
    right = Fernet.generate_key().decode()
    seed = subprocess.run(
        [
            sys.executable,
            "-c",
            "import django; django.setup();"
            "from django.core.management import call_command; call_command('migrate', verbosity=0);"
            "from customer_data.keycheck import verify_keys; verify_keys()",
        ],
        cwd=ROOT,
        env=environment(tmp_path, right),
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert seed.returncode == 0, seed.stderr[-2000:]

    server = gunicorn(environment(tmp_path, Fernet.generate_key().decode()), free_port())
    try:
        _, stderr = server.communicate(timeout=60)
    finally:
        server.kill()

    assert server.returncode != 0
    assert "FIELD_ENCRYPTION_KEYS does not belong to this database" in stderr


def test_slow_clients_do_not_starve_the_server(tmp_path):
    """Six clients sending their headers a byte at a time: ordinary requests still answer."""
    port = free_port()
    server = gunicorn(environment(tmp_path, Fernet.generate_key().decode()), port)
    slow: list[socket.socket] = []
    try:
        wait_until_up(port, server)
        for _ in range(6):
            sock = socket.create_connection(("127.0.0.1", port), timeout=5)
            sock.sendall(b"G")
            slow.append(sock)
        for step in range(3):
            time.sleep(0.5)
            for sock in slow:
                sock.sendall(b"ET /healthz HTTP/1.1\r\n"[step : step + 1])
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=3) as answer:
                assert answer.status == 200
    finally:
        for sock in slow:
            sock.close()
        server.terminate()
        server.communicate(timeout=30)
