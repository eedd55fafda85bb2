"""What staff leave behind: the access log tells the truth about who looked, role grants are
logged with who granted them, a customer number never lands in a URL or a log line, and the
account admin names no customer-data objects."""

import logging
import re

import pytest
from django.contrib.auth.models import Group
from django.test import Client

from community.models import Rank, RoleGroup, StaffRole, StructureChange
from customer_data.models import ConsentRecord, CustomerData, PersonalDataAccess
from profiles.models import Profile
from tests.factories import CUSTOMER_NUMBER
from tests.visibility.conftest import leaks

pytestmark = pytest.mark.django_db

PRIVACY = "/settings/privacy/"
SEARCH = "/admin/customer_data/customerdata/search/"


# --- The access log names the viewer as they were ---


def test_a_rename_after_the_view_does_not_rewrite_the_log(people, client_for, owner_data):
    Profile.objects.filter(user=people["team"]).update(display_name="Tom vom Team")
    client_for("team").get("/members/owner/")
    Profile.objects.filter(user=people["team"]).update(display_name="gelöschtes Konto")

    page = client_for("owner").get(PRIVACY).text
    export = client_for("owner").post("/settings/privacy/export/").json()

    assert "Tom vom Team" in page
    assert export["access_log"][0]["viewer"] == "Tom vom Team"
    assert export["access_log"][0]["viewer_roles"] == [StaffRole.TELEKOM_HILFT_TEAM.value]


def test_a_role_granted_used_and_revoked_still_shows_in_the_log(people, client_for, owner_data):
    admin = people["admin"]
    group = RoleGroup.objects.get(code=StaffRole.TELEKOM_HILFT_TEAM).group
    admin.groups.add(group)
    assert leaks(client_for("admin").get("/members/owner/").text)
    admin.groups.remove(group)

    page = client_for("owner").get(PRIVACY).text
    row = PersonalDataAccess.objects.get(viewer=admin)

    assert row.viewer_roles == [StaffRole.TELEKOM_HILFT_TEAM.value]
    assert '<span class="role-badge">Telekom hilft Team</span>' in page


def test_a_deleted_viewer_is_still_named_as_they_were(people, client_for, owner_data):
    Profile.objects.filter(user=people["cm"]).update(display_name="Clara Community")
    client_for("cm").get("/members/owner/")
    people["cm"].delete()

    page = client_for("owner").get(PRIVACY).text

    assert "Clara Community (gelöschtes Konto)" in page


# --- Granting a content role is logged ---


def grant_via_admin(client: Client, user, groups: list[Group]) -> None:
    page = client.get(f"/admin/auth/user/{user.pk}/change/")
    assert page.status_code == 200
    form = page.context["adminform"].form
    data = {name: value for name, value in form.initial.items() if value is not None}
    data.update(
        {
            "username": user.username,
            "date_joined_0": user.date_joined.strftime("%Y-%m-%d"),
            "date_joined_1": user.date_joined.strftime("%H:%M:%S"),
            "groups": [group.pk for group in groups],
            "is_active": "on",
            "is_staff": "on" if user.is_staff else "",
            "is_superuser": "on" if user.is_superuser else "",
        }
    )
    data.pop("password", None)
    data.pop("last_login", None)
    data.pop("user_permissions", None)
    data = {key: value for key, value in data.items() if value not in ("", False)}
    response = client.post(f"/admin/auth/user/{user.pk}/change/", data)
    assert response.status_code == 302, response.context["adminform"].form.errors


def test_a_superuser_granting_himself_a_role_is_logged_with_his_name(people, client_for):
    admin = people["admin"]
    team = RoleGroup.objects.get(code=StaffRole.TELEKOM_HILFT_TEAM).group
    client = client_for("admin")

    since = StructureChange.objects.count()
    grant_via_admin(client, admin, [team])
    grant_via_admin(client, admin, [])

    changes = list(
        StructureChange.objects.order_by("pk").values_list(
            "kind", "actor_name", "member_name", "role"
        )[since:]
    )
    assert changes == [
        ("granted", "admin", "admin", StaffRole.TELEKOM_HILFT_TEAM.value),
        ("revoked", "admin", "admin", StaffRole.TELEKOM_HILFT_TEAM.value),
    ]


def test_grants_from_the_group_side_and_by_clearing_are_logged(people):
    since = StructureChange.objects.count()
    cm_group = RoleGroup.objects.get(code=StaffRole.COMMUNITY_MANAGEMENT).group
    cm_group.user_set.add(people["member"])
    people["member"].groups.clear()
    ordinary = Group.objects.create(name="Stammtisch")
    people["member"].groups.add(ordinary)

    assert list(
        StructureChange.objects.order_by("pk").values_list("kind", "member_name", "actor_name")[
            since:
        ]
    ) == [
        ("granted", "member", ""),
        ("revoked", "member", ""),
    ]


def test_re_pointing_a_role_and_editing_the_ladder_are_logged(people):
    role = RoleGroup.objects.get(code=StaffRole.TELEKOM_HILFT_TEAM)
    role.group = Group.objects.create(name="Neue Teamgruppe")
    role.save()
    rank = Rank.objects.get(code="mitgestalter")
    rank.order = 99
    rank.save()

    kinds = dict(StructureChange.objects.values_list("kind", "detail"))
    assert "Neue Teamgruppe" in kinds["regrouped"]
    assert "order: " in kinds["rank"]
    assert "→ 99" in kinds["rank"]


def test_the_role_log_is_append_only_and_for_community_management(people, client_for):
    people["member"].groups.add(RoleGroup.objects.get(code=StaffRole.TELEKOM_HILFT_TEAM).group)
    change = StructureChange.objects.filter(member_name="member").get()
    with pytest.raises(ValueError, match="append-only"):
        change.save()
    url = "/admin/community/structurechange/"
    assert client_for("cm").get(url).status_code == 200
    assert "member" in client_for("cm").get(url).text
    for who in ("team", "admin"):
        assert client_for(who).get(url).status_code == 403


# --- A customer number never in a URL, a link or a log line ---


def test_a_search_by_customer_number_puts_the_number_nowhere_but_the_post(
    client_for, owner_data, caplog
):
    with caplog.at_level(logging.DEBUG):
        response = client_for("team").post(SEARCH, {"q": CUSTOMER_NUMBER})

    assert response.status_code == 200
    assert "Olga Owner" in response.text
    assert "Location" not in response
    for url in re.findall(r'(?:href|action|src)="([^"]*)"', response.text):
        assert CUSTOMER_NUMBER not in url
        assert "q=" not in url
    assert "_changelist_filters" not in response.text
    assert CUSTOMER_NUMBER not in response.text
    assert all(CUSTOMER_NUMBER not in record.getMessage() for record in caplog.records)
    # The link to the member's page carries nothing of the search.
    change = f"/admin/customer_data/customerdata/{owner_data.pk}/change/"
    assert f'href="{change}"' in response.text


def test_the_changelist_search_box_posts(client_for, owner_data):
    page = client_for("cm").get("/admin/customer_data/customerdata/").text
    form = re.search(r'<form id="changelist-search"[^>]*>', page).group(0)
    assert 'method="post"' in form
    assert 'action="/admin/customer_data/customerdata/search/"' in form


# --- The account admin names no customer-data objects ---

ACCOUNT_PAGES = ["change", "delete", "history"]
EVERYONE = ["anonymous", "member", "regular", "expert", "guide", "team", "cm", "admin", "owner"]


@pytest.mark.parametrize("who", EVERYONE)
@pytest.mark.parametrize("admin_page", ACCOUNT_PAGES)
def test_account_admin_pages_for_every_role(admin_page, who, people, client_for, owner_data):
    owner = people["owner"]
    response = client_for(who).get(f"/admin/auth/user/{owner.pk}/{admin_page}/")

    expected = 302 if who == "anonymous" else 200 if who == "admin" else 302
    if who in ("team", "cm"):
        expected = 403  # staff, but no permission on accounts
    assert response.status_code == expected
    text = response.content.decode()
    assert leaks(text) == []
    if admin_page != "change":  # (the change page lists every model's permissions by name)
        for name in ("Kundendaten", "Zugriff auf Kundendaten", "Einwilligung", "Zugriffsprotokoll"):
            assert name not in text, f"{admin_page} as {who} names {name}"


def test_deleting_an_account_from_the_admin_removes_everything_about_it(
    people, client_for, owner_data
):
    owner = people["owner"]
    response = client_for("admin").post(f"/admin/auth/user/{owner.pk}/delete/", {"post": "yes"})

    assert response.status_code == 302
    assert not CustomerData.objects.filter(user_id=owner.pk).exists()
    assert not ConsentRecord.objects.filter(user_id=owner.pk).exists()
    assert not PersonalDataAccess.objects.filter(subject_id=owner.pk).exists()


def test_deleting_several_accounts_names_only_the_accounts(people, client_for, owner_data):
    response = client_for("admin").post(
        "/admin/auth/user/",
        {
            "action": "delete_selected",
            "_selected_action": [people["owner"].pk, people["member"].pk],
        },
    )
    assert response.status_code == 200
    assert "Kundendaten" not in response.text
    assert "owner" in response.text
