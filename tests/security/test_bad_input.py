"""Bad input on every form and query parameter: a clear 4xx or form error, never a 500,
and nothing stored changes. Runs on SQLite and on PostgreSQL (NUL handling differs)."""

import pytest
from django.test import Client

from customer_data.models import ConsentRecord, CustomerData
from profiles.models import Profile
from tests.factories import CUSTOMER_NUMBER, TYPED, CustomerDataFactory

pytestmark = pytest.mark.django_db

VALID = {
    "profile-display_name": "Olga Owner",
    "profile-about": "Hallo",
    "profile-location": "Bonn",
    "customer-consent": "on",
    **{f"customer-{name}": value for name, value in TYPED.items()},
}
BAD_VALUES = {
    "nul": "12\x00345678",
    "control": "12345678\x1b[31m",
    "overlong": "9" * 5000,
    "bidi": "12345678\u202e",
}
TEXT_FIELDS = [field for field in VALID if field != "customer-consent"]


@pytest.fixture
def owner(people):
    user = people["owner"]
    CustomerDataFactory(user=user, full=True)
    return user


def snapshot(user) -> tuple:
    data = CustomerData.objects.get(user=user)
    profile = Profile.objects.get(user=user)
    return (
        data.customer_number,
        data.mobile_number,
        data.further_info,
        data.customer_number_bidx,
        data.consent,
        profile.display_name,
        profile.about,
        profile.location,
        profile.language,
        profile.time_zone,
        ConsentRecord.objects.count(),
    )


@pytest.mark.parametrize("field", TEXT_FIELDS)
@pytest.mark.parametrize("kind", list(BAD_VALUES))
def test_profile_tab_refuses_bad_values_with_a_form_error(field, kind, owner, login):
    client = login(owner)
    before = snapshot(owner)
    response = client.post("/settings/profile/", {**VALID, field: BAD_VALUES[kind]})
    assert response.status_code == 200
    assert "is-invalid" in response.text or "invalid-feedback" in response.text
    assert snapshot(owner) == before


@pytest.mark.parametrize("kind", list(BAD_VALUES))
def test_the_consent_switch_reads_any_bad_value_as_on(kind, owner, login):
    """A checkbox sends "on" or nothing; whatever else arrives counts as switched on."""
    client = login(owner)
    records = ConsentRecord.objects.count()
    response = client.post("/settings/profile/", {**VALID, "customer-consent": BAD_VALUES[kind]})
    assert response.status_code == 302
    data = CustomerData.objects.get(user=owner)
    assert data.consent_is_current
    assert data.customer_number == CUSTOMER_NUMBER
    assert data.filled_count == 3
    assert ConsentRecord.objects.count() == records  # no withdrawal, no second grant


def test_profile_tab_messages_are_german(owner, login):
    response = login(owner).post(
        "/settings/profile/", {**VALID, "customer-customer_number": "12\x00345678"}
    )
    assert (
        "Steuerzeichen" in response.text
        or "Null-Zeichen" in response.text
        or "Nullzeichen" in response.text
    )


@pytest.mark.parametrize(
    "extra",
    [
        {"profile-rank": "5", "rank": "5"},
        {"is_staff": "on", "is_superuser": "on", "profile-user": "1"},
        {
            "customer-filled_count": "3",
            "customer-customer_number_bidx": "abc",
            "customer-consent_version": "x",
        },
        {
            "customer-consented_at": "2000-01-01",
            "customer-user": "1",
            "customer-updated_at": "2000-01-01",
        },
    ],
)
def test_unknown_fields_change_nothing(extra, owner, login):
    client = login(owner)
    client.post("/settings/profile/", {**VALID, **extra})
    owner.refresh_from_db()
    assert not owner.is_staff
    assert not owner.is_superuser
    data = CustomerData.objects.get(user=owner)
    assert data.filled_count == 3
    assert data.consent_version != "x"
    assert Profile.objects.get(user=owner).rank.code == "neuling"


@pytest.mark.parametrize(
    "post",
    [
        {"language": "xx", "time_zone": "Europe/Berlin"},
        {"language": "de", "time_zone": "Mars/Olympus"},
        {"language": "de\x00", "time_zone": "Europe/Berlin"},
        {"language": "de", "time_zone": "Europe/Berlin\x00"},
        {"language": ["de", "en"], "time_zone": "E" * 10000},
    ],
)
def test_preferences_refuse_bad_values(post, owner, login):
    before = snapshot(owner)
    response = login(owner).post("/settings/preferences/", post)
    assert response.status_code == 200
    assert "is-invalid" in response.text
    assert snapshot(owner) == before


@pytest.mark.parametrize(
    "query",
    [
        {"q": "ol\x00ga"},
        {"sort": "\x00"},
        {"sort": "customer_data__customer_number"},
        {"page": "\x00"},
        {"page": "-5"},
        {"page": "1e9"},
        {"page": "99999999999999999999"},
        {"q": "x" * 5000},
        {"q": ["a", "b"], "sort": ["rank", "name"]},
    ],
)
@pytest.mark.parametrize("who", ["anonymous", "expert", "team"])
def test_directory_ignores_bad_query_parameters(query, who, people, login, owner):
    client = Client() if who == "anonymous" else login(people[who])
    response = client.get("/members/", query)
    assert response.status_code == 200
    assert CUSTOMER_NUMBER not in response.text


@pytest.mark.parametrize(
    "query", [{"page": "\x00"}, {"page": "abc"}, {"page": "0"}, {"page": "10**9"}]
)
def test_privacy_tab_ignores_bad_page_numbers(query, owner, login):
    assert login(owner).get("/settings/privacy/", query).status_code == 200


@pytest.mark.parametrize(
    "path", ["/members/ol%00ga/", "/members/%00/", "/members/" + "a" * 500 + "/"]
)
def test_member_paths_with_bad_names_are_404(path, client):
    assert client.get(path).status_code == 404


@pytest.mark.parametrize("username", ["ad\x00min", "x" * 5000])
def test_login_refuses_bad_usernames_with_a_form_error(username, client):
    response = client.post("/accounts/login/", {"username": username, "password": "whatever"})
    assert response.status_code == 200


def test_erase_with_a_bad_confirmation_only_asks_again(owner, login):
    before = snapshot(owner)
    response = login(owner).post("/settings/privacy/erase/", {"confirm": "yes\x00"})
    assert response.status_code == 200
    assert snapshot(owner) == before
