"""The policy as enforced over HTTP: one table of every surface a role can reach.

The owner ("Olga Owner") has stored all three values. Each row is one request by one of the
nine demo roles and what it must get:

- status: the HTTP status code (302 is a redirect to a login page);
- values: whether the owner's three values are in the response (all three, or none of them
  in any form, not even encrypted);
- ring: whether the owner's fill state is shown (her data is complete, so it reads "100 %",
  in the ring or in the admin's column; a page about the viewer's own data shows the viewer's
  own ring instead, which reads 0 %);
- logged: how many access-log rows the request wrote (0 or 1). A search that finds the owner
  by her customer number is logged too, naming only the field searched.

A new surface is one new block of rows. Other HTTP methods on the surfaces that can show values
are in test_methods.py; what the pages say beyond this is in the other test modules.
"""

import re
from dataclasses import dataclass
from urllib.parse import urlencode

import pytest

from customer_data.models import ENCRYPTED_FIELDS, CustomerData, PersonalDataAccess
from tests.factories import (
    CUSTOMER_NUMBER,
    FURTHER_INFO,
    MOBILE_NUMBER,
    MOBILE_NUMBER_SHOWN,
    PersonalDataAccessFactory,
)
from tests.visibility.conftest import RING_MARKER, leaks

pytestmark = pytest.mark.django_db

ADMIN = "/admin/customer_data/customerdata/"
OWNER_ROW = 'class="member-link" href="/members/owner/"'
OWNER_RING = "100 %"


@dataclass(frozen=True)
class Surface:
    method: str
    path: str  # "{pk}": the id of the owner's customer data
    data: dict | None = None
    # What a 200 must contain, so that the row is about the owner's data (or, for the logs,
    # a page with rows) and not an empty page ("{owner_id}": the owner's user id).
    must_show: str | None = None
    # The channel under which a disclosure here is logged.
    channel: str | None = None
    # Whether the page shows the viewer's own ring (so "Profildaten ausgefüllt" may appear
    # even where the owner's ring must not).
    own_ring: bool = False
    # How the owner's fill state reads here: the ring, or the admin's "Ausgefüllt" column.
    ring_text: str = "100 % Profildaten ausgefüllt"
    # The fields a logged row names (all three for a view of the values).
    logged_fields: tuple[str, ...] = ENCRYPTED_FIELDS


SURFACES = {
    "profile page": Surface("GET", "/members/owner/", must_show="Olga Owner", channel="profile"),
    "directory": Surface("GET", "/members/", must_show=OWNER_ROW),
    "directory ?q=": Surface("GET", "/members/?q=olga", must_show=OWNER_ROW),
    "directory ?sort=": Surface("GET", "/members/?sort=rank", must_show=OWNER_ROW),
    "directory ?page=": Surface("GET", "/members/?page=1", must_show=OWNER_ROW),
    "directory ?q=&sort=": Surface("GET", "/members/?q=Owner&sort=-name", must_show=OWNER_ROW),
    "directory ?sort=&page=": Surface("GET", "/members/?sort=-joined&page=1", must_show=OWNER_ROW),
    "Profil tab": Surface("GET", "/settings/profile/", own_ring=True),
    "Einstellungen tab": Surface("GET", "/settings/preferences/"),
    "Datenschutz tab": Surface("GET", "/settings/privacy/", own_ring=True),
    "export": Surface("POST", "/settings/privacy/export/"),
    "erase (asks first)": Surface("POST", "/settings/privacy/erase/", own_ring=True),
    "preview": Surface("GET", "/settings/privacy/preview/", own_ring=True),
    "admin list": Surface("GET", ADMIN, must_show="Olga Owner", ring_text="100 %"),
    "admin list ?q=": Surface("GET", f"{ADMIN}?q=owner", must_show="Olga Owner", ring_text="100 %"),
    "admin change": Surface(
        "GET",
        f"{ADMIN}{{pk}}/change/",
        must_show="Olga Owner",
        channel="admin",
        ring_text="100 %",
    ),
    "admin search": Surface(
        "POST",
        f"{ADMIN}search/",
        data={"q": CUSTOMER_NUMBER},
        must_show="Olga Owner",
        channel="search_customer_number",
        ring_text="100 %",
        logged_fields=("customer_number",),
    ),
    "admin history": Surface(
        "GET", f"{ADMIN}{{pk}}/history/", must_show="Kundendaten von Olga Owner (owner)"
    ),
    "access log": Surface(
        "GET", "/admin/customer_data/personaldataaccess/", must_show="Tom vom Team"
    ),
    # The log lists the roles granted to `team` and `cm`.
    "role and rank log": Surface(
        "GET",
        "/admin/community/structurechange/",
        must_show='<td class="field-member_label">team</td>',
    ),
}

Y, N = True, False

# fmt: off
TABLE = [
    # surface                  viewer       status values ring logged
    ("profile page",           "anonymous", 200,   N,     N,   0),
    ("profile page",           "member",    200,   N,     N,   0),
    ("profile page",           "regular",   200,   N,     N,   0),
    ("profile page",           "expert",    200,   N,     Y,   0),
    ("profile page",           "guide",     200,   N,     Y,   0),
    ("profile page",           "team",      200,   Y,     Y,   1),
    ("profile page",           "cm",        200,   Y,     Y,   1),
    ("profile page",           "admin",     200,   N,     N,   0),
    ("profile page",           "owner",     200,   Y,     Y,   0),

    ("directory",              "anonymous", 200,   N,     N,   0),
    ("directory",              "member",    200,   N,     N,   0),
    ("directory",              "regular",   200,   N,     N,   0),
    ("directory",              "expert",    200,   N,     Y,   0),
    ("directory",              "guide",     200,   N,     Y,   0),
    ("directory",              "team",      200,   N,     Y,   0),
    ("directory",              "cm",        200,   N,     Y,   0),
    ("directory",              "admin",     200,   N,     N,   0),
    ("directory",              "owner",     200,   N,     N,   0),

    ("directory ?q=",          "anonymous", 200,   N,     N,   0),
    ("directory ?q=",          "member",    200,   N,     N,   0),
    ("directory ?q=",          "regular",   200,   N,     N,   0),
    ("directory ?q=",          "expert",    200,   N,     Y,   0),
    ("directory ?q=",          "guide",     200,   N,     Y,   0),
    ("directory ?q=",          "team",      200,   N,     Y,   0),
    ("directory ?q=",          "cm",        200,   N,     Y,   0),
    ("directory ?q=",          "admin",     200,   N,     N,   0),
    ("directory ?q=",          "owner",     200,   N,     N,   0),

    ("directory ?sort=",       "anonymous", 200,   N,     N,   0),
    ("directory ?sort=",       "member",    200,   N,     N,   0),
    ("directory ?sort=",       "regular",   200,   N,     N,   0),
    ("directory ?sort=",       "expert",    200,   N,     Y,   0),
    ("directory ?sort=",       "guide",     200,   N,     Y,   0),
    ("directory ?sort=",       "team",      200,   N,     Y,   0),
    ("directory ?sort=",       "cm",        200,   N,     Y,   0),
    ("directory ?sort=",       "admin",     200,   N,     N,   0),
    ("directory ?sort=",       "owner",     200,   N,     N,   0),

    ("directory ?page=",       "anonymous", 200,   N,     N,   0),
    ("directory ?page=",       "member",    200,   N,     N,   0),
    ("directory ?page=",       "regular",   200,   N,     N,   0),
    ("directory ?page=",       "expert",    200,   N,     Y,   0),
    ("directory ?page=",       "guide",     200,   N,     Y,   0),
    ("directory ?page=",       "team",      200,   N,     Y,   0),
    ("directory ?page=",       "cm",        200,   N,     Y,   0),
    ("directory ?page=",       "admin",     200,   N,     N,   0),
    ("directory ?page=",       "owner",     200,   N,     N,   0),

    ("directory ?q=&sort=",    "anonymous", 200,   N,     N,   0),
    ("directory ?q=&sort=",    "member",    200,   N,     N,   0),
    ("directory ?q=&sort=",    "regular",   200,   N,     N,   0),
    ("directory ?q=&sort=",    "expert",    200,   N,     Y,   0),
    ("directory ?q=&sort=",    "guide",     200,   N,     Y,   0),
    ("directory ?q=&sort=",    "team",      200,   N,     Y,   0),
    ("directory ?q=&sort=",    "cm",        200,   N,     Y,   0),
    ("directory ?q=&sort=",    "admin",     200,   N,     N,   0),
    ("directory ?q=&sort=",    "owner",     200,   N,     N,   0),

    ("directory ?sort=&page=", "anonymous", 200,   N,     N,   0),
    ("directory ?sort=&page=", "member",    200,   N,     N,   0),
    ("directory ?sort=&page=", "regular",   200,   N,     N,   0),
    ("directory ?sort=&page=", "expert",    200,   N,     Y,   0),
    ("directory ?sort=&page=", "guide",     200,   N,     Y,   0),
    ("directory ?sort=&page=", "team",      200,   N,     Y,   0),
    ("directory ?sort=&page=", "cm",        200,   N,     Y,   0),
    ("directory ?sort=&page=", "admin",     200,   N,     N,   0),
    ("directory ?sort=&page=", "owner",     200,   N,     N,   0),

    # Everyone's own settings: only the owner's show her data.
    ("Profil tab",             "anonymous", 302,   N,     N,   0),
    ("Profil tab",             "member",    200,   N,     N,   0),
    ("Profil tab",             "regular",   200,   N,     N,   0),
    ("Profil tab",             "expert",    200,   N,     N,   0),
    ("Profil tab",             "guide",     200,   N,     N,   0),
    ("Profil tab",             "team",      200,   N,     N,   0),
    ("Profil tab",             "cm",        200,   N,     N,   0),
    ("Profil tab",             "admin",     200,   N,     N,   0),
    ("Profil tab",             "owner",     200,   Y,     Y,   0),

    ("Einstellungen tab",      "anonymous", 302,   N,     N,   0),
    ("Einstellungen tab",      "member",    200,   N,     N,   0),
    ("Einstellungen tab",      "regular",   200,   N,     N,   0),
    ("Einstellungen tab",      "expert",    200,   N,     N,   0),
    ("Einstellungen tab",      "guide",     200,   N,     N,   0),
    ("Einstellungen tab",      "team",      200,   N,     N,   0),
    ("Einstellungen tab",      "cm",        200,   N,     N,   0),
    ("Einstellungen tab",      "admin",     200,   N,     N,   0),
    ("Einstellungen tab",      "owner",     200,   N,     N,   0),

    ("Datenschutz tab",        "anonymous", 302,   N,     N,   0),
    ("Datenschutz tab",        "member",    200,   N,     N,   0),
    ("Datenschutz tab",        "regular",   200,   N,     N,   0),
    ("Datenschutz tab",        "expert",    200,   N,     N,   0),
    ("Datenschutz tab",        "guide",     200,   N,     N,   0),
    ("Datenschutz tab",        "team",      200,   N,     N,   0),
    ("Datenschutz tab",        "cm",        200,   N,     N,   0),
    ("Datenschutz tab",        "admin",     200,   N,     N,   0),
    ("Datenschutz tab",        "owner",     200,   N,     Y,   0),

    ("export",                 "anonymous", 302,   N,     N,   0),
    ("export",                 "member",    200,   N,     N,   0),
    ("export",                 "regular",   200,   N,     N,   0),
    ("export",                 "expert",    200,   N,     N,   0),
    ("export",                 "guide",     200,   N,     N,   0),
    ("export",                 "team",      200,   N,     N,   0),
    ("export",                 "cm",        200,   N,     N,   0),
    ("export",                 "admin",     200,   N,     N,   0),
    ("export",                 "owner",     200,   Y,     N,   0),

    ("erase (asks first)",     "anonymous", 302,   N,     N,   0),
    ("erase (asks first)",     "member",    200,   N,     N,   0),
    ("erase (asks first)",     "regular",   200,   N,     N,   0),
    ("erase (asks first)",     "expert",    200,   N,     N,   0),
    ("erase (asks first)",     "guide",     200,   N,     N,   0),
    ("erase (asks first)",     "team",      200,   N,     N,   0),
    ("erase (asks first)",     "cm",        200,   N,     N,   0),
    ("erase (asks first)",     "admin",     200,   N,     N,   0),
    ("erase (asks first)",     "owner",     200,   N,     Y,   0),

    ("preview",                "anonymous", 302,   N,     N,   0),
    ("preview",                "member",    200,   N,     N,   0),
    ("preview",                "regular",   200,   N,     N,   0),
    ("preview",                "expert",    200,   N,     N,   0),
    ("preview",                "guide",     200,   N,     N,   0),
    ("preview",                "team",      200,   N,     N,   0),
    ("preview",                "cm",        200,   N,     N,   0),
    ("preview",                "admin",     200,   N,     N,   0),
    ("preview",                "owner",     200,   N,     Y,   0),

    # The staff admin: the two roles only; a superuser without a role is refused.
    ("admin list",             "anonymous", 302,   N,     N,   0),
    ("admin list",             "member",    302,   N,     N,   0),
    ("admin list",             "regular",   302,   N,     N,   0),
    ("admin list",             "expert",    302,   N,     N,   0),
    ("admin list",             "guide",     302,   N,     N,   0),
    ("admin list",             "team",      200,   N,     Y,   0),
    ("admin list",             "cm",        200,   N,     Y,   0),
    ("admin list",             "admin",     403,   N,     N,   0),
    ("admin list",             "owner",     302,   N,     N,   0),

    ("admin list ?q=",         "anonymous", 302,   N,     N,   0),
    ("admin list ?q=",         "member",    302,   N,     N,   0),
    ("admin list ?q=",         "regular",   302,   N,     N,   0),
    ("admin list ?q=",         "expert",    302,   N,     N,   0),
    ("admin list ?q=",         "guide",     302,   N,     N,   0),
    ("admin list ?q=",         "team",      200,   N,     Y,   0),
    ("admin list ?q=",         "cm",        200,   N,     Y,   0),
    ("admin list ?q=",         "admin",     403,   N,     N,   0),
    ("admin list ?q=",         "owner",     302,   N,     N,   0),

    ("admin change",           "anonymous", 302,   N,     N,   0),
    ("admin change",           "member",    302,   N,     N,   0),
    ("admin change",           "regular",   302,   N,     N,   0),
    ("admin change",           "expert",    302,   N,     N,   0),
    ("admin change",           "guide",     302,   N,     N,   0),
    ("admin change",           "team",      200,   Y,     Y,   1),
    ("admin change",           "cm",        200,   Y,     Y,   1),
    ("admin change",           "admin",     403,   N,     N,   0),
    ("admin change",           "owner",     302,   N,     N,   0),

    ("admin search",           "anonymous", 302,   N,     N,   0),
    ("admin search",           "member",    302,   N,     N,   0),
    ("admin search",           "regular",   302,   N,     N,   0),
    ("admin search",           "expert",    302,   N,     N,   0),
    ("admin search",           "guide",     302,   N,     N,   0),
    ("admin search",           "team",      200,   N,     Y,   1),
    ("admin search",           "cm",        200,   N,     Y,   1),
    ("admin search",           "admin",     403,   N,     N,   0),
    ("admin search",           "owner",     302,   N,     N,   0),

    ("admin history",          "anonymous", 302,   N,     N,   0),
    ("admin history",          "member",    302,   N,     N,   0),
    ("admin history",          "regular",   302,   N,     N,   0),
    ("admin history",          "expert",    302,   N,     N,   0),
    ("admin history",          "guide",     302,   N,     N,   0),
    ("admin history",          "team",      200,   N,     N,   0),
    ("admin history",          "cm",        200,   N,     N,   0),
    ("admin history",          "admin",     403,   N,     N,   0),
    ("admin history",          "owner",     302,   N,     N,   0),

    # The two logs: Community Management alone.
    ("access log",             "anonymous", 302,   N,     N,   0),
    ("access log",             "member",    302,   N,     N,   0),
    ("access log",             "regular",   302,   N,     N,   0),
    ("access log",             "expert",    302,   N,     N,   0),
    ("access log",             "guide",     302,   N,     N,   0),
    ("access log",             "team",      403,   N,     N,   0),
    ("access log",             "cm",        200,   N,     N,   0),
    ("access log",             "admin",     403,   N,     N,   0),
    ("access log",             "owner",     302,   N,     N,   0),

    ("role and rank log",      "anonymous", 302,   N,     N,   0),
    ("role and rank log",      "member",    302,   N,     N,   0),
    ("role and rank log",      "regular",   302,   N,     N,   0),
    ("role and rank log",      "expert",    302,   N,     N,   0),
    ("role and rank log",      "guide",     302,   N,     N,   0),
    ("role and rank log",      "team",      403,   N,     N,   0),
    ("role and rank log",      "cm",        200,   N,     N,   0),
    ("role and rank log",      "admin",     403,   N,     N,   0),
    ("role and rank log",      "owner",     302,   N,     N,   0),
]
# fmt: on


@pytest.fixture
def logged_view(people, owner_data):
    """An earlier view of the owner's data by "Tom vom Team", so the access log has a row."""
    return PersonalDataAccessFactory(subject=people["owner"])


def shows_all_values(text: str) -> bool:
    return all(
        (
            CUSTOMER_NUMBER in text,
            MOBILE_NUMBER in text or MOBILE_NUMBER_SHOWN in text,
            FURTHER_INFO in text,
        )
    )


@pytest.mark.parametrize(
    ("surface", "who", "status", "values", "ring", "logged"),
    [pytest.param(*row, id=f"{row[0]}-{row[1]}") for row in TABLE],
)
def test_role_surface_table(
    surface, who, status, values, ring, logged, client_for, people, owner_data, logged_view
):
    page = SURFACES[surface]
    path = page.path.format(pk=owner_data.pk)
    before = set(PersonalDataAccess.objects.values_list("pk", flat=True))

    response = client_for(who).generic(
        page.method,
        path,
        data=urlencode(page.data or {}),
        content_type="application/x-www-form-urlencoded",
    )

    text = response.content.decode()
    assert response.status_code == status
    if status == 302:  # to the site's login, or the admin's for members who are not staff
        assert re.match(r"/(accounts|admin)/login/\?next=", response["Location"])
    if page.must_show:  # and a refusal shows nothing of it
        shown = page.must_show.format(owner_id=owner_data.user_id) in text
        assert shown is (status == 200)
    # Values: all three or none, and never as ciphertext.
    if values:
        assert shows_all_values(text)
        assert "gAAAAA" not in text
    else:
        assert leaks(text) == []
        # The stored info's opening words ("Rückrufnummer" is the Handynummer's help text).
        assert "Rückruf bitte" not in text
    # The owner's ring; and no ring at all where neither hers nor the viewer's own belongs.
    assert (OWNER_RING in text) is ring
    if ring:
        assert page.ring_text in text
    if not ring and not page.own_ring:
        assert RING_MARKER not in text
    # Exactly the disclosures are logged, with who, whose, where and which fields.
    written = PersonalDataAccess.objects.exclude(pk__in=before)
    assert written.count() == logged
    if logged:
        row = written.get()
        assert (row.viewer, row.subject, row.channel) == (
            people[who],
            people["owner"],
            page.channel,
        )
        assert row.fields == list(page.logged_fields)
    # Looking never changes what is stored (the erasure asks first).
    assert CustomerData.objects.get(pk=owner_data.pk).filled_count == 3
