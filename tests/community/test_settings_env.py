"""The settings module reads its configuration from the environment."""

import json

from tests.helpers import run_with_settings

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
    return json.loads(run_with_settings(PROBE, **environ))


def test_default_is_sqlite_with_local_memory_cache_and_database_sessions():
    config = read_settings()
    assert config["engine"] == "community.db_backends.sqlite3"
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


def test_postgresql_prepares_statements_unless_told_not_to():
    url = "postgres://app:pw@db.internal:5432/community"
    options = read_settings(DATABASE_URL=url)["db_options"]
    assert options["server_side_binding"] is True
    assert options["prepare_threshold"] == 2

    off = read_settings(DATABASE_URL=url, DATABASE_PREPARED_STATEMENTS="false")["db_options"]
    assert "server_side_binding" not in off
    assert "prepare_threshold" not in off


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
