"""Append-only records: written once, never changed, removed only on purpose.

Consent records, the access log and the role and rank log are evidence; a bug or a careless
shell line must not be able to rewrite them. `save()` refuses to change a stored row, and the
queryset refuses `update()` and `delete()`. Removal has one sanctioned path, `purge()`, for
retention and account deletion, so every call site that removes evidence says so by name.
(Deleting the member's account cascades as the foreign keys say; Django's collector does not
go through `QuerySet.delete()`.)
"""

from typing import Any, ClassVar

from django.db import models


class AppendOnlyError(ValueError):
    """An attempt to change or delete an append-only record."""


class AppendOnlyQuerySet(models.QuerySet):
    def update(self, **kwargs: Any) -> int:
        raise AppendOnlyError(f"{self.model.__name__} rows are append-only.")

    def delete(self) -> tuple[int, dict[str, int]]:
        raise AppendOnlyError(
            f"{self.model.__name__} rows are append-only; use purge() for retention."
        )

    def purge(self) -> int:
        """Remove these rows for good (retention, account deletion); returns how many."""
        deleted, _ = super().delete()
        return deleted


class AppendOnlyModel(models.Model):
    objects: ClassVar[Any] = AppendOnlyQuerySet.as_manager()

    class Meta:
        abstract = True

    def save(self, *args: Any, **kwargs: Any) -> None:
        if not self._state.adding:
            raise AppendOnlyError(f"{type(self).__name__} rows are append-only.")
        super().save(*args, **kwargs)

    def delete(self, *args: Any, **kwargs: Any) -> tuple[int, dict[str, int]]:
        raise AppendOnlyError(f"{type(self).__name__} rows are append-only.")
