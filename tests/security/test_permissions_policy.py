"""Permissions-Policy on every response, and flash messages without a cookie of their own."""

import pytest
from django.test import Client

from tests.factories import UserFactory

pytestmark = pytest.mark.django_db

POLICY = "camera=(), microphone=(), geolocation=(), payment=(), usb=(), interest-cohort=()"
SAVED = "Deine Einstellungen wurden gespeichert."


@pytest.mark.parametrize(
    ("url", "status"),
    [
        ("/", 200),
        ("/accounts/login/", 200),
        ("/healthz", 200),
        ("/readyz", 200),
        ("/admin/login/", 200),
        ("/settings/profile/", 302),
        ("/gibt-es-nicht/", 404),
    ],
    ids=["home", "login", "healthz", "readyz", "admin-login", "redirect-to-login", "not-found"],
)
def test_every_response_carries_the_permissions_policy(url, status):
    response = Client().get(url)

    assert response.status_code == status
    assert response["Permissions-Policy"] == POLICY


def test_a_signed_in_page_and_a_post_carry_it_too(login):
    client = login(UserFactory())

    assert client.get("/settings/profile/")["Permissions-Policy"] == POLICY
    assert client.post("/accounts/logout/")["Permissions-Policy"] == POLICY


def test_a_save_that_flashes_a_message_sets_no_messages_cookie(people, login):
    client = login(people["owner"])
    data = {
        "profile-display_name": "Olga Owner",
        "profile-about": "",
        "profile-location": "Bonn",
        "confirm_withdrawal": "",
    }

    saved = client.post("/settings/profile/", data)

    assert saved.status_code == 302
    assert "messages" not in saved.cookies
    assert "messages" not in client.cookies
    shown = client.get(saved["Location"])
    assert SAVED in shown.text
    assert "messages" not in shown.cookies
    assert SAVED not in client.get(saved["Location"]).text  # shown once, then gone
