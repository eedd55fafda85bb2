"""Headers, cookies, sessions and CSRF."""

import json
import re
import subprocess
import sys
import time
from datetime import timedelta
from pathlib import Path

import pytest
from django.contrib.sessions.models import Session
from django.test import Client
from django.utils import timezone

from community.middleware import LOGIN_TIME_KEY, REFRESH_TIME_KEY
from tests.factories import PASSWORD, UserFactory

pytestmark = pytest.mark.django_db
ROOT = Path(__file__).resolve().parents[2]
TEMPLATES = ROOT / "templates"


def nonce_of(response) -> str:
    match = re.search(r"'nonce-([^']+)'", response["Content-Security-Policy"])
    assert match, response["Content-Security-Policy"]
    return match.group(1)


@pytest.mark.parametrize("url", ["/", "/accounts/login/", "/members/", "/admin/login/"])
def test_every_html_response_has_a_nonce_csp_without_unsafe_inline(url, client):
    first, second = client.get(url), client.get(url)
    policy = first["Content-Security-Policy"]
    script_src = re.search(r"script-src([^;]*)", policy).group(1)
    assert "'unsafe-inline'" not in script_src
    assert "frame-ancestors 'none'" in policy
    assert "default-src 'self'" in policy
    assert nonce_of(first) != nonce_of(second)
    body_nonces = set(re.findall(r'nonce="([^"]+)"', first.text))
    assert body_nonces <= {nonce_of(first)}


def test_security_headers(client):
    response = client.get("/")
    assert response["X-Frame-Options"] == "DENY"
    assert response["X-Content-Type-Options"] == "nosniff"
    assert response["Referrer-Policy"] == "same-origin"
    assert response["Cross-Origin-Opener-Policy"] == "same-origin"


def test_hsts_in_production(client, settings):
    settings.SECURE_HSTS_SECONDS = 31536000
    response = client.get("/", secure=True)
    assert (
        int(re.search(r"max-age=(\d+)", response["Strict-Transport-Security"]).group(1)) >= 31536000
    )


PRODUCTION_PROBE = (
    "import json, django; from django.conf import settings; django.setup(); print(json.dumps({k: getattr(settings, k) for k in "
    "['SESSION_COOKIE_NAME','SESSION_COOKIE_SECURE','SESSION_COOKIE_HTTPONLY','SESSION_COOKIE_SAMESITE',"
    "'SESSION_COOKIE_DOMAIN','SESSION_COOKIE_PATH','CSRF_COOKIE_NAME','CSRF_COOKIE_SECURE','SECURE_HSTS_SECONDS',"
    "'SECURE_SSL_REDIRECT']}))"
)


@pytest.fixture(scope="module")
def production_settings() -> dict:
    env = {
        "PATH": "/usr/bin:/bin",
        "DJANGO_SETTINGS_MODULE": "community.settings",
        "COMMUNITY_SKIP_DOTENV": "1",
        "DJANGO_DEBUG": "false",
        "DJANGO_SECRET_KEY": "x" * 60,
        "FIELD_ENCRYPTION_KEYS": "x" * 43 + "=",
        "BLIND_INDEX_KEY": "probe-index-key-" + "y" * 32,
    }
    out = subprocess.run(
        [sys.executable, "-c", PRODUCTION_PROBE],
        env=env,
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=True,
    )
    return json.loads(out.stdout.strip().splitlines()[-1])


def test_production_cookies_are_host_prefixed_secure_and_lax(production_settings):
    assert production_settings["SESSION_COOKIE_NAME"] == "__Host-sessionid"
    assert production_settings["SESSION_COOKIE_SECURE"] is True
    assert production_settings["SESSION_COOKIE_HTTPONLY"] is True
    assert production_settings["SESSION_COOKIE_SAMESITE"] == "Lax"
    assert production_settings["SESSION_COOKIE_DOMAIN"] is None
    assert production_settings["SESSION_COOKIE_PATH"] == "/"
    assert production_settings["CSRF_COOKIE_NAME"] == "__Host-csrftoken"
    assert production_settings["CSRF_COOKIE_SECURE"] is True
    assert production_settings["SECURE_HSTS_SECONDS"] >= 31536000
    assert production_settings["SECURE_SSL_REDIRECT"] is True


def test_session_cookie_as_sent_with_production_settings(settings, production_settings):
    for name in (
        "SESSION_COOKIE_NAME",
        "SESSION_COOKIE_SECURE",
        "CSRF_COOKIE_NAME",
        "CSRF_COOKIE_SECURE",
    ):
        setattr(settings, name, production_settings[name])
    user = UserFactory()
    client = Client()
    client.post("/accounts/login/", {"username": user.username, "password": PASSWORD}, secure=True)
    cookie = client.cookies["__Host-sessionid"]
    assert cookie["secure"]
    assert cookie["httponly"]
    assert cookie["samesite"] == "Lax"
    assert cookie["path"] == "/"
    assert not cookie["domain"]


def test_logout_invalidates_the_old_session_cookie(login):
    user = UserFactory()
    client = login(user)
    old_cookie = client.cookies["sessionid"].value
    client.post("/accounts/logout/")
    replay = Client()
    replay.cookies["sessionid"] = old_cookie
    assert replay.get("/settings/profile/").status_code == 302


def test_password_change_logs_out_other_sessions(login):
    user = UserFactory()
    other = login(user)
    user.set_password("ein-ganz-neues-passwort")
    user.save()
    assert other.get("/settings/profile/").status_code == 302


def test_deactivated_member_is_logged_out_on_the_next_request(login):
    user = UserFactory()
    client = login(user)
    assert client.get("/settings/profile/").status_code == 200
    user.is_active = False
    user.save()
    assert client.get("/settings/profile/").status_code == 302


def test_idle_session_expires(login, settings):
    client = login(UserFactory())
    Session.objects.update(expire_date=timezone.now() - timedelta(seconds=1))
    assert client.get("/settings/profile/").status_code == 302


def test_activity_slides_the_idle_timeout_once_per_refresh_interval(login, settings):
    client = login(UserFactory())
    soon = timezone.now() + timedelta(minutes=5)
    Session.objects.update(expire_date=soon)
    # Within the refresh interval: no write, the expiry stays.
    assert client.get("/settings/profile/").status_code == 200
    assert Session.objects.get().expire_date == soon
    # Past the interval: the next request saves the session and the expiry moves on.
    session = client.session
    session[REFRESH_TIME_KEY] = int(time.time()) - settings.COMMUNITY_SESSION_REFRESH_INTERVAL - 1
    session.save()
    Session.objects.update(expire_date=soon)
    assert client.get("/settings/profile/").status_code == 200
    renewed = Session.objects.get().expire_date
    assert renewed > soon
    assert renewed >= timezone.now() + timedelta(seconds=settings.SESSION_COOKIE_AGE - 5)


def test_active_session_still_ends_after_the_absolute_timeout(login, settings):
    client = login(UserFactory())
    session = client.session
    session[LOGIN_TIME_KEY] = int(time.time()) - settings.COMMUNITY_SESSION_ABSOLUTE_TIMEOUT - 1
    session.save()
    response = client.get("/settings/profile/")
    assert response.status_code == 302
    assert response["Location"].startswith("/accounts/login/")


def test_session_within_the_absolute_timeout_lives_on(login):
    client = login(UserFactory())
    assert LOGIN_TIME_KEY in client.session
    assert client.get("/settings/profile/").status_code == 200


@pytest.mark.parametrize(
    "url",
    [
        "/settings/profile/",
        "/settings/preferences/",
        "/settings/privacy/export/",
        "/settings/privacy/erase/",
        "/accounts/logout/",
    ],
)
def test_state_changing_posts_need_a_csrf_token(url):
    user = UserFactory()
    client = Client(enforce_csrf_checks=True)
    client.force_login(user, backend="community.backends.CommunityBackend")
    assert client.post(url, {"profile-display_name": "x", "confirm": "yes"}).status_code == 403


def test_login_needs_a_csrf_token():
    user = UserFactory()
    client = Client(enforce_csrf_checks=True)
    assert (
        client.post(
            "/accounts/login/", {"username": user.username, "password": PASSWORD}
        ).status_code
        == 403
    )
    assert (
        client.post("/admin/login/", {"username": user.username, "password": PASSWORD}).status_code
        == 403
    )


@pytest.mark.parametrize(
    "url", ["/settings/privacy/export/", "/settings/privacy/erase/", "/accounts/logout/"]
)
def test_no_state_change_by_get(url, login):
    assert login(UserFactory()).get(url).status_code == 405


def test_settings_pages_are_not_cached(login):
    client = login(UserFactory())
    for url in ("/settings/profile/", "/settings/preferences/", "/settings/privacy/"):
        assert "no-store" in client.get(url)["Cache-Control"]


def _app_templates() -> list[Path]:
    return sorted(p for p in TEMPLATES.rglob("*.html"))


@pytest.mark.parametrize("path", _app_templates(), ids=lambda p: str(p.relative_to(TEMPLATES)))
def test_templates_have_no_inline_code_without_a_nonce(path):
    text = path.read_text(encoding="utf-8")
    for tag in re.findall(r"<(?:script|style)\b[^>]*>", text, flags=re.IGNORECASE):
        assert "csp_nonce" in tag, f"{path.name}: {tag}"
    assert not re.search(r"\son[a-z]+\s*=", text, flags=re.IGNORECASE), path.name
    assert not re.search(r"\sstyle\s*=", text, flags=re.IGNORECASE), path.name
