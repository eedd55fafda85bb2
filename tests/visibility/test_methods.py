"""Every HTTP method on every surface that can show values: values come with exactly one
access-log row, or not at all; and every response carrying a value is never cached. (The staff
search logs a member it finds by a number without showing a value: that row is checked apart.)"""

import pytest

from customer_data.models import CustomerData, PersonalDataAccess
from customer_data.services import SEARCH_CHANNELS
from tests.factories import CUSTOMER_NUMBER
from tests.visibility.conftest import leaks

pytestmark = pytest.mark.django_db

METHODS = ["GET", "HEAD", "POST", "OPTIONS", "TRACE", "PUT", "DELETE", "PATCH"]
VIEWERS = ["member", "regular", "expert", "guide", "team", "cm", "admin", "owner", "anonymous"]


def surfaces(owner_data: CustomerData) -> dict[str, str]:
    return {
        "profile page": "/members/owner/",
        "admin change view": f"/admin/customer_data/customerdata/{owner_data.pk}/change/",
        "admin search": "/admin/customer_data/customerdata/search/",
        "export": "/settings/privacy/export/",
        "preview": "/settings/privacy/preview/",
        "Profil tab": "/settings/profile/",
    }


@pytest.mark.parametrize("method", METHODS)
@pytest.mark.parametrize("who", VIEWERS)
def test_values_come_with_one_log_row_or_not_at_all(method, who, client_for, owner_data):
    client = client_for(who)
    for surface, url in surfaces(owner_data).items():
        before = set(PersonalDataAccess.objects.values_list("pk", flat=True))
        response = client.generic(
            method,
            url,
            data=f"q={CUSTOMER_NUMBER}" if method == "POST" else None,
            content_type="application/x-www-form-urlencoded",
        )
        body = response.content.decode(errors="replace")
        written = PersonalDataAccess.objects.exclude(pk__in=before)
        found = written.filter(channel__in=SEARCH_CHANNELS.values())
        logged = written.count() - found.count()
        shown = leaks(body)
        # POSTing the owner's customer number to the search finds her: one search row, for
        # the roles that may search, and still no value on the page.
        finds = surface == "admin search" and method == "POST" and who in ("team", "cm")
        assert found.count() == finds, f"{surface} {method}: search rows {found.count()}"
        if finds:
            assert shown == [], f"{surface} {method}: the search showed a value"
        if shown and who != "owner":
            assert logged == 1, f"{surface} {method}: values shown without exactly one log row"
        else:
            assert logged == 0, f"{surface} {method}: a log row for values nobody was shown"
        if shown:
            assert who in ("owner", "team", "cm"), f"{surface} {method}: values shown to {who}"
            cache_control = response.get("Cache-Control", "")
            assert "no-store" in cache_control, f"{surface} {method}: cacheable with values"
            assert "private" in cache_control, f"{surface} {method}: shareable with values"


@pytest.mark.parametrize("who", ["team", "cm"])
@pytest.mark.parametrize("method", ["OPTIONS", "TRACE", "PUT", "DELETE", "PATCH"])
def test_the_admin_change_view_refuses_other_methods(who, method, client_for, owner_data):
    url = f"/admin/customer_data/customerdata/{owner_data.pk}/change/"
    response = client_for(who).generic(method, url)
    assert response.status_code == 405
    assert leaks(response.content.decode()) == []
    assert not PersonalDataAccess.objects.exists()


@pytest.mark.parametrize("who", ["team", "cm"])
def test_the_values_surfaces_each_show_values_to_staff_on_get(who, client_for, owner_data):
    """The matrix above is not vacuous: GET shows the values (and logs them) on both."""
    client = client_for(who)
    for url in ("/members/owner/", f"/admin/customer_data/customerdata/{owner_data.pk}/change/"):
        response = client.get(url)
        assert leaks(response.text), url
    assert PersonalDataAccess.objects.count() == 2


def test_the_owner_sees_values_on_export_and_profile_tab_uncached(client_for, owner_data):
    client = client_for("owner")
    for response in (
        client.post("/settings/privacy/export/"),
        client.get("/settings/profile/"),
        client.get("/members/owner/"),
    ):
        assert leaks(response.content.decode())
        assert "no-store" in response["Cache-Control"]
        assert "private" in response["Cache-Control"]
