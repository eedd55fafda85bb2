"""Brute-force protection with django-axes on the site login and the admin login."""

from datetime import timedelta

import pytest
from axes.models import AccessAttempt, AccessAttemptExpiration
from django.test import Client
from django.utils import timezone

from tests.factories import PASSWORD, UserFactory

pytestmark = pytest.mark.django_db

LOGINS = ["/accounts/login/", "/admin/login/"]


def attempt(
    client: Client, url: str, username: str, password: str, ip: str = "203.0.113.7", **extra
):
    return client.post(url, {"username": username, "password": password}, REMOTE_ADDR=ip, **extra)


def fail_until_locked(
    client: Client, url: str, username: str, settings, ip: str = "203.0.113.7"
) -> None:
    for _ in range(settings.AXES_FAILURE_LIMIT):
        attempt(client, url, username, "wrong-password", ip)


@pytest.mark.parametrize("url", LOGINS)
def test_lockout_after_the_limit_refuses_even_the_right_password(url, settings):
    user = UserFactory(is_staff=True)
    client = Client()
    fail_until_locked(client, url, user.username, settings)
    response = attempt(client, url, user.username, PASSWORD)
    assert response.status_code == 429
    assert "vorübergehend gesperrt" in response.text
    assert "_auth_user_id" not in client.session


def test_lock_is_per_username_and_ip_together(settings):
    user = UserFactory()
    fail_until_locked(Client(), LOGINS[0], user.username, settings, ip="203.0.113.7")
    other_ip = attempt(Client(), LOGINS[0], user.username, PASSWORD, ip="198.51.100.9")
    assert other_ip.status_code == 302
    other_user = UserFactory()
    same_ip = attempt(Client(), LOGINS[0], other_user.username, PASSWORD, ip="203.0.113.7")
    assert same_ip.status_code == 302


def test_lock_expires_after_the_cool_off(settings):
    user = UserFactory()
    fail_until_locked(Client(), LOGINS[0], user.username, settings)
    assert attempt(Client(), LOGINS[0], user.username, PASSWORD).status_code == 429
    # Time travel: move the recorded failures back past the cool-off.
    past = timezone.now() - settings.AXES_COOLOFF_TIME - timedelta(seconds=5)
    AccessAttempt.objects.update(attempt_time=past)
    AccessAttemptExpiration.objects.update(expires_at=past)
    assert attempt(Client(), LOGINS[0], user.username, PASSWORD).status_code == 302


def test_success_resets_the_failure_counter(settings):
    user = UserFactory()
    client = Client()
    for _ in range(settings.AXES_FAILURE_LIMIT - 1):
        attempt(client, LOGINS[0], user.username, "wrong-password")
    assert attempt(client, LOGINS[0], user.username, PASSWORD).status_code == 302
    assert not AccessAttempt.objects.filter(username=user.username).exists()
    client.post("/accounts/logout/")
    for _ in range(settings.AXES_FAILURE_LIMIT - 1):
        attempt(client, LOGINS[0], user.username, "wrong-password")
    assert attempt(client, LOGINS[0], user.username, PASSWORD).status_code == 302


def test_spoofed_forwarded_for_is_ignored_without_a_proxy(settings):
    assert settings.AXES_IPWARE_PROXY_COUNT == 0
    user = UserFactory()
    attempt(Client(), LOGINS[0], user.username, "wrong-password", HTTP_X_FORWARDED_FOR="192.0.2.99")
    assert list(AccessAttempt.objects.values_list("ip_address", flat=True)) == ["203.0.113.7"]


def test_attempt_records_and_logs_hold_no_password(caplog):
    user = UserFactory()
    attempt(Client(), LOGINS[0], user.username, "Geheim-Passwort-123")
    row = AccessAttempt.objects.get()
    assert "Geheim-Passwort-123" not in f"{row.get_data} {row.post_data}"
    assert "Geheim-Passwort-123" not in caplog.text
