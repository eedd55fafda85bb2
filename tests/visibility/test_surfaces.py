"""The public profile page and the directory beyond the role × surface table
(test_role_surface_table.py): no hint of customer data, staff without consent, escaping,
search semantics, what the SQL reads, and changes of rank, role and consent.
"""

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from customer_data.models import PersonalDataAccess
from tests.factories import CUSTOMER_NUMBER, FURTHER_INFO, CustomerDataFactory
from tests.visibility.conftest import RING_MARKER, leaks

pytestmark = pytest.mark.django_db

ROLES = ["anonymous", "member", "regular", "expert", "guide", "team", "cm", "admin", "owner"]
OWNER_ROW = 'class="member-link" href="/members/owner/"'


@pytest.mark.parametrize("who", ["anonymous", "member", "regular", "admin"])
def test_without_the_ring_the_profile_page_gives_no_hint_of_customer_data(
    who, client_for, owner_data
):
    text = client_for(who).get("/members/owner/").text
    # No ring, no empty section, no hint that customer data exists.
    assert RING_MARKER not in text
    assert "Kundendaten" not in text


def test_staff_see_no_values_without_consent_and_nothing_is_logged(client_for, people):
    response = client_for("team").get("/members/owner/")
    assert "Keine Kundendaten hinterlegt" in response.text
    assert "0 % Profildaten ausgefüllt" in response.text
    assert not PersonalDataAccess.objects.exists()


def test_unknown_member_is_404(client_for):
    assert client_for("team").get("/members/nobody-here/").status_code == 404


def test_further_information_is_escaped_for_staff(client_for, people):
    CustomerDataFactory(user=people["owner"], further_info="<script>alert(1)</script>")
    text = client_for("cm").get("/members/owner/").text
    assert "<script>alert(1)</script>" not in text
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in text


@pytest.mark.parametrize("who", ROLES)
def test_directory_search_never_matches_customer_data(who, client_for, owner_data):
    response = client_for(who).get(f"/members/?q={CUSTOMER_NUMBER}")
    assert response.status_code == 200
    assert OWNER_ROW not in response.text
    assert "Keine Mitglieder gefunden" in response.text


@pytest.mark.parametrize("who", ["anonymous", "member", "regular", "admin", "owner"])
@pytest.mark.parametrize("query", ["", "?sort=rank", "?sort=-name", "?q=o"])
def test_directory_for_others_never_touches_customer_data(who, query, client_for, owner_data):
    with CaptureQueriesContext(connection) as captured:
        client_for(who).get(f"/members/{query}")
    assert not any("customer_data" in q["sql"] for q in captured.captured_queries)


@pytest.mark.parametrize("who", ["expert", "guide"])
def test_directory_rings_never_read_encrypted_columns(who, client_for, owner_data):
    with CaptureQueriesContext(connection) as captured:
        client_for(who).get("/members/")
    sql = " ".join(q["sql"] for q in captured.captured_queries)
    for column in ("customer_number", "mobile_number", "further_info"):
        assert f'"{column}"' not in sql


@pytest.mark.parametrize("who", ["expert", "guide"])
def test_ring_only_profile_never_reads_encrypted_columns(who, client_for, owner_data):
    with CaptureQueriesContext(connection) as captured:
        client_for(who).get("/members/owner/")
    sql = " ".join(q["sql"] for q in captured.captured_queries)
    assert '"mobile_number"' not in sql
    assert '"further_info"' not in sql


def test_role_removal_takes_effect_on_the_next_request(client_for, people, owner_data):
    client = client_for("team")
    assert CUSTOMER_NUMBER in client.get("/members/owner/").text
    people["team"].groups.clear()
    text = client.get("/members/owner/").text
    assert leaks(text) == []
    assert RING_MARKER not in text


def test_rank_change_takes_effect_on_the_next_request(client_for, people, owner_data):
    from community.models import Rank
    from profiles.models import Profile

    client = client_for("regular")
    assert RING_MARKER not in client.get("/members/owner/").text
    Profile.objects.filter(user=people["regular"]).update(
        rank=Rank.objects.get(code="mitgestalter")
    )
    assert "100 % Profildaten ausgefüllt" in client.get("/members/owner/").text


def test_withdrawn_consent_leaves_staff_nothing(client_for, people, owner_data):
    from customer_data.services import erase_customer_data

    erase_customer_data(user_id=people["owner"].pk, by=people["owner"])
    text = client_for("team").get("/members/owner/").text
    assert leaks(text) == []
    assert FURTHER_INFO not in text
    assert "0 % Profildaten ausgefüllt" in text
