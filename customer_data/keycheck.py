"""Do the configured encryption keys belong to this database? Checked before the site serves.

A fresh `FIELD_ENCRYPTION_KEYS` passes every format check, and without this the site would
start, fail for every member with data, and encrypt new data with a key that is lost once the
right one is back. So the database keeps a `KeyCheck` token per newest key, and a sample of
stored rows must decrypt too. The check runs when the app server loads (`community/wsgi.py`),
in the readiness probe, and before the first value a process encrypts.
"""

import logging

from cryptography.fernet import Fernet
from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from django.core.signals import setting_changed
from django.db import DatabaseError, transaction
from django.db.models import Q, TextField
from django.db.models.functions import Cast
from django.dispatch import receiver

from customer_data import crypto
from customer_data.models import ENCRYPTED_FIELDS, CustomerData, KeyCheck

logger = logging.getLogger(__name__)

CHECK_TEXT = b"community field-encryption key check"
# Rows read back at each check: the most recently changed ones, which any key in use wrote.
SAMPLE_SIZE = 10


class KeyCheckFailed(ImproperlyConfigured):
    """The configured keys cannot read this database's data. The message says what to do."""


_verified = False


@receiver(setting_changed)
def _forget(*, setting: str, **kwargs: object) -> None:
    global _verified
    if setting in crypto.KEY_SETTINGS:
        _verified = False


def _sample_tokens() -> list[tuple[int, str]]:
    """(row id, token) of the encrypted values of the most recently changed rows."""
    raw = {f"raw_{name}": Cast(name, output_field=TextField()) for name in ENCRYPTED_FIELDS}
    holding = Q()
    for name in ENCRYPTED_FIELDS:
        holding |= Q(**{f"{name}__isnull": False})
    rows = (
        CustomerData.objects.filter(holding)
        .annotate(**raw)
        .order_by("-updated_at", "-pk")
        .values("pk", *raw)[:SAMPLE_SIZE]
    )
    return [(row["pk"], token) for row in rows for key in raw if (token := row[key])]


def verify_keys() -> None:
    """Raise `KeyCheckFailed` unless the keys read this database; record a new newest key."""
    global _verified
    fernet = crypto.fernet()
    newest = KeyCheck.objects.values_list("token", flat=True).first()
    if newest is not None and not crypto.decrypts(fernet, newest):
        raise KeyCheckFailed(
            "FIELD_ENCRYPTION_KEYS does not belong to this database: none of its keys reads "
            "the key-check token written with the key last in use. Restore the previous "
            "FIELD_ENCRYPTION_KEYS; to change keys, put the new key first and keep the old "
            "ones until rotate_field_keys has run."
        )
    sample = _sample_tokens()
    unreadable = [pk for pk, token in sample if not crypto.decrypts(fernet, token)]
    if sample and len(unreadable) == len(sample):
        raise KeyCheckFailed(
            "FIELD_ENCRYPTION_KEYS cannot decrypt any of the most recently stored customer "
            f"data (rows {sorted(set(unreadable))}). Restore the keys that wrote them."
        )
    if unreadable:
        logger.error(
            "Customer data rows %s cannot be decrypted with FIELD_ENCRYPTION_KEYS.",
            sorted(set(unreadable)),
        )
    primary = Fernet(settings.FIELD_ENCRYPTION_KEYS[0])
    if newest is None or not crypto.decrypts(primary, newest):
        # The first check of this database, or a new key was put first: it is the newest now.
        with transaction.atomic():
            KeyCheck.objects.create(token=primary.encrypt(CHECK_TEXT).decode("ascii"))
    _verified = True


def ensure_verified() -> None:
    """Before a process encrypts its first value: verify once (raises if the keys are wrong)."""
    if not _verified:
        verify_keys()


def check_at_startup() -> None:
    """Refuse to start with keys that cannot read the data. An unreachable database is no
    reason to refuse: the readiness probe and the first write then check again."""
    try:
        verify_keys()
    except KeyCheckFailed as exc:
        logger.critical("Refusing to start: %s", exc)
        raise
    except DatabaseError as exc:
        logger.warning(
            "Key check deferred, the database is not usable yet (%s).", type(exc).__name__
        )


def readiness() -> tuple[bool, str]:
    """For /readyz: do the keys read this database's data?"""
    try:
        verify_keys()
    except KeyCheckFailed:
        return False, "error: keys do not match the stored data"
    return True, "ok"


readiness.needs_database = True  # type: ignore[attr-defined]
