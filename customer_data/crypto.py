"""Encryption at rest for customer data, and the blind index for exact search.

Keys come from the environment, never from SECRET_KEY: `FIELD_ENCRYPTION_KEYS` (Fernet keys,
newest first; the first encrypts, all decrypt) and `BLIND_INDEX_KEY` (HMAC-SHA256).
"""

import functools
import hashlib
import hmac
from typing import Any

from cryptography.fernet import Fernet, InvalidToken, MultiFernet
from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from django.core.signals import setting_changed
from django.dispatch import receiver
from django.views.decorators.debug import sensitive_variables

KEY_SETTINGS = ("FIELD_ENCRYPTION_KEYS", "BLIND_INDEX_KEY")
# Key material below this many bytes (UTF-8) is refused: 256 bits, the output size of the
# blind index HMAC-SHA256, and less than `scripts/write_env.py` generates (token_urlsafe(32)).
MIN_KEY_BYTES = 32
# Django's own marker for a development key (`check --deploy` flags it too).
INSECURE_SECRET_KEY_PREFIX = "django-insecure-"  # noqa: S105 (a marker to refuse, no secret)


class DecryptionError(Exception):
    """A stored value could not be decrypted with any configured key.

    Raised loudly instead of handing out ciphertext as if it were the value.
    The message never contains the token or any part of it.
    """


def _key_bytes(value: str) -> int:
    return len(value.encode("utf-8"))


def check_secret_key() -> None:
    """With DEBUG off, refuse a short `DJANGO_SECRET_KEY` or the development default.

    The secret key signs sessions, password-reset links and CSRF tokens, so a guessable one
    hands out logins. Development (DEBUG on) may keep the insecure default.
    """
    if settings.DEBUG:
        return
    secret = settings.SECRET_KEY
    if not isinstance(secret, str) or _key_bytes(secret) < MIN_KEY_BYTES:
        raise ImproperlyConfigured(
            f"DJANGO_SECRET_KEY is too short: it needs at least {MIN_KEY_BYTES} bytes when "
            "DJANGO_DEBUG is off. Generate one with: "
            'python -c "import secrets; print(secrets.token_urlsafe(50))"'
        )
    if secret.startswith(INSECURE_SECRET_KEY_PREFIX):
        raise ImproperlyConfigured(
            "DJANGO_SECRET_KEY is the insecure development default; set a generated key "
            "when DJANGO_DEBUG is off."
        )


def check_keys() -> None:
    """Refuse to start without proper, separate, long enough keys.

    Runs when the app loads (`CustomerDataConfig.ready`), so every process (app server,
    management command, test run) fails at once with a message saying which key is wrong.
    """
    check_secret_key()
    keys = list(settings.FIELD_ENCRYPTION_KEYS)
    if not keys:
        raise ImproperlyConfigured("FIELD_ENCRYPTION_KEYS is not set.")
    if not settings.BLIND_INDEX_KEY:
        raise ImproperlyConfigured("BLIND_INDEX_KEY is not set.")
    if _key_bytes(settings.BLIND_INDEX_KEY) < MIN_KEY_BYTES:
        raise ImproperlyConfigured(
            f"BLIND_INDEX_KEY is too short: it needs at least {MIN_KEY_BYTES} bytes. "
            "Generate one with: "
            'python -c "import secrets; print(secrets.token_urlsafe(32))"'
        )
    if settings.SECRET_KEY in keys or settings.BLIND_INDEX_KEY == settings.SECRET_KEY:
        raise ImproperlyConfigured("Encryption keys must not equal DJANGO_SECRET_KEY.")
    if settings.BLIND_INDEX_KEY in keys:
        raise ImproperlyConfigured(
            "BLIND_INDEX_KEY must differ from every FIELD_ENCRYPTION_KEYS key."
        )
    for position, key in enumerate(keys, start=1):
        try:
            Fernet(key)
        except (ValueError, TypeError):
            raise ImproperlyConfigured(
                f"FIELD_ENCRYPTION_KEYS entry {position} is not a valid Fernet key."
            ) from None


@functools.cache
def _fernet() -> MultiFernet:
    check_keys()
    return MultiFernet([Fernet(key) for key in settings.FIELD_ENCRYPTION_KEYS])


@functools.cache
def _newest() -> Fernet:
    check_keys()
    return Fernet(settings.FIELD_ENCRYPTION_KEYS[0])


def fernet() -> MultiFernet:
    """All configured keys: the first encrypts, every one decrypts."""
    return _fernet()


def decrypts(keys: Fernet | MultiFernet, token: str) -> bool:
    """Whether `token` decrypts with `keys` (the plaintext is dropped at once)."""
    try:
        keys.decrypt(token.encode("ascii"))
    except (InvalidToken, UnicodeError):
        return False
    return True


@functools.cache
def _index_key() -> bytes:
    check_keys()
    return settings.BLIND_INDEX_KEY.encode()


@receiver(setting_changed)
def _forget_keys(*, setting: str, **kwargs: Any) -> None:
    if setting in KEY_SETTINGS or setting == "SECRET_KEY":
        _fernet.cache_clear()
        _newest.cache_clear()
        _index_key.cache_clear()


@sensitive_variables("plaintext")
def encrypt(plaintext: str) -> str:
    """Encrypt with the newest key, once the keys are known to belong to this database."""
    from customer_data.keycheck import ensure_verified  # keycheck reads the models

    ensure_verified()
    return _fernet().encrypt(plaintext.encode()).decode("ascii")


def decrypt(token: str) -> str:
    try:
        return _fernet().decrypt(token.encode("ascii")).decode()
    except (InvalidToken, UnicodeError):
        raise DecryptionError(
            "Stored customer data cannot be decrypted with FIELD_ENCRYPTION_KEYS "
            "(wrong or missing key)."
        ) from None


def rotate(token: str) -> str:
    """Re-encrypt a token with the newest key (it must decrypt with one of the keys)."""
    try:
        return _fernet().rotate(token.encode("ascii")).decode("ascii")
    except (InvalidToken, UnicodeError):
        raise DecryptionError("A stored token matches none of FIELD_ENCRYPTION_KEYS.") from None


def is_newest(token: str) -> bool:
    """Whether `token` is encrypted with the newest key, so rotating it would change nothing.

    A Fernet token does not name its key; the newest key alone is tried, and a token of
    another key fails its HMAC check before anything is decrypted.
    """
    return decrypts(_newest(), token)


@sensitive_variables("normalised")
def blind_index(normalised: str) -> str:
    """Keyed hash of an already normalised value, for exact-match lookups."""
    return hmac.new(_index_key(), normalised.encode(), hashlib.sha256).hexdigest()
