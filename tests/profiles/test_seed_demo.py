"""The demo data command."""

import pytest
from django.contrib.auth import get_user_model
from django.core.management import CommandError, call_command

from community.models import StaffRole
from community.roles import rank_is_experienced, staff_roles
from tests.conftest import load_viewer

pytestmark = pytest.mark.django_db
DEMO = ["member", "member2", "regular", "expert", "guide", "team", "cm", "admin"]


def test_seed_demo_refuses_without_password_when_debug_is_off(settings):
    settings.DEBUG = False
    with pytest.raises(CommandError, match="--password"):
        call_command("seed_demo")
    assert not get_user_model().objects.exists()


def test_seed_demo_is_idempotent_and_sets_ranks_roles_and_staff(settings):
    call_command("seed_demo", password="pw-one-123")
    call_command("seed_demo", password="pw-one-123")
    users = {u.username: load_viewer(u) for u in get_user_model().objects.all()}
    assert sorted(users) == sorted(DEMO)
    assert users["member"].profile.rank.code == "neuling"
    assert users["regular"].profile.rank.code == "stammgast"
    assert not rank_is_experienced(users["regular"])
    assert rank_is_experienced(users["expert"])
    assert users["guide"].profile.rank.code == "community-guide"
    assert staff_roles(users["team"]) == {StaffRole.TELEKOM_HILFT_TEAM}
    assert staff_roles(users["cm"]) == {StaffRole.COMMUNITY_MANAGEMENT}
    assert staff_roles(users["admin"]) == frozenset()
    assert users["admin"].is_superuser
    assert users["team"].is_staff
    assert users["cm"].is_staff
    assert not users["member"].is_staff
    assert users["member"].profile.about


def test_seed_demo_updates_the_password(settings):
    call_command("seed_demo", password="first-pass-1")
    call_command("seed_demo", password="second-pass-2")
    assert get_user_model().objects.get(username="expert").check_password("second-pass-2")


def test_seed_demo_uses_a_default_password_in_debug(settings):
    settings.DEBUG = True
    call_command("seed_demo")
    assert get_user_model().objects.get(username="member").check_password("demo")
