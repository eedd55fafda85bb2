"""The header's fragments (brand and navigation, the avatar menu) are kept in the "fragments"
cache: a new display name, username or language shows on the next page, no member ever sees
another's menu, and the forms around them still carry a fresh, working CSRF token."""

import re

import pytest
from django.contrib.auth import get_user_model
from django.core.cache import caches
from django.test import Client

from profiles.models import Profile

pytestmark = pytest.mark.django_db


def avatar_menu(html: str) -> str:
    found = re.search(r'<details class="avatar-menu".*?</details>', html, re.S)
    assert found, "no avatar menu"
    return found.group(0)


def header(html: str) -> str:
    found = re.search(r'<header class="site-header">.*?</header>', html, re.S)
    assert found, "no header"
    return found.group(0)


def home(client: Client) -> str:
    response = client.get("/")
    assert response.status_code == 200
    return response.text


def test_a_new_display_name_or_username_shows_in_the_menu_at_once(client_for, people):
    client = client_for("owner")
    assert "Menü von Olga Owner" in avatar_menu(home(client))
    Profile.objects.filter(user=people["owner"]).update(display_name="Petra Neu")
    menu = avatar_menu(home(client))
    assert "Menü von Petra Neu" in menu
    assert ">PN</span>" in menu  # the initials follow the name
    get_user_model().objects.filter(pk=people["owner"].pk).update(username="petra")
    assert 'href="/members/petra/"' in avatar_menu(home(client))


def test_the_language_shows_in_the_header_at_once(client_for, people):
    client = client_for("owner")
    assert "Meine Einstellungen" in avatar_menu(home(client))
    Profile.objects.filter(user=people["owner"]).update(language="en")
    page = home(client)
    assert "My settings" in avatar_menu(page)
    assert ">Members</a>" in header(page)
    assert "Abmelden" not in header(page)


def test_no_member_gets_anothers_menu(client_for):
    menus = {who: avatar_menu(home(client_for(who))) for who in ("owner", "member", "team")}
    assert "Olga Owner" in menus["owner"]
    assert "Olga Owner" not in menus["member"] + menus["team"]
    assert len(set(menus.values())) == 3
    assert "avatar-menu" not in home(Client())  # and the anonymous header has none


def test_the_current_page_is_marked_in_the_cached_navigation(client_for):
    client = client_for("member")
    assert 'aria-current="page"' not in header(home(client))
    directory = client.get("/members/").text
    assert re.search(r'href="/members/"\s+aria-current="page"', header(directory))
    assert 'aria-current="page"' not in header(home(client))


def test_each_page_has_its_own_working_csrf_token_around_the_cached_parts(people, login):
    client = login(people["member"], Client(enforce_csrf_checks=True))
    tokens = [
        re.findall(r'name="csrfmiddlewaretoken" value="([^"]+)"', header(home(client)))
        for _ in range(2)
    ]
    assert all(len(found) == 2 for found in tokens)  # language switch and logout
    assert tokens[0] != tokens[1]  # masked anew for each page, never taken from the cache
    logout = client.post("/accounts/logout/", {"csrfmiddlewaretoken": tokens[1][1]})
    assert logout.status_code == 302
    assert "avatar-menu" not in home(client)


def test_the_header_is_rendered_once_and_then_read_from_the_fragments_cache(client_for):
    fragments = caches["fragments"]
    fragments.clear()
    home(client_for("member"))
    names = {key.split(".")[2].strip('"') for key in fragments._cache}  # template.cache."name".hash
    assert {"site-header", "avatar-menu", "avatar-menu-end"} <= names
