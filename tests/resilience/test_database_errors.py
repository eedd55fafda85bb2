"""A database that is away or too slow: a branded 503 with Retry-After, never a bare 500."""

import pytest
from django.contrib.sessions.backends.db import SessionStore
from django.contrib.sessions.models import Session
from django.db import OperationalError, connection
from django.test import Client

from community import health
from profiles import selectors

pytestmark = pytest.mark.django_db


@pytest.fixture
def client_seeing_errors() -> Client:
    return Client(raise_request_exception=False)


def database_gone(*args, **kwargs):
    raise OperationalError("server closed the connection unexpectedly")


def test_a_lost_database_in_a_view_answers_503_in_german_with_retry_after(
    client_seeing_errors, monkeypatch
):
    monkeypatch.setattr(selectors, "list_members", database_gone)

    response = client_seeing_errors.get("/members/")

    assert response.status_code == 503
    assert response["Retry-After"] == "30"
    assert "no-store" in response["Cache-Control"]
    assert "Die Community ist gerade kurz nicht erreichbar" in response.text
    assert 'href="/"' in response.text
    assert "Server Error" not in response.text


def test_a_lost_database_while_reading_the_session_answers_503(
    client_seeing_errors, monkeypatch, people, login
):
    client = login(people["member"], Client(raise_request_exception=False))
    monkeypatch.setattr(SessionStore, "load", database_gone)

    response = client.get("/settings/profile/")

    assert response.status_code == 503
    assert response["Retry-After"] == "30"


def test_a_lost_database_while_saving_the_session_answers_503_not_400(monkeypatch, people, login):
    signed_in = login(people["member"])
    client = Client(raise_request_exception=False)
    client.cookies = signed_in.cookies  # a fresh handler, the same session

    def shutting_down(self, *args, **kwargs):
        raise OperationalError("the database system is shutting down")

    monkeypatch.setattr(Session, "save", shutting_down)
    # Saving preferences flashes a message, which is kept in the session: it is updated.
    response = client.post(
        "/settings/preferences/", {"language": "de", "time_zone": "Europe/Berlin"}
    )

    assert response.status_code == 503  # Django's store alone says 400 "session interrupted"
    assert response["Retry-After"] == "30"


def test_the_503_page_speaks_english_to_english_readers(client_seeing_errors, monkeypatch):
    monkeypatch.setattr(selectors, "list_members", database_gone)

    response = client_seeing_errors.get("/members/", HTTP_ACCEPT_LANGUAGE="en")

    assert response.status_code == 503
    assert "The community is briefly unavailable" in response.text


def test_any_other_error_is_the_branded_500_page(client_seeing_errors, monkeypatch):
    def broken(*args, **kwargs):
        raise RuntimeError("a bug")

    monkeypatch.setattr(selectors, "list_members", broken)

    response = client_seeing_errors.get("/members/")

    assert response.status_code == 500
    assert "Da ist etwas schiefgelaufen" in response.text
    assert "Retry-After" not in response


def test_readiness_is_ok_with_a_working_database():
    response = Client().get("/readyz")
    assert response.status_code == 200
    assert response.json() == {
        "status": "ok",
        "checks": {"database": "ok", "cache": "not configured", "keys": "ok"},
    }
    assert "Set-Cookie" not in response.headers


def test_readiness_names_the_database_and_skips_what_needs_it(monkeypatch):
    monkeypatch.setattr(health, "database", database_gone)
    monkeypatch.setattr("community.health.database", database_gone)

    response = Client().get("/readyz")

    assert response.status_code == 503
    assert response.json()["checks"] == {
        "database": "error: OperationalError",
        "cache": "not configured",
        "keys": "skipped: database unavailable",
    }


@pytest.mark.skipif(connection.vendor != "postgresql", reason="PostgreSQL's statement timeout")
def test_postgresql_connections_carry_the_statement_timeout():
    with connection.cursor() as cursor:
        cursor.execute("SHOW statement_timeout")
        configured = cursor.fetchone()[0]
    assert configured == "5s"  # DATABASE_STATEMENT_TIMEOUT's default, 5000 ms


@pytest.mark.skipif(connection.vendor != "postgresql", reason="PostgreSQL's statement timeout")
def test_a_statement_past_the_timeout_is_cancelled_as_an_operational_error():
    with connection.cursor() as cursor:
        cursor.execute("SET LOCAL statement_timeout = 200")  # rolled back with the test
        with pytest.raises(OperationalError):
            cursor.execute("SELECT pg_sleep(2)")
