"""The header's language button: a POST to Django's set_language for visitors, and for
members the choice saved to their profile; a member's saved language wins after login."""

import pytest
from django.conf import settings
from django.test import Client

from profiles.models import Profile
from tests.factories import PASSWORD, UserFactory

pytestmark = pytest.mark.django_db

SWITCH = "/i18n/setlang/"


def test_the_header_offers_the_other_language_as_a_post_form(client):
    html = client.get("/members/").text

    assert f'<form class="language-switch" method="post" action="{SWITCH}">' in html
    assert '<input type="hidden" name="next" value="/members/">' in html
    assert 'name="language" value="en" lang="en"' in html
    assert 'name="language" value="de"' not in html


def test_a_visitor_switches_to_english_and_back(client):
    response = client.post(SWITCH, {"language": "en", "next": "/members/"})

    assert response.status_code == 302
    assert response["Location"] == "/members/"
    assert client.cookies[settings.LANGUAGE_COOKIE_NAME].value == "en"
    page = client.get("/members/").text
    assert '<html lang="en">' in page
    assert 'name="language" value="de" lang="de"' in page

    client.post(SWITCH, {"language": "de", "next": "/"})
    assert '<html lang="de">' in client.get("/").text


def test_the_switch_is_post_only_and_ignores_foreign_targets(client):
    assert client.get(SWITCH, {"language": "en"}).status_code == 405

    response = client.post(SWITCH, {"language": "en", "next": "https://evil.example/"})

    assert response.status_code == 302
    assert response["Location"] == "/"


def test_an_unknown_language_changes_nothing(login):
    user = UserFactory()
    client = login(user)

    client.post(SWITCH, {"language": "xx", "next": "/"})

    assert Profile.objects.get(user=user).language == "de"
    assert '<html lang="de">' in client.get("/").text


def test_a_member_s_choice_is_saved_and_holds_on_every_page(login):
    user = UserFactory()
    client = login(user)

    client.post(SWITCH, {"language": "en", "next": "/settings/preferences/"})

    assert Profile.objects.get(user=user).language == "en"
    for path in ("/", "/members/", "/settings/profile/"):
        assert '<html lang="en">' in client.get(path).text
    # A new session on another device starts in English too.
    assert '<html lang="en">' in login(user, Client()).get("/").text


def test_the_member_s_saved_language_wins_after_login():
    user = UserFactory()
    Profile.objects.filter(user=user).update(language="de")
    client = Client()
    client.post(SWITCH, {"language": "en", "next": "/"})
    assert '<html lang="en">' in client.get("/accounts/login/").text

    client.post("/accounts/login/", {"username": user.username, "password": PASSWORD})

    assert '<html lang="de">' in client.get("/").text
