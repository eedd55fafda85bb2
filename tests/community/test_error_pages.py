"""Error pages: branded, in German and English, saying what happened and where to go next."""

import pytest
from django.test import Client

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _production_errors(settings):
    settings.DEBUG = False


@pytest.mark.parametrize(
    ("language", "text"),
    [("de", "Diese Seite gibt es nicht"), ("en", "This page does not exist")],
)
def test_an_unknown_member_is_the_branded_404(language, text):
    response = Client().get("/members/nobody/", HTTP_ACCEPT_LANGUAGE=language)

    assert response.status_code == 404
    assert text in response.text
    assert 'href="/"' in response.text
    assert "Not Found" not in response.text


def test_an_admin_page_without_permission_is_the_branded_403(client_for):
    response = client_for("team").get("/admin/auth/user/")

    assert response.status_code == 403
    assert "Hierfür fehlt dir die Berechtigung" in response.text


def test_a_form_posted_without_its_token_is_the_branded_csrf_page(people):
    client = Client(enforce_csrf_checks=True)
    client.force_login(people["member"], backend="community.backends.CommunityBackend")

    response = client.post("/settings/preferences/", {"language": "de"})

    assert response.status_code == 403
    assert "Das Formular war zu lange offen" in response.text
    assert "CSRF" not in response.text


def test_a_request_for_an_unknown_host_is_the_branded_400():
    response = Client(raise_request_exception=False).get("/", HTTP_HOST="evil.example")

    assert response.status_code == 400
    assert "Diese Anfrage konnten wir nicht verstehen" in response.text
