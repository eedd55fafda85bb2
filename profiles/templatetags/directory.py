"""Rows of the members directory, built in Python.

A directory page has 50 rows; rendered through the template engine (or even `format_html`)
they cost most of the page's time, so each row is put together here from strings, every
value escaped with `html.escape`.
"""

from html import escape
from typing import Any
from urllib.parse import quote

from django import template
from django.utils import formats, timezone
from django.utils.safestring import SafeString, mark_safe

from customer_data.templatetags.customer_data import fill_ring

register = template.Library()


@register.simple_tag
def member_row(row: dict[str, Any], members_url: str, shows_ring: bool) -> SafeString:
    joined = formats.date_format(timezone.localtime(row["joined"]), "SHORT_DATE_FORMAT")
    rank = row["rank_name"] if row["show_rank"] and row["rank_name"] else ""
    ring = f"<td>{fill_ring(row['filled'])}</td>" if shows_ring else ""
    href = escape(f"{members_url}{quote(row['username'])}/")
    return mark_safe(  # noqa: S308 (every value below is escaped; the ring is safe markup)
        f'<tr><td><a class="member-link" href="{href}"><span class="avatar '
        f'avatar-c{int(row["colour"])}" aria-hidden="true">{escape(row["initials"])}</span> '
        f"{escape(row['display_name'])}</a></td><td>{escape(rank)}</td>"
        f"<td>{escape(joined)}</td>{ring}</tr>"
    )
