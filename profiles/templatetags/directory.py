"""Rows of the members directory, built in Python.

A directory page has 50 rows; rendered through the template engine (or even `format_html`)
they cost most of the page's time, so each row is put together here from strings, every
value escaped with `html.escape`.
"""

import functools
from datetime import date
from html import escape
from typing import Any
from urllib.parse import quote

from django import template
from django.utils import formats, timezone
from django.utils.safestring import SafeString, mark_safe
from django.utils.translation import get_language

from customer_data.templatetags.customer_data import fill_ring

register = template.Library()


@functools.lru_cache(maxsize=4096)
def _short_date(day: date, language: str) -> str:
    # Django's date formatting parses the format on every call; a page repeats few dates.
    return formats.date_format(day, "SHORT_DATE_FORMAT")


@register.simple_tag
def member_row(row: dict[str, Any], members_url: str, shows_ring: bool) -> SafeString:
    joined = _short_date(timezone.localdate(row["joined"]), get_language() or "")
    rank = row["rank_name"] if row["show_rank"] and row["rank_name"] else ""
    ring = f"<td>{fill_ring(row['filled'])}</td>" if shows_ring else ""
    href = escape(f"{members_url}{quote(row['username'])}/")
    return mark_safe(  # noqa: S308 (every value below is escaped; the ring is safe markup)
        f'<tr><td><a class="member-link" href="{href}"><span class="avatar '
        f'avatar-c{int(row["colour"])}" aria-hidden="true">{escape(row["initials"])}</span> '
        f"{escape(row['display_name'])}</a></td><td>{escape(rank)}</td>"
        f"<td>{escape(joined)}</td>{ring}</tr>"
    )
