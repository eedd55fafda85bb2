"""Two login limits: per username + IP (axes), and per IP across all usernames."""

import os
import subprocess
import sys
from datetime import timedelta
from pathlib import Path

import pytest
from axes.models import AccessAttempt
from django.test import Client
from django.utils import timezone

from tests.factories import PASSWORD, UserFactory

pytestmark = pytest.mark.django_db

ROOT = Path(__file__).resolve().parents[2]
SITE_LOGIN = "/accounts/login/"
ADMIN_LOGIN = "/admin/login/"
ATTACKER = "203.0.113.7"
NEIGHBOUR = "198.51.100.9"
NETWORK_MESSAGE = "Aus deinem Netzwerk kamen zu viele fehlgeschlagene Anmeldeversuche."


def attempt(url: str, username: str, password: str, ip: str = ATTACKER):
    client = Client()
    response = client.post(url, {"username": username, "password": password}, REMOTE_ADDR=ip)
    return response, client


def spray(settings, ip: str = ATTACKER, failures: int | None = None) -> None:
    """One wrong password each for many different members from one address, never reaching
    the per-account limit."""
    count = settings.COMMUNITY_LOGIN_IP_FAILURE_LIMIT if failures is None else failures
    for user in UserFactory.create_batch(count):
        response, _ = attempt(SITE_LOGIN, user.username, "wrong-password", ip)
        assert response.status_code in {200, 429}


@pytest.fixture
def small_limit(settings):
    """A lower network limit, still above the per-account one, to keep the tests quick."""
    settings.COMMUNITY_LOGIN_IP_FAILURE_LIMIT = settings.AXES_FAILURE_LIMIT + 3
    return settings


def test_the_network_limit_is_higher_than_the_account_limit(settings):
    assert settings.COMMUNITY_LOGIN_IP_FAILURE_LIMIT > settings.AXES_FAILURE_LIMIT


def test_per_account_lock_still_shows_the_account_lock_page(settings):
    user = UserFactory()
    for _ in range(settings.AXES_FAILURE_LIMIT):
        attempt(SITE_LOGIN, user.username, "wrong-password")

    response, client = attempt(SITE_LOGIN, user.username, PASSWORD)

    assert response.status_code == 429
    assert "vorübergehend gesperrt" in response.text
    assert NETWORK_MESSAGE not in response.text
    assert "_auth_user_id" not in client.session


@pytest.mark.parametrize("url", [SITE_LOGIN, ADMIN_LOGIN])
def test_failures_across_usernames_lock_the_address_for_yet_another_member(url, settings):
    spray(settings)
    other = UserFactory(is_staff=True)

    response, client = attempt(url, other.username, PASSWORD)

    assert response.status_code == 429
    assert NETWORK_MESSAGE in response.text
    minutes = int(settings.AXES_COOLOFF_TIME.total_seconds() // 60)  # 15 by default
    assert f"Bitte versuche es in {minutes} Minuten erneut." in response.text
    assert response["Retry-After"] == str(minutes * 60)
    assert "_auth_user_id" not in client.session


def test_the_network_lock_page_is_the_login_form_with_the_message(small_limit):
    spray(small_limit)

    response, _ = attempt(SITE_LOGIN, "someone", "wrong-password")

    assert response.status_code == 429
    assert '<form method="post" action="/accounts/login/"' in response.text
    assert 'name="username"' in response.text
    assert "alert-danger" in response.text


def test_another_address_is_not_affected(small_limit):
    spray(small_limit)
    other = UserFactory()

    response, client = attempt(SITE_LOGIN, other.username, PASSWORD, ip=NEIGHBOUR)

    assert response.status_code == 302
    assert client.session["_auth_user_id"] == str(other.pk)


def test_below_the_network_limit_members_behind_the_same_address_still_log_in(small_limit):
    spray(small_limit, failures=small_limit.COMMUNITY_LOGIN_IP_FAILURE_LIMIT - 1)
    other = UserFactory()

    response, _ = attempt(SITE_LOGIN, other.username, PASSWORD)

    assert response.status_code == 302


def test_the_network_lock_expires_after_the_cool_off(small_limit):
    spray(small_limit)
    other = UserFactory()
    assert attempt(SITE_LOGIN, other.username, PASSWORD)[0].status_code == 429
    # Time travel: move the recorded failures back past the cool-off.
    AccessAttempt.objects.update(
        attempt_time=timezone.now() - small_limit.AXES_COOLOFF_TIME - timedelta(seconds=5)
    )

    assert attempt(SITE_LOGIN, other.username, PASSWORD)[0].status_code == 302


def test_a_smaller_configured_limit_trips_earlier(settings):
    settings.COMMUNITY_LOGIN_IP_FAILURE_LIMIT = 8
    spray(settings, failures=7)
    other = UserFactory()
    assert attempt(SITE_LOGIN, other.username, "wrong-password")[0].status_code == 429
    assert attempt(SITE_LOGIN, other.username, PASSWORD)[0].status_code == 429


def test_the_network_limit_is_read_from_the_environment():
    env = {k: v for k, v in os.environ.items() if not k.startswith("AXES_")}
    env.update(DJANGO_SETTINGS_MODULE="community.settings", AXES_IP_FAILURE_LIMIT="12")
    out = subprocess.run(
        [
            sys.executable,
            "-c",
            "from django.conf import settings; print(settings.COMMUNITY_LOGIN_IP_FAILURE_LIMIT)",
        ],
        env=env,
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=True,
    )
    assert out.stdout.strip() == "12"
