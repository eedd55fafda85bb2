"""Redis stopped or hung: members stay signed in, logins work, pages answer, a log line says why."""

import logging
import time

import pytest
from django.core.cache import cache
from django.test import Client

from community import cache as resilient
from tests.factories import PASSWORD, UserFactory

pytestmark = pytest.mark.django_db


def login_by_form(username: str) -> Client:
    client = Client()
    response = client.post("/accounts/login/", {"username": username, "password": PASSWORD})
    assert response.status_code == 302, "login failed"
    return client


def test_the_cache_is_used_while_redis_answers(redis_cache):
    cache.set("probe", 1)
    assert cache.get("probe") == 1


def test_with_redis_stopped_members_stay_signed_in_log_in_and_browse(redis_cache, caplog):
    member = UserFactory()
    signed_in = login_by_form(member.username)
    redis_cache.stop()

    with caplog.at_level(logging.WARNING, logger="community.cache"):
        directory = signed_in.get("/members/")  # its member count is cached
        settings_page = signed_in.get("/settings/profile/")
        fresh_login = login_by_form(UserFactory().username)
        after_login = fresh_login.get("/settings/profile/")

    assert directory.status_code == 200
    assert settings_page.status_code == 200  # still signed in: the session is in the database
    assert after_login.status_code == 200
    assert any("Redis unreachable" in record.getMessage() for record in caplog.records)


def test_with_redis_back_the_cache_is_used_again(redis_cache):
    redis_cache.stop()
    assert cache.get("probe", "fallback") == "fallback"
    redis_cache.start()
    resilient._resting_until.clear()  # as the cool-down running out would
    cache.set("probe", 2)
    assert cache.get("probe") == 2


def test_a_hung_redis_costs_one_short_timeout_not_seconds_per_call(redis_cache):
    member = UserFactory()
    client = login_by_form(member.username)
    redis_cache.hang()
    try:
        started = time.monotonic()
        statuses = [client.get("/members/").status_code for _ in range(5)]
        elapsed = time.monotonic() - started
    finally:
        redis_cache.resume()

    assert statuses == [200] * 5
    # Five pages, each asking the cache: one 0.5 s timeout, then the cache rests. Without
    # the timeouts a single call would wait for Redis indefinitely (or 5 s per call).
    assert elapsed < 4


def test_readiness_reports_redis_stopped_and_recovers(redis_cache):
    assert Client().get("/readyz").json()["checks"]["cache"] == "ok"
    redis_cache.stop()

    down = Client().get("/readyz")

    assert down.status_code == 503
    assert down.json()["checks"]["cache"].startswith("error")
    assert down.json()["checks"]["database"] == "ok"
    redis_cache.start()
    up = Client().get("/readyz")
    assert up.status_code == 200
    assert cache.set("probe", 3) is None
    assert cache.get("probe") == 3  # the readiness check woke the cache up again
