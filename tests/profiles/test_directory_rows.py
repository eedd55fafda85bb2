"""Directory rows are built in Python: everything a member typed is escaped."""

import pytest

from profiles.models import Profile
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db


def test_names_are_escaped_in_directory_rows(client):
    user = UserFactory(username="x.y+z@a")
    Profile.objects.filter(user=user).update(display_name='<img src=x onerror="alert(1)">')
    text = client.get("/members/").text
    assert '<img src=x onerror="alert(1)">' not in text
    assert "&lt;img src=x onerror=&quot;alert(1)&quot;&gt;" in text
    assert 'href="/members/x.y%2Bz%40a/"' in text


def test_rank_shows_only_when_the_member_allows_it(client):
    shown = UserFactory(username="shown", rank="stammgast")
    hidden = UserFactory(username="hidden", rank="community-guide")
    Profile.objects.filter(user=hidden).update(show_rank=False)
    text = client.get("/members/").text
    row = lambda name: text[text.index(f'href="/members/{name}/"') :].split("</tr>")[0]  # noqa: E731
    assert "Stammgast" in row(shown.username)
    assert "Community Guide" not in row(hidden.username)
