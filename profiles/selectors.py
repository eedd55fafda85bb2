"""Reads of profiles and members."""

import re
from collections.abc import Callable, Iterable
from datetime import datetime
from typing import Any

from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.auth.models import AbstractBaseUser
from django.core.cache import cache
from django.core.exceptions import EmptyResultSet
from django.db import connection
from django.db.models import (
    Exists,
    F,
    Func,
    IntegerField,
    OrderBy,
    OuterRef,
    Q,
    QuerySet,
    Subquery,
    TextField,
    Value,
)
from django.db.models.functions import Concat, Upper
from django.db.models.lookups import Contains, Lookup, Regex
from django.utils import timezone

from community.models import Rank
from community.prepared import PreparedLookup
from community.roles import role_annotations, roles_from_row
from customer_data.models import (
    FIELD_COUNT,
    CustomerData,
    counted_fields,
    counted_fields_expression,
)
from customer_data.permissions import Visibility
from customer_data.selectors import (
    get_customer_data,
    list_accesses_to,
    list_consent_records,
    with_customer_data,
)
from profiles.models import Profile, avatar_colour_of, initials_of


def _members() -> QuerySet[Profile]:
    return Profile.objects.select_related("user", "rank").filter(user__is_active=True)


def _profile_page_query(level: Visibility) -> Callable[[], QuerySet[Profile]]:
    return lambda: with_customer_data(_members(), level).annotate(**role_annotations("user_id"))


# One prepared query per level (they join different columns): building and compiling it took
# 4.0 of the 9.4 ms a profile page spent as a Mitgestalter (profiled, 10,000 members, SQLite).
PROFILE_PAGES = {
    level: PreparedLookup(Profile, _profile_page_query(level), field="user__username")
    for level in Visibility
}


def get_profile_for_page(*, username: str, level: Visibility) -> Profile | None:
    """The profile behind /members/<username>/ with its roles, and customer data as far as
    `level` allows, in one query."""
    profile: Profile | None = PROFILE_PAGES[level].get(username)  # type: ignore[assignment]
    return profile


DIRECTORY_COLUMNS = {
    "username": F("user__username"),
    "joined": F("user__date_joined"),
    "rank_name": F("rank__name"),
}
RING_COLUMNS = {
    "consent": F("user__customer_data__consent"),
    "consent_version": F("user__customer_data__consent_version"),
    "filled_count": F("user__customer_data__filled_count"),
}


MEMBER_COUNT_CACHE_SECONDS = 30

# --- The members directory -------------------------------------------------------------------

# On PostgreSQL every order is read from an index, never sorted over all members: by name from
# `profile_directory_order`, by join date from `member_joined_order` (on the account), by rank
# from `profile_rank_order` and by fill level from `customerdata_fill_order`, one rank or
# level at a time (`MemberList`; SQLite sorts those two). Within a fill level members come in
# the order they joined (their account id): the order that index keeps each level in.
DIRECTORY_ORDER: dict[str, tuple[str | OrderBy, ...]] = {
    "name": ("display_name", "user_id"),
    "-name": ("-display_name", "-user_id"),
    # A member without a rank counts as below the lowest rank.
    "rank": (F("rank__order").desc(nulls_last=True), "display_name", "user_id"),
    "-rank": (F("rank__order").asc(nulls_first=True), "display_name", "user_id"),
    "joined": ("user__date_joined", "user_id"),
    "-joined": ("-user__date_joined", "-user_id"),
    # By fill level, for ring viewers only (`DirectoryForm` offers these to no one else).
    "fill": ("filled", "user_id"),
    "-fill": ("-filled", "user_id"),
}
# The directory's "Profildaten" filter: the fill counts (0–3 fields) each choice keeps.
FILL_FILTERS = {"incomplete": (0, 1, 2), "0": (0,), "33": (1,), "67": (2,), "100": (3,)}
FILL_LEVELS = tuple(range(FIELD_COUNT + 1))
FILL_ORDERS = ("fill", "-fill")
# The orders read one group at a time on PostgreSQL (`MemberList`), and the order within a group.
WITHIN_GROUP = {
    "rank": ("display_name", "user_id"),
    "-rank": ("display_name", "user_id"),
    "fill": ("user_id",),
    "-fill": ("user_id",),
}

# The name search on PostgreSQL looks names up in the trigram indexes of migration 0004, built
# over UPPER(immutable_unaccent(column)). A term with a run of at least `TRIGRAM` letters or
# digits is found anywhere in a name; a shorter one only at the start of a word, which the
# index can still look up (anywhere in a name, it would read the whole index). A term without
# any letter or digit finds no one.
TRIGRAM = 3
# What starts a word in a display name or a username, for the shorter terms.
WORD_START = r"(^|[ ._@+'/&,()-])"


class Unaccented(Func):
    """`immutable_unaccent()` of migration 0004 (PostgreSQL only)."""

    function = "immutable_unaccent"
    output_field = TextField()


class RegexEscaped(Func):
    """Its text with every character but letters, digits and spaces escaped for a regex."""

    function = "regexp_replace"
    output_field = TextField()

    def __init__(self, expression: Any) -> None:
        super().__init__(expression, Value(r"([^[:alnum:][:space:]])"), Value(r"\\\1"), Value("g"))


class BoundedCount(Subquery):
    """COUNT(*) of a sliced queryset: counts no further than its LIMIT."""

    template = "(SELECT COUNT(*) FROM (%(subquery)s) AS bounded)"
    output_field = IntegerField()


def _longest_word(term: str) -> int:
    return max((len(word) for word in re.split(r"\W+|_", term)), default=0)


class AmongArray(Lookup):
    """`lhs = ANY(ARRAY(subquery))`: the subquery runs first, and the planner combines the
    array with the other conditions (a BitmapOr of two indexes on PostgreSQL) and estimates the
    rest of the query from real statistics, where `IN (subquery)` would make it guess how many
    rows the subquery returns, and then sort them all."""

    lookup_name = "among_array"

    def as_sql(self, compiler: Any, connection: Any) -> tuple[str, tuple[Any, ...]]:
        lhs, lhs_params = self.process_lhs(compiler, connection)
        rhs, rhs_params = compiler.compile(self.rhs)
        return f"{lhs} = ANY(ARRAY{rhs})", (*lhs_params, *rhs_params)


def _name_match(column: str, term: str) -> Lookup:
    """`column` holds `term`, as the trigram index on it can look up (PostgreSQL)."""
    key, wanted = Upper(Unaccented(column)), Upper(Unaccented(Value(term)))
    if _longest_word(term) >= TRIGRAM:
        return Contains(key, wanted)
    return Regex(key, Concat(Value(WORD_START), RegexEscaped(wanted)))


def _search_condition(search: str) -> Q:
    if connection.vendor != "postgresql":
        return Q(display_name__icontains=search) | Q(user__username__icontains=search)
    if not _longest_word(search):
        return Q(pk__in=[])
    usernames = get_user_model()._default_manager.filter(_name_match("username", search))
    by_username = AmongArray(F("user_id"), Subquery(usernames.values("pk")))
    return Q(_name_match("display_name", search)) | Q(by_username)


def _member_filter(search: str) -> Q:
    # "not inactive" rather than "active": SQLite's planner takes `is_active = ?` for a
    # selective filter and scans every user, then sorts; this way it walks the
    # `profile_directory_order` index and stops after one page (8 ms -> 0.3 ms at 10,000).
    condition = ~Q(user__is_active=False)
    if search:
        condition &= _search_condition(search)
    return condition


def _fill_levels(levels: Iterable[int]) -> Q:
    """Members whose counted fields (`customer_data.models.counted_fields`) are one of
    `levels`, as an (anti-)join the customer-data index `customerdata_fill_order` answers:
    only data under the consent text in force counts."""
    counted = CustomerData.objects.filter(
        user_id=OuterRef("user_id"), consent=True, consent_version=settings.CONSENT_TEXT_VERSION
    )
    kept = set(levels)
    if 0 in kept:
        return ~Q(Exists(counted.filter(_filled_among(set(FILL_LEVELS) - kept))))
    return Q(Exists(counted.filter(_filled_among(kept))))


def _filled_among(levels: set[int]) -> Q:
    """`filled_count` one of `levels` (none of them 0), in the terms the partial index
    `customerdata_fill_order` (filled_count > 0) is known to cover."""
    if len(levels) == 1:
        return Q(filled_count=min(levels))
    if levels == set(FILL_LEVELS) - {0}:
        return Q(filled_count__gt=0)
    return Q(filled_count__in=sorted(levels))


def _count_all(parts: list[tuple[str, list[Any]]]) -> list[Any]:
    """Several counts (SQL and parameters of each, from `_bounded_sql` or another compiled
    queryset) in one query."""
    params = [param for _sql, part_params in parts for param in part_params]
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT {', '.join(sql for sql, _params in parts)}", params)
        return list(cursor.fetchone())


class MemberList:
    """The members the directory lists for one search, sort and fill filter, as Django's
    `Paginator` takes them: `count_bounded()` first, then one page by slicing.

    Rows are plain dicts (no model instances: 50 a page) with the members' staff roles
    (public, like the rank), and the ring columns for ring viewers.

    On PostgreSQL the rank and fill-level orders go one group at a time (a rank of the ladder,
    a fill level): each group is a range of its index in the group's own order (by name in a
    rank, by account in a fill level), so a page reads the rows it shows and the ones it skips,
    never all members sorted. `count_bounded()` also counts each group as far as the page
    reaches, in its one query; the page then reads the groups it spans, one LIMIT each, in
    one query. SQLite sorts (it has no more members than it can sort).
    """

    def __init__(
        self,
        members: QuerySet[Profile],
        *,
        order: str,
        filtered: bool,
        fill: str,
        level: Visibility,
    ) -> None:
        self._members = members
        self._order = order
        self._filtered = filtered
        self._fill = fill
        self._columns = {**DIRECTORY_COLUMNS, **(RING_COLUMNS if level.shows_ring else {})}
        self._grouped = order in WITHIN_GROUP and connection.vendor == "postgresql"
        # Set by `count_bounded()`: each group's members in their order, and how many of them
        # there are, counted up to `_through`.
        self._groups: list[QuerySet[Profile]] = []
        self._sizes: list[int] = []
        self._through = 0

    def count_bounded(self, *, up_to: int, through: int) -> int:
        """How many members there are, and never more than `up_to` + 1: the count stops there,
        so no page counts a million rows ("mehr als …" says the rest). Grouped orders also
        count their groups up to `through`, the end of the page to be shown.

        The unfiltered count is cached for half a minute: it only moves when members join or
        leave, and counting 10,000 rows on every page view costs more than the page itself.
        """
        key = f"profiles:member-count:{up_to}"
        total = None if self._filtered else cache.get(key)
        counts = [] if total is not None else [_bounded_sql(self._members, up_to + 1)]
        if self._grouped:
            counts += self._group_counts(through)
        if not counts:
            return int(total or 0)
        found = _count_all(counts)
        if total is None:
            total = found.pop(0)
            if not self._filtered:
                cache.set(key, total, MEMBER_COUNT_CACHE_SECONDS)
        if self._grouped:
            self._set_groups(found, through)
        return int(total)

    def __getitem__(self, window: slice) -> list[dict[str, Any]]:
        start, stop = window.start or 0, window.stop
        if not self._grouped:
            return list(self._rows(self._sorted())[start:stop])
        if stop > self._through:
            self._set_groups(_count_all(self._group_counts(stop)), stop)
        return self._grouped_page(start, stop)

    def _rows(self, members: QuerySet[Profile]) -> QuerySet:
        return members.values(
            "user_id", "display_name", "show_rank", **self._columns, **role_annotations("user_id")
        )

    def _sorted(self) -> QuerySet[Profile]:
        members = self._members
        if self._order in FILL_ORDERS:
            members = members.alias(filled=counted_fields_expression("user__customer_data__"))
        return members.order_by(*DIRECTORY_ORDER[self._order])

    # --- Grouped orders (PostgreSQL) ---

    def _group_counts(self, through: int) -> list[tuple[str, list[Any]]]:
        if self._order in FILL_ORDERS:
            return [_bounded_sql(group, through) for group in self._fill_groups()]
        # The ladder in order, each rank with its members counted, as one array of
        # [rank id, count] pairs; then the members without a rank.
        ladder = (
            Rank.objects.order_by("-order" if self._order == "rank" else "order")
            .annotate(
                size=BoundedCount(
                    self._members.filter(rank_id=OuterRef("pk")).order_by().values("pk")[:through]
                )
            )
            .values_list(Func(F("pk"), F("size"), template="ARRAY[%(expressions)s]"))
        )
        sql, params = ladder.query.sql_with_params()
        return [(f"ARRAY({sql})", list(params)), _bounded_sql(self._unranked(), through)]

    def _fill_groups(self) -> list[QuerySet[Profile]]:
        levels = sorted(FILL_FILTERS.get(self._fill, FILL_LEVELS), reverse=self._order == "-fill")
        return [self._members.filter(_fill_levels((level,))) for level in levels]

    def _unranked(self) -> QuerySet[Profile]:
        return self._members.filter(rank__isnull=True)

    def _set_groups(self, found: list[Any], through: int) -> None:
        if self._order in FILL_ORDERS:
            groups = list(zip(self._fill_groups(), found, strict=True))
        else:
            ladder, unranked = found
            ranked = [(self._members.filter(rank_id=pk), size) for pk, size in ladder or []]
            nobody = [(self._unranked(), unranked)]
            groups = [*ranked, *nobody] if self._order == "rank" else [*nobody, *ranked]
        self._groups = [group.order_by(*WITHIN_GROUP[self._order]) for group, _size in groups]
        self._sizes = [int(size or 0) for _group, size in groups]  # NULL: a search for no one
        self._through = through

    def _grouped_page(self, start: int, stop: int) -> list[dict[str, Any]]:
        """Rows `start` to `stop` of the groups one after another: from each group the part
        of it the page spans, by OFFSET and LIMIT within the group's index range."""
        parts = []
        first = 0
        for position, (group, size) in enumerate(zip(self._groups, self._sizes, strict=True)):
            low, high = max(start, first), min(stop, first + size)
            if low < high:
                rows = self._rows(group).annotate(position=Value(position))
                parts.append(rows[low - first : high - first])
            first += size
        if len(parts) < 2:
            return list(parts[0]) if parts else []
        page = parts[0].union(*parts[1:], all=True)
        return list(page.order_by("position", *WITHIN_GROUP[self._order]))


def _bounded_sql(members: QuerySet[Profile], limit: int) -> tuple[str, list[Any]]:
    try:
        sql, params = members.order_by().values("pk")[:limit].query.sql_with_params()
    except EmptyResultSet:  # a condition that finds no one, such as a search for "..."
        return "0", []
    # `sql` is Django's own compiled query; every value in it travels in `params`.
    return f"(SELECT COUNT(*) FROM ({sql}) AS bounded)", list(params)  # noqa: S608


def list_members(
    *, search: str = "", order: str = "name", fill: str = "", level: Visibility
) -> MemberList:
    """Active members for the directory (see `MemberList`), found by `search` in their display
    name or username.

    Nothing here touches customer data unless `level` lets the viewer see rings, and then
    only the ring columns; only then may `fill` filter and `order` sort by fill level (the
    form has already dropped both for anyone else; this refuses them once more).
    """
    if (fill or order in FILL_ORDERS) and not level.shows_ring:
        raise ValueError("filtering or sorting by fill level needs a ring viewer")
    members = Profile.objects.filter(_member_filter(search))
    if fill:
        members = members.filter(_fill_levels(FILL_FILTERS[fill]))
    return MemberList(members, order=order, filtered=bool(search or fill), fill=fill, level=level)


def directory_rows(rows: Iterable[dict[str, Any]], level: Visibility) -> list[dict[str, Any]]:
    """Add what each row shows: avatar initials and colour, and the ring when allowed."""
    for row in rows:
        row["initials"] = initials_of(row["display_name"])
        row["colour"] = avatar_colour_of(row["user_id"])
        row["roles"] = roles_from_row(row)
        if level.shows_ring:
            row["filled"] = counted_fields(
                consent=row["consent"],
                consent_version=row["consent_version"],
                filled_count=row["filled_count"],
            )
    return list(rows)


def list_access_log_for_member(*, user_id: int) -> QuerySet:
    """The member's own access log, newest first (each row names the viewer as they were)."""
    return list_accesses_to(subject_id=user_id)


def export_member_data(*, user: AbstractBaseUser) -> dict[str, Any]:
    """Everything stored about the member, for "Meine Daten herunterladen" (owner only)."""
    profile = _members().get(user_id=user.pk)
    data = get_customer_data(user_id=user.pk)
    return {
        "format": "telekom-hilft-community/member-export",
        "version": 1,
        "generated_at": timezone.now().isoformat(),
        "member": {
            "username": user.get_username(),
            "display_name": profile.display_name,
            "about": profile.about,
            "location": profile.location,
            "rank": profile.rank.name if profile.rank else None,
            "member_since": profile.user.date_joined.isoformat(),
            "language": profile.language,
            "time_zone": profile.time_zone,
            "show_rank": profile.show_rank,
        },
        "customer_data": None
        if data is None
        else {
            "consent": data.consent,
            "consent_is_current": data.consent_is_current,
            "consent_text_version": data.consent_version or None,
            "consented_at": _iso(data.consented_at),
            "customer_number": data.customer_number,
            "mobile_number": data.mobile_number,
            "further_info": data.further_info,
            "numbers_updated_at": _iso(data.numbers_updated_at),
            "further_info_updated_at": _iso(data.further_info_updated_at),
            "fill_percentage": data.fill_percentage,
            "updated_at": _iso(data.updated_at),
        },
        "consent_history": [
            {
                "action": record.action,
                "reason": record.reason,
                "consent_text_version": record.consent_text_version,
                "at": record.at.isoformat(),
            }
            for record in list_consent_records(user_id=user.pk)
        ],
        "access_log": [
            {
                "at": access.at.isoformat(),
                # As the viewer was named, and the roles they held, when they looked.
                "viewer": access.viewer_name or None,
                "viewer_roles": access.viewer_roles,
                "channel": access.channel,
                "fields": access.fields,
            }
            for access in list_access_log_for_member(user_id=user.pk)
        ],
    }


def _iso(value: datetime | None) -> str | None:
    return value.isoformat() if value else None
