"""A text field stored encrypted (Fernet); empty means NULL."""

from typing import TYPE_CHECKING, Any

from django.db import models

from customer_data import crypto

if TYPE_CHECKING:
    _TextField = models.TextField[str | None, str | None]
else:
    _TextField = models.TextField


class EncryptedTextField(_TextField):
    """Encrypts on the way in, decrypts on the way out, and allows no lookups but `isnull`.

    Any other lookup would compare ciphertext, which is random per save, so it could
    only ever be wrong: `filter(field=…)` raises `FieldError`. Use a blind index instead.
    """

    description = "Text, encrypted at rest"

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs["null"] = True
        kwargs.setdefault("blank", True)
        super().__init__(*args, **kwargs)

    def deconstruct(self) -> Any:
        name, path, args, kwargs = super().deconstruct()
        kwargs.pop("null", None)
        return name, path, args, kwargs

    def get_prep_value(self, value: Any) -> Any:
        value = super().get_prep_value(value)
        if value is None or value == "":
            return None
        return crypto.encrypt(value)

    def from_db_value(self, value: Any, expression: Any, connection: Any) -> str | None:
        return None if value is None else crypto.decrypt(value)

    def get_lookup(self, lookup_name: str) -> Any:
        return super().get_lookup(lookup_name) if lookup_name == "isnull" else None

    def get_transform(self, lookup_name: str) -> Any:
        return None
