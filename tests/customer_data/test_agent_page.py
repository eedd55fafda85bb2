"""The agent's page of one member's customer data (the admin change page): who the member is,
then the consent, then the values with when each group last changed, then the consent history
and the access log; named after the member, logged once per view, no value in a URL."""

import html
import re
from datetime import UTC, datetime

import pytest
from django.utils import formats, timezone, translation

from customer_data.models import CustomerData, PersonalDataAccess
from tests.factories import (
    CUSTOMER_NUMBER,
    FURTHER_INFO,
    MOBILE_NUMBER,
    MOBILE_NUMBER_SHOWN,
    OUTDATED_CONSENT_TEXT_VERSION,
    CustomerDataFactory,
    PersonalDataAccessFactory,
)
from tests.visibility.conftest import LEAK_MARKERS, urls_with_values

pytestmark = pytest.mark.django_db

LIST = "/admin/customer_data/customerdata/"
TEL_LINK = f'<a href="tel:{MOBILE_NUMBER}">{MOBILE_NUMBER_SHOWN}</a>'
# Noon in UTC: the same calendar day in every time zone the site offers.
NUMBERS_DAY = datetime(2025, 3, 14, 12, tzinfo=UTC)
INFO_DAY = datetime(2025, 5, 20, 12, tzinfo=UTC)
CONSENT_DAY = datetime(2025, 1, 10, 12, tzinfo=UTC)


@pytest.fixture
def owner_data(people):
    return CustomerDataFactory(user=people["owner"], full=True)


def change_url(data: CustomerData) -> str:
    return f"{LIST}{data.pk}/change/"


def backdate(data: CustomerData) -> None:
    """Give each group and the consent its own day in the past."""
    CustomerData.objects.filter(pk=data.pk).update(
        numbers_updated_at=NUMBERS_DAY,
        further_info_updated_at=INFO_DAY,
        consented_at=CONSENT_DAY,
    )


def page_of(client_for, who: str, data: CustomerData) -> str:
    response = client_for(who).get(change_url(data))
    assert response.status_code == 200
    return response.text


def visible(page: str) -> str:
    page = re.sub(r"(?is)<(script|style)\b.*?</\1>", " ", page)
    return " ".join(html.unescape(re.sub(r"<[^>]+>", " ", page)).split())


@pytest.mark.parametrize("who", ["team", "cm"])
def test_the_sections_come_in_order_who_consent_values_history_log(who, client_for, owner_data):
    PersonalDataAccessFactory(subject=owner_data.user, fields=["mobile_number"])
    text = page_of(client_for, who, owner_data)

    places = [
        text.index('id="agent-member"'),
        text.index("Olga Owner</div>"),
        text.index('id="agent-consent"'),
        text.index("Version des Einwilligungstexts:"),
        text.index('id="agent-values"'),
        text.index(CUSTOMER_NUMBER),
        text.index(TEL_LINK),
        text.index("Rückruf bitte"),
        text.index('class="form-row field-consent_history"'),
        text.index('class="form-row field-access_history"'),
        text.index("Tom vom Team"),
    ]
    assert places == sorted(places)


def test_the_page_is_named_after_the_member(client_for, owner_data):
    text = page_of(client_for, "team", owner_data)

    assert "<h1>Kundendaten von Olga Owner (owner)</h1>" in text
    assert re.search(r"<title>Kundendaten von Olga Owner \(owner\) \|", text)
    assert "Kundendaten ansehen" not in text  # Django's generic title is gone …
    assert "<h2>Kundendaten von Olga Owner (owner)</h2>" not in text  # … and not repeated


def test_the_member_section_says_who_the_member_is(client_for, people):
    # A member who holds a staff role themselves: the roles show as badges.
    data = CustomerDataFactory(user=people["team"], full=True)
    text = page_of(client_for, "cm", data)
    section = text[text.index('id="agent-member"') : text.index('id="agent-consent"')]
    with translation.override("de"):
        joined = formats.date_format(timezone.localtime(people["team"].date_joined))

    assert "Benutzername: team" in visible(section)
    assert '<span class="agent-badge">Neuling</span>' in section
    assert '<span class="agent-badge agent-badge--role">Telekom hilft Team</span>' in section
    assert f"Mitglied seit: {joined}" in visible(section)
    assert '<a href="/members/team/">/members/team/</a>' in section
    assert f'<a href="{LIST}">‹ Zurück zur Liste</a>' in section


def test_the_member_section_names_a_plain_member_and_no_roles(client_for, owner_data):
    section = page_of(client_for, "team", owner_data).split('id="agent-consent"')[0]
    words = visible(section)

    assert "Name: Olga Owner" in words
    assert "Benutzername: owner" in words
    assert "Rollen: –" in words
    assert "Mitglied seit:" in words


def test_an_inactive_member_gets_no_dead_link_to_a_profile(client_for, owner_data):
    owner_data.user.is_active = False
    owner_data.user.save()
    section = page_of(client_for, "team", owner_data).split('id="agent-consent"')[0]
    assert "/members/owner/" not in section


def test_consent_shows_when_and_which_version(client_for, owner_data, settings):
    backdate(owner_data)
    words = visible(page_of(client_for, "cm", owner_data))

    assert "Status: erteilt" in words
    assert "Erteilt am: 10. Januar 2025" in words
    assert f"Version des Einwilligungstexts: {settings.CONSENT_TEXT_VERSION}" in words
    assert "keine gültige Einwilligung" not in words


def test_without_consent_the_page_says_so_and_shows_no_values(client_for, people):
    CustomerDataFactory(user=people["owner"], full=True)
    data = CustomerDataFactory(user=people["owner"], consent=False)  # switched off: erased
    text = page_of(client_for, "team", data)
    words = visible(text)

    assert "Status: keine gültige Einwilligung" in words
    assert "Erteilt am" not in words
    assert "Keine Kundendaten hinterlegt." in words
    assert [marker for marker in LEAK_MARKERS if marker in text] == []


def test_consent_for_an_outdated_text_is_no_valid_consent_and_says_which(client_for, people):
    data = CustomerDataFactory(user=people["owner"], outdated_consent=True)
    backdate(data)
    text = page_of(client_for, "team", data)
    words = visible(text)

    assert "Status: keine gültige Einwilligung" in words
    assert f"für Version {OUTDATED_CONSENT_TEXT_VERSION} des Einwilligungstexts" in words
    assert "10. Januar 2025" in words
    assert [marker for marker in LEAK_MARKERS if marker in text] == []


def test_the_phone_number_is_a_tel_link_in_e164_shown_formatted(client_for, owner_data):
    assert TEL_LINK in page_of(client_for, "team", owner_data)


def test_a_foreign_number_dials_in_e164_and_reads_internationally(client_for, people):
    data = CustomerDataFactory(user=people["owner"], mobile_number="+43664123456")
    assert '<a href="tel:+43664123456">+43 664 123456</a>' in page_of(client_for, "cm", data)


def test_each_group_shows_when_it_last_changed(client_for, owner_data):
    backdate(owner_data)
    words = visible(page_of(client_for, "team", owner_data))

    assert "Kundennummer und Handynummer: zuletzt geändert am 14. März 2025" in words
    assert "Weitere Informationen: zuletzt geändert am 20. Mai 2025" in words


def test_changing_a_number_moves_the_numbers_date_only(client_for, people, owner_data):
    backdate(owner_data)
    CustomerDataFactory(user=people["owner"], full=True, mobile_number="+491609876543")
    words = visible(page_of(client_for, "team", owner_data))

    assert "Kundennummer und Handynummer: zuletzt geändert am 14. März 2025" not in words
    assert "Kundennummer und Handynummer: zuletzt geändert am" in words
    assert "Weitere Informationen: zuletzt geändert am 20. Mai 2025" in words


def test_changing_the_further_info_moves_its_date_only(client_for, people, owner_data):
    backdate(owner_data)
    CustomerDataFactory(user=people["owner"], full=True, further_info="Erreichbar ab 9 Uhr")
    words = visible(page_of(client_for, "cm", owner_data))

    assert "Kundennummer und Handynummer: zuletzt geändert am 14. März 2025" in words
    assert "Weitere Informationen: zuletzt geändert am 20. Mai 2025" not in words
    assert "Weitere Informationen: zuletzt geändert am" in words


def test_a_group_without_a_value_shows_no_date(client_for, people):
    data = CustomerDataFactory(user=people["owner"], further_info=FURTHER_INFO)
    words = visible(page_of(client_for, "team", data))

    assert "Weitere Informationen: zuletzt geändert am" in words
    assert "Kundennummer und Handynummer" not in words


@pytest.mark.parametrize("who", ["team", "cm"])
def test_every_view_is_logged_exactly_once(who, client_for, people, owner_data):
    client = client_for(who)
    for views in (1, 2):
        assert client.get(change_url(owner_data)).status_code == 200
        rows = PersonalDataAccess.objects.filter(subject=people["owner"])
        assert rows.count() == views
    assert set(rows.values_list("channel", flat=True)) == {"admin"}
    assert client.head(change_url(owner_data)).status_code == 200
    assert rows.count() == 2  # HEAD shows no values, so nothing to log


@pytest.mark.parametrize("who", ["team", "cm"])
def test_no_value_is_in_any_url_but_the_phone_link(who, client_for, owner_data):
    text = page_of(client_for, who, owner_data)
    dialled, leaking = urls_with_values(text)

    assert dialled == [f"tel:{MOBILE_NUMBER}"]
    assert leaking == []


def test_the_page_costs_a_fixed_number_of_queries(
    client_for, owner_data, people, django_assert_num_queries
):
    for _ in range(5):
        PersonalDataAccessFactory(subject=people["owner"])
    client = client_for("team")
    client.get(change_url(owner_data))
    # session, viewer; the values row; its access-log insert; the page's row with the
    # member's profile, rank and roles (one query); Django's permission cache (user and
    # group permissions, for the object tools); the consent history; the access log.
    with django_assert_num_queries(9):
        assert client.get(change_url(owner_data)).status_code == 200
