"""Pagination for lists that may hold a million rows."""

from functools import cached_property

from django.core.paginator import Paginator


class BoundedCountPaginator(Paginator):
    """Counts at most `COUNT_LIMIT` + 1 rows (a LIMIT inside the COUNT), so a list of a million
    rows opens as fast as one of ten thousand; `more_than` is the limit when there are more
    (the pages then reach as far as the limit, and the list says "mehr als …")."""

    COUNT_LIMIT = 10_000

    @cached_property
    def count(self) -> int:
        found = self.object_list[: self.COUNT_LIMIT + 1].count()  # type: ignore[attr-defined]  # a queryset
        self.more_than = self.COUNT_LIMIT if found > self.COUNT_LIMIT else 0
        return min(found, self.COUNT_LIMIT)

    more_than = 0
