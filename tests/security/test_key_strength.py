"""Weak keys are refused at start-up: BLIND_INDEX_KEY always, and
DJANGO_SECRET_KEY with DEBUG off, need at least 32 bytes of key material."""

import os
import subprocess
import sys
from pathlib import Path

import pytest
from cryptography.fernet import Fernet
from django.core.exceptions import ImproperlyConfigured

from customer_data import crypto
from customer_data.crypto import MIN_KEY_BYTES, check_keys

ROOT = Path(__file__).resolve().parents[2]
STRONG_SECRET = "a-secret-key-that-is-long-enough-for-this-test-0123456789"
STRONG_INDEX_KEY = "a-blind-index-key-different-from-everything"


@pytest.fixture
def keys(settings):
    settings.DEBUG = False
    settings.SECRET_KEY = STRONG_SECRET
    settings.FIELD_ENCRYPTION_KEYS = [Fernet.generate_key().decode()]
    settings.BLIND_INDEX_KEY = STRONG_INDEX_KEY
    return settings


def test_the_minimum_is_32_bytes():
    assert MIN_KEY_BYTES == 32


@pytest.mark.parametrize(
    "index_key",
    ["x", "k" * 31, "ä" * 15 + "a"],
    ids=["one-letter", "31-ascii-bytes", "31-utf8-bytes"],
)
def test_a_short_blind_index_key_is_refused(keys, index_key):
    keys.BLIND_INDEX_KEY = index_key

    with pytest.raises(ImproperlyConfigured, match="BLIND_INDEX_KEY is too short"):
        check_keys()


@pytest.mark.parametrize(
    "index_key", ["k" * 32, "ä" * 16], ids=["32-ascii-bytes", "32-utf8-bytes-in-16-letters"]
)
def test_a_blind_index_key_of_32_bytes_is_accepted(keys, index_key):
    keys.BLIND_INDEX_KEY = index_key

    check_keys()


def test_the_blind_index_is_not_computed_with_a_short_key(keys):
    keys.BLIND_INDEX_KEY = "x"

    with pytest.raises(ImproperlyConfigured, match="BLIND_INDEX_KEY"):
        crypto.blind_index("123456789")


@pytest.mark.parametrize("secret", ["x", "s" * 31, "ü" * 15 + "s"])
def test_a_short_secret_key_is_refused_with_debug_off(keys, secret):
    keys.SECRET_KEY = secret

    with pytest.raises(ImproperlyConfigured, match="DJANGO_SECRET_KEY is too short"):
        check_keys()


def test_the_insecure_development_default_is_refused_with_debug_off(keys):
    keys.SECRET_KEY = "django-insecure-dev-only-not-for-production"

    with pytest.raises(ImproperlyConfigured, match="insecure development default"):
        check_keys()


@pytest.mark.parametrize("secret", ["x", "django-insecure-dev-only-not-for-production"])
def test_development_may_keep_a_short_or_default_secret_key(keys, secret):
    keys.DEBUG = True
    keys.SECRET_KEY = secret

    check_keys()


def test_a_32_byte_secret_key_is_accepted_with_debug_off(keys):
    keys.SECRET_KEY = "s" * 32

    check_keys()


def _manage_check(**variables: str) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("DJANGO_", "DATABASE_"))}
    env.pop("FIELD_ENCRYPTION_KEYS", None)
    env.pop("BLIND_INDEX_KEY", None)
    env.update(
        {
            "DJANGO_SETTINGS_MODULE": "community.settings",
            "COMMUNITY_SKIP_DOTENV": "1",  # only these variables count, not a developer's .env
            "DJANGO_DEBUG": "false",
            "DJANGO_SECRET_KEY": "a-secret-key-for-the-start-up-probe-" + "x" * 32,
            "FIELD_ENCRYPTION_KEYS": Fernet.generate_key().decode(),
            "BLIND_INDEX_KEY": "a-blind-index-key-for-the-start-up-probe",
            **variables,
        }
    )
    return subprocess.run(
        [sys.executable, str(ROOT / "manage.py"), "check"],
        env=env,
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


@pytest.mark.parametrize(
    ("variables", "message"),
    [
        ({"BLIND_INDEX_KEY": "x"}, "BLIND_INDEX_KEY is too short"),
        ({"DJANGO_SECRET_KEY": "short-secret"}, "DJANGO_SECRET_KEY is too short"),
    ],
    ids=["blind-index-key", "secret-key"],
)
def test_start_up_fails_with_a_weak_key(variables, message):
    failed = _manage_check(**variables)

    assert failed.returncode != 0
    assert "ImproperlyConfigured" in failed.stderr
    assert message in failed.stderr
    assert _manage_check().returncode == 0


def test_the_generated_env_file_holds_keys_that_pass(keys, tmp_path):
    target = tmp_path / ".env"
    subprocess.run(
        [sys.executable, str(ROOT / "scripts" / "write_env.py"), str(target)],
        check=True,
        capture_output=True,
    )
    written = dict(
        line.split("=", 1)
        for line in target.read_text(encoding="utf-8").splitlines()
        if line and not line.startswith("#")
    )

    keys.SECRET_KEY = written["DJANGO_SECRET_KEY"]
    keys.FIELD_ENCRYPTION_KEYS = written["FIELD_ENCRYPTION_KEYS"].split(",")
    keys.BLIND_INDEX_KEY = written["BLIND_INDEX_KEY"]
    check_keys()
    assert len(written["BLIND_INDEX_KEY"].encode()) >= MIN_KEY_BYTES
    assert len(written["DJANGO_SECRET_KEY"].encode()) >= MIN_KEY_BYTES
