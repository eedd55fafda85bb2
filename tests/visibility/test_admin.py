"""The staff admin beyond the role × surface table (test_role_surface_table.py): the admin
index, what the changelist's SQL reads, search semantics, read-only records, histories,
registrations, and what `str()` and `repr()` say."""

import pytest
from django.contrib.admin.sites import site
from django.db import connection
from django.test.utils import CaptureQueriesContext

from customer_data.models import ConsentRecord, CustomerData, PersonalDataAccess
from profiles.models import Profile
from tests.factories import CUSTOMER_NUMBER, PersonalDataAccessFactory
from tests.visibility.conftest import leaks

pytestmark = pytest.mark.django_db

LIST = "/admin/customer_data/customerdata/"
LOG = "/admin/customer_data/personaldataaccess/"


def change_url(data: CustomerData) -> str:
    return f"{LIST}{data.pk}/change/"


def test_staff_without_role_sees_no_customer_data_in_the_admin_index(
    people, client_for, owner_data
):
    people["member"].is_staff = True
    people["member"].save()
    for who in ("admin", "member"):
        response = client_for(who).get("/admin/")
        assert "customerdata" not in response.text
        assert "personaldataaccess" not in response.text


@pytest.mark.parametrize("who", ["team", "cm"])
def test_changelist_never_reads_encrypted_columns(who, client_for, owner_data):
    with CaptureQueriesContext(connection) as captured:
        response = client_for(who).get(LIST)
    assert "Olga Owner" in response.text
    sql = " ".join(q["sql"] for q in captured.captured_queries)
    for column in ("customer_number", "mobile_number", "further_info"):
        assert f'"{column}"' not in sql


SEARCH = f"{LIST}search/"


@pytest.mark.parametrize(
    ("term", "kind"),
    [
        (CUSTOMER_NUMBER, "die Kundennummer"),
        ("4711-0815 12", "die Kundennummer"),
        ("4711 081 512", "die Kundennummer"),
        ("owner", "den Namen"),
        ("OWNER", "den Namen"),
        ("wne", "den Namen"),
        ("olga", "den Namen"),
    ],
)
def test_search_by_exact_customer_number_or_part_of_a_name(term, kind, client_for, owner_data):
    response = client_for("team").post(SEARCH, {"q": term})
    assert response.status_code == 200
    assert "Olga Owner" in response.text
    assert f"Treffer über {kind}" in response.text
    assert leaks(response.text) == []  # not even the number searched for is echoed


@pytest.mark.parametrize("term", ["4711", "47110815", "471108151", "Olgaa"])
def test_search_has_no_partial_number_matches(term, client_for, owner_data):
    response = client_for("cm").post(SEARCH, {"q": term})
    assert response.status_code == 200
    assert "Olga Owner" not in response.text
    assert "Niemand gefunden" in response.text


def test_nul_in_admin_search_is_refused_not_an_error(client_for, owner_data):
    response = client_for("cm").post(SEARCH, {"q": "4711\x00"})
    assert response.status_code == 200
    assert "Bitte gib eine Kundennummer" in response.text
    assert leaks(response.text) == []


def test_a_customer_number_in_the_url_finds_nobody(client_for, owner_data):
    response = client_for("team").get(LIST, {"q": CUSTOMER_NUMBER})
    assert response.status_code == 200
    assert "Olga Owner" not in response.text
    assert "owner" in client_for("team").get(LIST, {"q": "owner"}).text


def test_the_search_answers_posts_only(client_for, owner_data):
    assert client_for("team").get(SEARCH, {"q": CUSTOMER_NUMBER}).status_code == 405


def test_admin_registration_keeps_encrypted_fields_out_of_lists():
    encrypted = {"customer_number", "mobile_number", "further_info", "customer_number_bidx"}
    for model_admin in (site._registry[CustomerData], site._registry[Profile]):
        named = {
            *map(str, model_admin.list_display),
            *model_admin.search_fields,
            *map(str, model_admin.list_filter),
            *(model_admin.ordering or []),
        }
        assert not {name.lstrip("-").split("__")[-1] for name in named} & encrypted


def test_access_log_cannot_be_added_changed_or_deleted_even_by_its_viewers(
    client_for, people, owner_data
):
    row = PersonalDataAccessFactory(subject=people["owner"])
    client = client_for("cm")
    assert client.get(f"{LOG}add/").status_code == 403
    assert client.post(f"{LOG}{row.pk}/delete/", {"post": "yes"}).status_code == 403
    response = client.post(f"{LOG}{row.pk}/change/", {"channel": "export"})
    assert response.status_code == 403
    row.refresh_from_db()
    assert row.channel == "profile"
    model_admin = site._registry[PersonalDataAccess]
    request = client.get(LOG).wsgi_request
    assert not model_admin.has_add_permission(request)
    assert not model_admin.has_change_permission(request, row)
    assert not model_admin.has_delete_permission(request, row)


def test_customer_data_cannot_be_edited_or_deleted_in_the_admin(client_for, owner_data):
    client = client_for("cm")
    assert client.post(change_url(owner_data), {"consent": ""}).status_code == 403
    assert client.post(f"{LIST}{owner_data.pk}/delete/", {"post": "yes"}).status_code == 403
    owner_data.refresh_from_db()
    assert owner_data.customer_number == CUSTOMER_NUMBER


def test_change_view_lists_consent_and_access_history(client_for, owner_data, people):
    PersonalDataAccessFactory(subject=people["owner"], fields=["mobile_number"])
    text = client_for("cm").get(change_url(owner_data)).text
    assert "erteilt" in text
    assert "Tom vom Team" in text


def test_str_and_repr_carry_no_personal_data(owner_data, people):
    record = ConsentRecord.objects.get()
    access = PersonalDataAccessFactory(
        viewer=people["team"], subject=people["owner"], via_admin=True
    )
    for obj in (owner_data, record, access, people["owner"].profile):
        assert leaks(str(obj)) == []
        assert leaks(repr(obj)) == []
