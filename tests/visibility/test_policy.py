"""The policy module, unit level: every role, no queries."""

import pytest
from django.contrib.auth.models import AnonymousUser
from django.http import Http404

from customer_data.models import CustomerData
from customer_data.permissions import (
    POLICY,
    Visibility,
    access_customer_data,
    can_browse_access_log,
    can_use_staff_tools,
    can_view_others_rings,
    customer_data_visible_to,
    explain_policy,
    is_disclosure,
    shown_values,
    visibility,
)
from tests.conftest import load_viewer

pytestmark = pytest.mark.django_db

MATRIX = [
    ("anonymous", Visibility.NONE),
    ("member", Visibility.NONE),
    ("regular", Visibility.NONE),
    ("expert", Visibility.RING_ONLY),
    ("guide", Visibility.RING_ONLY),
    ("team", Visibility.FULL),
    ("cm", Visibility.FULL),
    ("admin", Visibility.NONE),
    ("owner", Visibility.FULL),
]


@pytest.fixture
def viewers(people):
    loaded = {name: load_viewer(user) for name, user in people.items()}
    loaded["anonymous"] = AnonymousUser()
    return loaded


@pytest.mark.parametrize(("who", "expected"), MATRIX)
def test_visibility_matrix_runs_no_queries(
    who, expected, viewers, people, django_assert_num_queries
):
    with django_assert_num_queries(0):
        assert visibility(viewers[who], people["owner"].pk) is expected


@pytest.mark.parametrize(("who", "expected"), MATRIX)
def test_only_staff_role_views_are_disclosures(who, expected, viewers, people):
    assert is_disclosure(viewers[who], people["owner"].pk) is (who in {"team", "cm"})


def test_superuser_and_staff_flags_grant_nothing(viewers, people):
    assert viewers["admin"].is_superuser
    assert visibility(viewers["admin"], people["owner"].pk) is Visibility.NONE
    assert not can_use_staff_tools(viewers["admin"])
    assert not can_view_others_rings(viewers["admin"])


def test_rings_in_lists_only_for_experienced_members_and_staff_roles(viewers):
    allowed = {name for name, viewer in viewers.items() if can_view_others_rings(viewer)}
    assert allowed == {"expert", "guide", "team", "cm"}


def test_only_community_management_browses_the_whole_access_log(viewers):
    assert {name for name, v in viewers.items() if can_browse_access_log(v)} == {"cm"}


def test_rank_change_counts_from_the_next_load(people, viewers):
    from community.models import Rank
    from profiles.models import Profile

    assert visibility(viewers["regular"], people["owner"].pk) is Visibility.NONE
    Profile.objects.filter(user=people["regular"]).update(
        rank=Rank.objects.get(code="mitgestalter")
    )
    assert visibility(load_viewer(people["regular"]), people["owner"].pk) is Visibility.RING_ONLY


def test_role_removal_counts_from_the_next_load(people):
    people["team"].groups.clear()
    assert visibility(load_viewer(people["team"]), people["owner"].pk) is Visibility.NONE


def test_shown_values_need_contents_rights_and_current_consent(people, settings):
    data = CustomerData(
        user=people["owner"], consent=True, consent_version=settings.CONSENT_TEXT_VERSION
    )
    data.customer_number = "123456"
    assert shown_values(Visibility.FULL, data) == {"customer_number": "123456"}
    assert shown_values(Visibility.RING_ONLY, data) == {}
    assert shown_values(Visibility.NONE, data) == {}
    settings.CONSENT_TEXT_VERSION = "newer"
    assert shown_values(Visibility.FULL, data) == {}


def test_access_helper_hides_missing_and_forbidden_alike(viewers, people):
    with pytest.raises(Http404):
        access_customer_data(viewers["member"], CustomerData(user=people["owner"]))
    with pytest.raises(Http404):
        access_customer_data(viewers["team"], None)
    assert (
        access_customer_data(viewers["expert"], CustomerData(user=people["owner"]))
        is Visibility.RING_ONLY
    )


def test_queryset_sibling_agrees_with_the_rule(viewers, people):
    for user in people.values():
        CustomerData.objects.create(user=user)
    everyone = CustomerData.objects.all()
    assert customer_data_visible_to(viewers["anonymous"], everyone).count() == 0
    assert list(
        customer_data_visible_to(viewers["member"], everyone).values_list("user_id", flat=True)
    ) == [people["member"].pk]
    assert customer_data_visible_to(viewers["guide"], everyone).count() == len(people)


def test_explanation_is_generated_from_the_policy_table():
    rows = explain_policy()
    assert [level for _label, level, _text in rows] == list(POLICY.values())
    assert any(level is Visibility.RING_ONLY for _l, level, _t in rows)
