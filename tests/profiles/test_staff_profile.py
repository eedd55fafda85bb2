"""The public profile as the staff roles see it (/members/<username>/): beside the values, when
each group last changed and when the member consented; the phone number dials; and a link to
the member's page in the staff admin, for the two content roles only, never on their own
profile. The owner sees the dates too, without the link."""

import html
import re
from datetime import UTC, datetime

import pytest
from django.contrib.auth.models import AnonymousUser
from django.test import Client

from customer_data.models import CustomerData, PersonalDataAccess
from customer_data.permissions import can_open_staff_page
from tests.conftest import load_viewer
from tests.factories import (
    CUSTOMER_NUMBER,
    MOBILE_NUMBER,
    MOBILE_NUMBER_SHOWN,
    CustomerDataFactory,
    PersonalDataAccessFactory,
    UserFactory,
)
from tests.visibility.conftest import urls_with_values

pytestmark = pytest.mark.django_db

PROFILE = "/members/owner/"
TEL_LINK = f'<a href="tel:{MOBILE_NUMBER}">{MOBILE_NUMBER_SHOWN}</a>'
LINK_TEXT = "Im Kundenservice-Bereich öffnen"
# Noon in UTC: the same calendar day in every time zone the site offers.
NUMBERS_DAY = datetime(2025, 3, 14, 12, tzinfo=UTC)
INFO_DAY = datetime(2025, 5, 20, 12, tzinfo=UTC)
CONSENT_DAY = datetime(2025, 1, 10, 12, tzinfo=UTC)
NUMBERS_DATE = "Kundennummer und Handynummer: zuletzt geändert am 14. März 2025"
INFO_DATE = "Weitere Informationen: zuletzt geändert am 20. Mai 2025"
CONSENT_DATE = "Einwilligung vom 10. Januar 2025"


@pytest.fixture
def owner_data(people):
    data = CustomerDataFactory(user=people["owner"], full=True)
    CustomerData.objects.filter(pk=data.pk).update(
        numbers_updated_at=NUMBERS_DAY, further_info_updated_at=INFO_DAY, consented_at=CONSENT_DAY
    )
    data.refresh_from_db()
    return data


def staff_link(data: CustomerData) -> str:
    return f'<a href="/admin/customer_data/customerdata/{data.pk}/change/">{LINK_TEXT}</a>'


def panel(text: str) -> str:
    """The customer-data panel's visible words."""
    match = re.search(r'(?s)<section class="customer-panel".*?</section>', text)
    assert match, "no customer-data panel"
    return " ".join(html.unescape(re.sub(r"<[^>]+>", " ", match.group(0))).split())


@pytest.mark.parametrize("who", ["team", "cm"])
def test_staff_see_the_dates_and_the_consent_date_beside_the_values(who, client_for, owner_data):
    words = panel(client_for(who).get(PROFILE).text)

    assert CUSTOMER_NUMBER in words
    assert NUMBERS_DATE in words
    assert INFO_DATE in words
    assert CONSENT_DATE in words
    # Beside the values: after them, before the confidentiality note.
    assert words.index("Rückruf bitte") < words.index(NUMBERS_DATE) < words.index("Vertraulich")


@pytest.mark.parametrize("who", ["team", "cm", "owner"])
def test_the_phone_number_dials_in_e164_and_reads_formatted(who, client_for, owner_data):
    assert TEL_LINK in client_for(who).get(PROFILE).text


@pytest.mark.parametrize("who", ["team", "cm"])
def test_the_content_roles_get_a_link_to_the_members_staff_page(who, client_for, owner_data):
    client = client_for(who)
    text = client.get(PROFILE).text
    assert staff_link(owner_data) in text

    # It opens the page about the same member.
    url = re.search(r'href="(/admin/[^"]+)">' + LINK_TEXT, text).group(1)
    page = client.get(url)
    assert page.status_code == 200
    assert "<h1>Kundendaten von Olga Owner (owner)</h1>" in page.text


@pytest.mark.parametrize(
    "who", ["owner", "member", "regular", "expert", "guide", "admin", "anonymous"]
)
def test_nobody_else_gets_the_link(who, client_for, owner_data):
    text = client_for(who).get(PROFILE).text
    assert LINK_TEXT not in text
    assert "/admin/customer_data/" not in text


def test_a_superuser_who_is_staff_without_a_role_gets_no_link(client_for, people, owner_data):
    people["admin"].is_staff = True
    people["admin"].save()
    assert LINK_TEXT not in client_for("admin").get(PROFILE).text


@pytest.mark.parametrize("who", ["team", "cm"])
def test_staff_get_no_link_on_their_own_profile(who, client_for, people):
    CustomerDataFactory(user=people[who], full=True)
    text = client_for(who).get(f"/members/{who}/").text
    assert TEL_LINK in text  # their own values, with the dates
    assert "zuletzt geändert am" in text
    assert LINK_TEXT not in text


def test_the_owner_sees_the_dates_without_the_link_and_unlogged(client_for, owner_data):
    text = client_for("owner").get(PROFILE).text
    words = panel(text)

    assert NUMBERS_DATE in words
    assert INFO_DATE in words
    assert CONSENT_DATE in words
    assert LINK_TEXT not in text
    assert not PersonalDataAccess.objects.exists()


def test_the_owners_preview_as_a_mitgestalter_has_no_link_and_no_dates(client_for, owner_data):
    text = client_for("owner").get("/settings/privacy/preview/").text
    assert LINK_TEXT not in text
    assert "zuletzt geändert" not in text
    assert "Einwilligung vom" not in text


def test_a_member_without_customer_data_has_no_staff_page_to_link(client_for, people):
    text = client_for("team").get("/members/member/").text
    assert LINK_TEXT not in text
    assert "Keine Kundendaten hinterlegt." in text


def test_consent_without_values_shows_the_consent_date_and_the_link(client_for, people):
    data = CustomerDataFactory(user=people["owner"])
    CustomerData.objects.filter(pk=data.pk).update(consented_at=CONSENT_DAY)
    text = client_for("cm").get(PROFILE).text
    words = panel(text)

    assert "Keine Kundendaten hinterlegt." in words
    assert CONSENT_DATE in words
    assert "zuletzt geändert" not in words
    assert staff_link(data) in text


def test_changing_a_number_moves_only_the_numbers_date(client_for, people, owner_data):
    CustomerDataFactory(user=people["owner"], full=True, customer_number="1234567")
    words = panel(client_for("team").get(PROFILE).text)

    assert NUMBERS_DATE not in words
    assert "Kundennummer und Handynummer: zuletzt geändert am" in words
    assert INFO_DATE in words
    assert CONSENT_DATE in words  # saving again is no new consent


def test_changing_the_further_info_moves_only_its_date(client_for, people, owner_data):
    CustomerDataFactory(user=people["owner"], full=True, further_info="Erreichbar ab 9 Uhr")
    words = panel(client_for("cm").get(PROFILE).text)

    assert NUMBERS_DATE in words
    assert INFO_DATE not in words
    assert "Weitere Informationen: zuletzt geändert am" in words


@pytest.mark.parametrize("who", ["team", "cm"])
def test_every_view_is_still_logged_exactly_once(who, client_for, people, owner_data):
    client = client_for(who)
    for views in (1, 2):
        assert client.get(PROFILE).status_code == 200
        rows = PersonalDataAccess.objects.filter(subject=people["owner"], viewer=people[who])
        assert rows.count() == views
    assert set(rows.values_list("channel", flat=True)) == {"profile"}


@pytest.mark.parametrize("who", ["team", "cm", "owner"])
def test_no_value_is_in_any_url_but_the_phone_link(who, client_for, owner_data):
    text = client_for(who).get(PROFILE).text
    dialled, leaking = urls_with_values(text)

    assert dialled == [f"tel:{MOBILE_NUMBER}"]
    assert leaking == []


@pytest.mark.parametrize("who", ["team", "cm"])
def test_the_link_and_the_dates_cost_no_query(
    who, people, login, owner_data, django_assert_num_queries
):
    for _ in range(5):
        CustomerDataFactory(user=UserFactory(rank="stammgast"), partly=True)
        PersonalDataAccessFactory(viewer=people["team"], subject=people["owner"])
    client = login(people[who])
    # As pinned in tests/visibility/test_query_counts.py: session, viewer, the profile joined
    # to the full customer data (its id makes the link), the access-log insert.
    with django_assert_num_queries(2 + 1 + 1):
        text = client.get(PROFILE).text
    assert staff_link(owner_data) in text
    assert NUMBERS_DATE in text


def test_anonymous_visitors_see_no_dates(owner_data):
    text = Client().get(PROFILE).text
    assert "zuletzt geändert" not in text
    assert "Einwilligung vom" not in text


@pytest.mark.parametrize(
    "who", ["owner", "member", "regular", "expert", "guide", "team", "cm", "admin", "anonymous"]
)
def test_the_policy_offers_the_link_to_the_content_roles_on_others_profiles_only(
    who, people, django_assert_num_queries
):
    viewer = AnonymousUser() if who == "anonymous" else load_viewer(people[who])
    with django_assert_num_queries(0):
        assert can_open_staff_page(viewer, people["owner"].pk) is (who in {"team", "cm"})
        if viewer.is_authenticated:
            assert not can_open_staff_page(viewer, viewer.pk)
