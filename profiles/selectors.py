"""Reads of profiles and members."""

from collections.abc import Callable, Iterable
from datetime import datetime
from typing import Any

from django.contrib.auth.models import AbstractBaseUser
from django.core.cache import cache
from django.db.models import F, Q, QuerySet
from django.utils import timezone

from community.prepared import PreparedLookup
from community.roles import role_annotations, roles_from_row
from customer_data.models import counted_fields, counted_fields_expression
from customer_data.permissions import Visibility
from customer_data.selectors import (
    get_customer_data,
    list_accesses_to,
    list_consent_records,
    with_customer_data,
)
from profiles.models import Profile, avatar_colour_of, initials_of

DIRECTORY_ORDER = {
    "name": ("display_name", "user_id"),
    "-name": ("-display_name", "-user_id"),
    "rank": ("-rank__order", "display_name"),
    "-rank": ("rank__order", "display_name"),
    "joined": ("user__date_joined", "user_id"),
    "-joined": ("-user__date_joined", "-user_id"),
    # By fill level, for ring viewers only (`DirectoryForm` offers these to no one else).
    "fill": ("filled", "display_name", "user_id"),
    "-fill": ("-filled", "display_name", "user_id"),
}
# The directory's "Profildaten" filter: the fill counts (0–3 fields) each choice keeps.
FILL_FILTERS = {"incomplete": (0, 1, 2), "0": (0,), "33": (1,), "67": (2,), "100": (3,)}


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


def _member_filter(search: str) -> Q:
    # "not inactive" rather than "active": SQLite's planner takes `is_active = ?` for a
    # selective filter and scans every user, then sorts; this way it walks the
    # `profile_directory_order` index and stops after one page (8 ms -> 0.3 ms at 10,000).
    condition = ~Q(user__is_active=False)
    if search:
        condition &= Q(display_name__icontains=search) | Q(user__username__icontains=search)
    return condition


def _with_fill(members: QuerySet[Profile], fill: str) -> QuerySet[Profile]:
    """Members whose counted fields are among those the "Profildaten" choice `fill` keeps."""
    annotated = members.alias(filled=counted_fields_expression("user__customer_data__"))
    return annotated.filter(filled__in=FILL_FILTERS[fill])


def count_members(*, search: str = "", fill: str = "", up_to: int) -> int:
    """How many members the directory lists, counted without the page's joins (but the one to
    customer data when filtered by fill level), and never more than `up_to` + 1: the count
    stops there, so no page counts a million rows ("mehr als …" says the rest).

    The unfiltered count is cached for half a minute: it only moves when members join or
    leave, and counting 10,000 rows on every page view costs more than the page itself.
    """
    members = Profile.objects.filter(_member_filter(search)).order_by()
    if fill:
        members = _with_fill(members, fill)
    if search or fill:
        return members[: up_to + 1].count()
    count = cache.get_or_set(
        f"profiles:member-count:{up_to}",
        lambda: members[: up_to + 1].count(),
        MEMBER_COUNT_CACHE_SECONDS,
    )
    return int(count or 0)


def list_members(
    *, search: str = "", order: str = "name", fill: str = "", level: Visibility
) -> QuerySet:
    """Active members for the directory, as plain rows (no model instances: 50 a page), with
    their staff roles (public, like the rank).

    Nothing here touches customer data unless `level` lets the viewer see rings, and then
    only the ring columns; only then may `fill` filter and `order` sort by fill level (the
    form has already dropped both for anyone else; this refuses them once more).
    """
    uses_fill = bool(fill) or order in ("fill", "-fill")
    if uses_fill and not level.shows_ring:
        raise ValueError("filtering or sorting by fill level needs a ring viewer")
    columns = {**DIRECTORY_COLUMNS, **(RING_COLUMNS if level.shows_ring else {})}
    qs = Profile.objects.filter(_member_filter(search))
    if fill:
        qs = _with_fill(qs, fill)
    elif uses_fill:
        qs = qs.alias(filled=counted_fields_expression("user__customer_data__"))
    return qs.order_by(*DIRECTORY_ORDER[order]).values(
        "user_id", "display_name", "show_rank", **columns, **role_annotations("user_id")
    )


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
