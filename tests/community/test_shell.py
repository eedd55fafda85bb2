"""Site shell: login, logout, the avatar menu, /healthz."""

import pytest
from django.test import Client

from tests.factories import PASSWORD, UserFactory
from tests.helpers import run_with_settings

pytestmark = pytest.mark.django_db


def test_healthz_answers_without_session_template_or_database(client, django_assert_num_queries):
    with django_assert_num_queries(0):
        response = client.get("/healthz")
    assert response.status_code == 200
    assert response.content == b"ok"
    assert not response.cookies
    assert "Vary" not in response or "Cookie" not in response["Vary"]
    assert not response.templates


def test_login_page_is_german(client):
    response = client.get("/accounts/login/")
    assert response.status_code == 200
    assert "Anmelden" in response.text
    assert 'lang="de"' in response.text


def test_passwords_are_hashed_with_argon2():
    """As the site is configured: in a fresh process, since this test run hashes with MD5."""
    hashed = run_with_settings(
        "import django; django.setup(); "
        "from django.contrib.auth.hashers import make_password; "
        "print(make_password('geheim-und-lang'))"
    )
    assert hashed.startswith("argon2$argon2id$")
    assert "geheim-und-lang" not in hashed


def test_login_rotates_the_session_key():
    user = UserFactory()
    client = Client()
    client.get("/accounts/login/")
    client.session.save()
    before = client.session.session_key
    response = client.post("/accounts/login/", {"username": user.username, "password": PASSWORD})
    assert response.status_code == 302
    assert client.session.session_key != before
    assert client.session["_auth_user_id"] == str(user.pk)


def test_wrong_password_gives_a_german_error(client):
    user = UserFactory()
    response = client.post("/accounts/login/", {"username": user.username, "password": "falsch"})
    assert response.status_code == 200
    assert "Benutzername oder Passwort ist falsch" in response.text


def test_logout_is_post_only(login):
    client = login(UserFactory())
    assert client.get("/accounts/logout/").status_code == 405
    assert client.post("/accounts/logout/").status_code == 302
    assert "_auth_user_id" not in client.session


def test_member_sees_avatar_menu_with_three_entries(login):
    user = UserFactory(display_name="Mia Mitglied")
    response = login(user).get("/")
    html = response.text
    # A closed <details>: without JavaScript it opens over the page, not inside the header.
    assert '<details class="avatar-menu" data-menu>' in html
    assert '<summary class="avatar-menu__button" id="avatar-menu-button"' in html
    assert ">MM<" in html  # generated initials
    for label in ("Mein Profil", "Meine Einstellungen", "Abmelden"):
        assert label in html
    assert 'href="/settings/profile/"' in html
    assert f'href="/members/{user.username}/"' in html


def test_visitor_sees_login_link_and_no_avatar_menu(client):
    html = client.get("/").text
    assert "Anmelden" in html
    assert "avatar-menu-list" not in html
    assert "Meine Einstellungen" not in html
