"""Encryption keys that do not belong to the database: refused before anything is written."""

import os
import subprocess
import sys
from pathlib import Path

import pytest
from cryptography.fernet import Fernet
from django.test import Client

from customer_data import keycheck
from customer_data.keycheck import KeyCheckFailed, verify_keys
from customer_data.models import CustomerData, KeyCheck
from customer_data.services import save_consent_and_values
from tests.factories import UserFactory
from tests.helpers import raw_row, store_customer_data

ROOT = Path(__file__).resolve().parents[2]


def new_key() -> str:
    return Fernet.generate_key().decode()


@pytest.fixture
def right_key(settings, db):
    settings.FIELD_ENCRYPTION_KEYS = [new_key()]
    return settings.FIELD_ENCRYPTION_KEYS[0]


def test_the_first_check_records_the_key_in_use(right_key):
    verify_keys()
    assert KeyCheck.objects.count() == 1
    verify_keys()
    assert KeyCheck.objects.count() == 1  # the same key is recorded once


def test_a_fresh_key_is_refused_with_a_message_saying_what_to_do(settings, right_key):
    verify_keys()
    settings.FIELD_ENCRYPTION_KEYS = [new_key()]

    with pytest.raises(KeyCheckFailed, match="does not belong to this database"):
        verify_keys()


def test_a_member_without_data_cannot_save_under_a_wrong_key(settings, right_key):
    store_customer_data(UserFactory())  # the database has data under the right key
    newcomer = UserFactory()
    settings.FIELD_ENCRYPTION_KEYS = [new_key()]

    with pytest.raises(KeyCheckFailed):
        save_consent_and_values(
            user_id=newcomer.pk,
            by=newcomer,
            consent=True,
            cleaned={"customer_number": "12345678", "mobile_number": "", "further_info": ""},
        )

    assert raw_row(newcomer.pk) is None  # nothing written that the right key could not read


def test_data_under_a_key_no_longer_configured_is_refused_without_any_check_token(
    settings, right_key
):
    store_customer_data(UserFactory())
    KeyCheck.objects.all().delete()  # a database from before the key check existed
    settings.FIELD_ENCRYPTION_KEYS = [new_key()]

    with pytest.raises(KeyCheckFailed, match="cannot decrypt any"):
        verify_keys()


def test_a_new_key_put_first_is_accepted_and_becomes_the_one_to_check(settings, right_key):
    owner = UserFactory()
    store_customer_data(owner)
    verify_keys()
    new = new_key()
    settings.FIELD_ENCRYPTION_KEYS = [new, right_key]

    verify_keys()
    assert KeyCheck.objects.count() == 2
    # After rotation the old key may go; going back to the old key alone is refused,
    # because data may have been written under the new one meanwhile.
    from customer_data.services import rotate_field_keys

    rotate_field_keys()
    settings.FIELD_ENCRYPTION_KEYS = [new]
    verify_keys()
    assert CustomerData.objects.get(user=owner).customer_number == "4711081512"
    settings.FIELD_ENCRYPTION_KEYS = [right_key]
    with pytest.raises(KeyCheckFailed):
        verify_keys()


def test_readiness_fails_on_wrong_keys_and_recovers_with_the_right_ones(settings, right_key):
    verify_keys()
    settings.FIELD_ENCRYPTION_KEYS = [new_key()]

    wrong = Client().get("/readyz")

    assert wrong.status_code == 503
    assert wrong.json()["checks"]["keys"].startswith("error")
    settings.FIELD_ENCRYPTION_KEYS = [right_key]
    assert Client().get("/readyz").status_code == 200


def test_the_check_runs_once_per_process_until_the_keys_change(settings, right_key):
    verify_keys()
    assert keycheck._verified
    settings.FIELD_ENCRYPTION_KEYS = [new_key(), right_key]
    assert not keycheck._verified


def _run(code: str, database: Path, keys: str) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("DJANGO_", "DATABASE_"))}
    env.update(
        DJANGO_SETTINGS_MODULE="community.settings",
        COMMUNITY_SKIP_DOTENV="1",
        DJANGO_SECRET_KEY="a-secret-key-for-the-start-up-probe-" + "x" * 32,
        DATABASE_URL=f"sqlite:///{database}",
        FIELD_ENCRYPTION_KEYS=keys,
        BLIND_INDEX_KEY="a-blind-index-key-for-the-start-up-probe-" + "y" * 32,
    )
    return subprocess.run(
        [sys.executable, "-c", code],
        env=env,
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


STORE = (
    "import django; django.setup();"
    "from django.core.management import call_command; call_command('migrate', verbosity=0);"
    "from django.contrib.auth.models import User;"
    "from customer_data.services import save_consent_and_values;"
    "u = User.objects.create(username='probe');"
    "save_consent_and_values(user_id=u.pk, by=u, consent=True, cleaned={'customer_number': '12345678'})"
)


def test_the_app_server_refuses_to_start_with_a_wrong_key(tmp_path):
    database, right, wrong = tmp_path / "db.sqlite3", new_key(), new_key()
    stored = _run(STORE, database, right)
    assert stored.returncode == 0, stored.stderr[-2000:]

    refused = _run("import community.wsgi", database, wrong)
    started = _run("import community.wsgi", database, right)
    rotating = _run("import community.wsgi", database, f"{wrong},{right}")

    assert refused.returncode != 0
    assert "FIELD_ENCRYPTION_KEYS does not belong to this database" in refused.stderr
    assert started.returncode == 0, started.stderr[-2000:]
    assert rotating.returncode == 0, rotating.stderr[-2000:]
