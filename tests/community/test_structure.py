"""The rank ladder and the staff roles."""

import pytest
from django.contrib.auth.models import Group

from community.models import Rank, RoleGroup, StaffRole
from community.roles import rank_is_experienced, staff_roles
from profiles.models import Profile
from tests.conftest import load_viewer
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db


def test_migration_seeds_the_demo_ladder_in_order():
    assert list(Rank.objects.values_list("name", flat=True)) == [
        "Neuling",
        "Aufsteiger",
        "Stammgast",
        "Mitgestalter",
        "Community Guide",
    ]


def test_migration_creates_both_staff_role_groups_with_stable_codes():
    codes = dict(RoleGroup.objects.values_list("code", "group__name"))
    assert codes == {
        "telekom-hilft-team": "Telekom hilft Team",
        "community-management": "Community Management",
    }


@pytest.mark.parametrize(
    ("rank", "experienced"),
    [
        ("neuling", False),
        ("aufsteiger", False),
        ("stammgast", False),
        ("mitgestalter", True),
        ("community-guide", True),
    ],
)
def test_rank_at_least_mitgestalter_follows_the_ladder(rank, experienced):
    user = UserFactory(rank=rank)
    assert rank_is_experienced(load_viewer(user)) is experienced
    # The same answer for a user not loaded through the request path (one query then).
    assert rank_is_experienced(type(user).objects.get(pk=user.pk)) is experienced


def test_new_users_start_on_the_lowest_rank():
    user = UserFactory()
    assert Profile.objects.get(user=user).rank.code == "neuling"


def test_threshold_compares_ladder_order_not_names():
    user = UserFactory(rank="stammgast")
    Rank.objects.filter(code="mitgestalter").update(name="Umbenannt")
    assert rank_is_experienced(load_viewer(user)) is False
    # Move Stammgast above the threshold: order decides, from the next load on.
    Rank.objects.filter(code="stammgast").update(order=45)
    assert rank_is_experienced(load_viewer(user)) is True


def test_threshold_rank_is_a_setting(settings):
    user = UserFactory(rank="mitgestalter")
    settings.COMMUNITY_RING_MIN_RANK = "community-guide"
    assert rank_is_experienced(load_viewer(user)) is False
    settings.COMMUNITY_RING_MIN_RANK = "stammgast"
    assert rank_is_experienced(load_viewer(UserFactory(rank="stammgast"))) is True


def test_unknown_threshold_rank_fails_closed(settings):
    settings.COMMUNITY_RING_MIN_RANK = "does-not-exist"
    assert rank_is_experienced(load_viewer(UserFactory(rank="community-guide"))) is False


def test_roles_are_read_by_code_even_after_the_group_is_renamed():
    user = UserFactory(role=StaffRole.TELEKOM_HILFT_TEAM)
    Group.objects.filter(staff_role__code=StaffRole.TELEKOM_HILFT_TEAM).update(name="THT neu")
    assert staff_roles(load_viewer(user)) == {StaffRole.TELEKOM_HILFT_TEAM}
    assert staff_roles(type(user).objects.get(pk=user.pk)) == {StaffRole.TELEKOM_HILFT_TEAM}


def test_superuser_holds_no_role():
    admin = UserFactory(is_superuser=True, is_staff=True)
    assert staff_roles(load_viewer(admin)) == frozenset()


def test_loading_the_viewer_is_one_query(django_assert_num_queries):
    user = UserFactory(rank="mitgestalter", role=StaffRole.COMMUNITY_MANAGEMENT)
    with django_assert_num_queries(1):
        viewer = load_viewer(user)
        assert viewer.profile.rank.code == "mitgestalter"
        assert staff_roles(viewer) == {StaffRole.COMMUNITY_MANAGEMENT}
        assert rank_is_experienced(viewer) is True
