"""The settings module reads its configuration from the environment."""

import json
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
PROBE = (
    "import json, django; from django.conf import settings; django.setup(); print(json.dumps({"
    "'engine': settings.DATABASES['default']['ENGINE'],"
    "'name': str(settings.DATABASES['default']['NAME']),"
    "'host': settings.DATABASES['default'].get('HOST', ''),"
    "'cache': settings.CACHES['default']['BACKEND'],"
    "'cache_location': settings.CACHES['default'].get('LOCATION', ''),"
    "'cache_options': settings.CACHES['default'].get('OPTIONS', {}),"
    "'db_options': settings.DATABASES['default'].get('OPTIONS', {}),"
    "'session': settings.SESSION_ENGINE, 'debug': settings.DEBUG,"
    "'hosts': settings.ALLOWED_HOSTS}))"
)


def read_settings(**environ: str) -> dict:
    env = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith(("DJANGO_", "DATABASE_URL", "REDIS_URL"))
    }
    env.update(
        DJANGO_SETTINGS_MODULE="community.settings",
        FIELD_ENCRYPTION_KEYS="x" * 43 + "=",
        BLIND_INDEX_KEY="blind-index-key-for-the-probe-" + "y" * 32,
        DJANGO_SECRET_KEY="probe-secret-key-" + "x" * 40,
        COMMUNITY_SKIP_DOTENV="1",  # only these variables count, not a developer's .env
        **environ,
    )
    out = subprocess.run(
        [sys.executable, "-c", f"import sys; sys.path.insert(0, {str(ROOT)!r}); {PROBE}"],
        env=env,
        cwd="/",
        capture_output=True,
        text=True,
        check=True,
    )
    return json.loads(out.stdout.strip().splitlines()[-1])


def test_default_is_sqlite_with_local_memory_cache_and_database_sessions():
    config = read_settings()
    assert config["engine"] == "django.db.backends.sqlite3"
    assert config["cache"] == "django.core.cache.backends.locmem.LocMemCache"
    assert config["session"] == "community.sessions"
    assert config["debug"] is False


def test_database_url_switches_to_postgresql():
    config = read_settings(DATABASE_URL="postgres://app:pw@db.internal:5432/community")
    assert config["engine"] == "django.db.backends.postgresql"
    assert config["name"] == "community"
    assert config["host"] == "db.internal"


def test_postgresql_gets_connect_and_statement_timeouts_from_the_environment():
    default = read_settings(DATABASE_URL="postgres://app:pw@db.internal:5432/community")
    assert default["db_options"]["connect_timeout"] == 3
    assert "statement_timeout=5000" in default["db_options"]["options"]

    tuned = read_settings(
        DATABASE_URL="postgres://app:pw@db.internal:5432/community",
        DATABASE_CONNECT_TIMEOUT="1",
        DATABASE_STATEMENT_TIMEOUT="2500",
    )
    assert tuned["db_options"]["connect_timeout"] == 1
    assert "statement_timeout=2500" in tuned["db_options"]["options"]


def test_redis_url_switches_the_cache_to_redis_with_short_timeouts_and_keeps_sessions_in_the_database():
    config = read_settings(REDIS_URL="redis://127.0.0.1:6379/3")
    assert config["cache"] == "community.cache.ResilientRedisCache"
    assert config["cache_location"] == "redis://127.0.0.1:6379/3"
    assert config["cache_options"] == {"socket_connect_timeout": 0.5, "socket_timeout": 0.5}
    assert config["session"] == "community.sessions"


def test_debug_and_allowed_hosts_come_from_the_environment():
    config = read_settings(DJANGO_DEBUG="true", DJANGO_ALLOWED_HOSTS="a.example,b.example")
    assert config["debug"] is True
    assert config["hosts"] == ["a.example", "b.example"]
