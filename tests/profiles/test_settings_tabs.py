"""The "Meine Einstellungen" tabs: Profil with customer data and the ring, Einstellungen, Datenschutz."""

import datetime
import re

import pytest
from django.contrib.auth import get_user_model
from django.test import Client

from community.models import Rank
from customer_data.models import (
    ENCRYPTED_FIELDS,
    ConsentRecord,
    CustomerData,
)
from profiles.models import Profile
from tests.factories import (
    CUSTOMER_NUMBER,
    FURTHER_INFO,
    MOBILE_NUMBER_SHOWN,
    PASSWORD,
    TYPED,
    VALUES,
    ConsentRecordFactory,
    CustomerDataFactory,
    PersonalDataAccessFactory,
    UserFactory,
)
from tests.helpers import raw_row

pytestmark = pytest.mark.django_db

TABS = {
    "profile": "/settings/profile/",
    "preferences": "/settings/preferences/",
    "privacy": "/settings/privacy/",
}
TAB_LABELS = {"profile": "Profil", "preferences": "Einstellungen", "privacy": "Datenschutz"}
PROFILE_URL = TABS["profile"]

SAVED = "Deine Einstellungen wurden gespeichert."
ERASED = "Gespeichert. Deine Kundendaten wurden gelöscht."


def profile_post(consent: bool = True, **fields: str) -> dict[str, str]:
    """A complete POST of the Profil tab; `consent=False` leaves the switch out, as browsers do."""
    data = {
        "profile-display_name": "Olga Owner",
        "profile-about": "Ich mag Glasfaser.",
        "profile-location": "Bonn",
        **{f"customer-{name}": value for name, value in TYPED.items()},
        "confirm_withdrawal": "",
    }
    if consent:
        data["customer-consent"] = "on"
    data.update(fields)
    return data


def nothing_stored(user) -> bool:
    row = raw_row(user.pk)
    return row is None or (
        not row["consent"]
        and row["filled_count"] == 0
        and all(row[name] is None for name in [*ENCRYPTED_FIELDS, "customer_number_bidx"])
    )


def tag(html: str, marker: str) -> str:
    """The opening tag of the element carrying `marker` (an attribute)."""
    match = re.search(rf"<[a-z]+\s[^>]*(?<=\s){re.escape(marker)}(?=[\s/>=])[^>]*>", html)
    assert match, marker
    return match.group(0)


def warning_is_shown(html: str) -> bool:
    return not re.search(r"\bhidden\b", tag(html, "data-withdraw-warning"))


@pytest.fixture
def owner(people):
    return people["owner"]


@pytest.fixture
def owner_client(owner, login):
    return login(owner)


# --- The tabs ---


@pytest.mark.parametrize("tab", TABS)
def test_every_tab_renders_meine_einstellungen_with_three_tab_links(owner_client, tab):
    response = owner_client.get(TABS[tab])

    assert response.status_code == 200
    assert "<h1>Meine Einstellungen</h1>" in response.text
    for other, url in TABS.items():
        link = re.search(rf'<a [^>]*href="{url}"[^>]*>{TAB_LABELS[other]}</a>', response.text)
        assert link, other
        assert ('aria-current="page"' in link.group(0)) is (other == tab)
    assert response.text.count('aria-current="page"') == 1


@pytest.mark.parametrize("tab", TABS)
def test_every_tab_is_never_cached(owner_client, tab):
    response = owner_client.get(TABS[tab])

    assert "no-store" in response["Cache-Control"]


@pytest.mark.parametrize("tab", TABS)
def test_a_visitor_is_sent_to_login_and_comes_back_after_logging_in(owner, tab):
    client = Client()

    response = client.get(TABS[tab])

    assert response.status_code == 302
    assert response["Location"] == f"/accounts/login/?next={TABS[tab]}"
    login_page = client.get(response["Location"])
    assert f'name="next" value="{TABS[tab]}"' in login_page.text

    response = client.post(
        "/accounts/login/", {"username": owner.username, "password": PASSWORD, "next": TABS[tab]}
    )

    assert response.status_code == 302
    assert response["Location"] == TABS[tab]
    landed = client.get(response["Location"])
    assert landed.status_code == 200
    assert "Meine Einstellungen" in landed.text


def test_a_visitor_posting_to_the_profile_tab_stores_nothing(owner):
    response = Client().post(PROFILE_URL, profile_post())

    assert response.status_code == 302
    assert response["Location"].startswith("/accounts/login/")
    assert nothing_stored(owner)


def test_the_privacy_tab_takes_no_post(owner_client):
    assert owner_client.post(TABS["privacy"]).status_code == 405


# --- The Profil tab: round trip ---


def test_the_profile_tab_shows_the_section_switch_and_fields(owner_client):
    html = owner_client.get(PROFILE_URL).text

    assert "Kundendaten für den Kundenservice" in html
    switch = tag(html, 'role="switch"')
    assert 'type="checkbox"' in switch
    assert 'name="customer-consent"' in switch
    assert "checked" not in switch
    for label in ("Kundennummer", "Handynummer", "Weitere Informationen", "Speichern"):
        assert label in html
    assert "Eine Festnetznummer geht auch" in html
    # Without consent the fields are there for the script, but hidden.
    assert re.search(r"\bhidden\b", tag(html, "data-consent-fields"))


def test_saving_the_profile_tab_stores_everything_and_redirects_to_it(owner, owner_client):
    response = owner_client.post(
        PROFILE_URL,
        profile_post(**{"profile-display_name": "Olga O.", "profile-location": "Köln"}),
    )

    assert response.status_code == 302
    assert response["Location"] == PROFILE_URL
    profile = Profile.objects.get(user=owner)
    assert (profile.display_name, profile.about, profile.location) == (
        "Olga O.",
        "Ich mag Glasfaser.",
        "Köln",
    )
    data = CustomerData.objects.get(user=owner)
    assert {name: getattr(data, name) for name in ENCRYPTED_FIELDS} == VALUES
    assert data.consent_is_current
    assert ConsentRecord.objects.filter(user=owner, action="granted").count() == 1

    page = owner_client.get(response["Location"])

    assert SAVED in page.text
    assert "100 % Profildaten ausgefüllt" in page.text
    assert f'value="{CUSTOMER_NUMBER}"' in page.text
    assert f'value="{MOBILE_NUMBER_SHOWN}"' in page.text
    assert f"{FURTHER_INFO}</textarea>" in page.text
    assert "checked" in tag(page.text, 'role="switch"')
    assert not re.search(r"\bhidden\b", tag(page.text, "data-consent-fields"))
    assert SAVED not in owner_client.get(PROFILE_URL).text


def test_saving_twice_records_one_grant(owner, owner_client):
    owner_client.post(PROFILE_URL, profile_post())
    owner_client.post(PROFILE_URL, profile_post(**{"customer-further_info": ""}))

    assert ConsentRecord.objects.filter(user=owner).count() == 1
    assert CustomerData.objects.get(user=owner).fill_percentage == 67


def test_without_the_switch_nothing_posted_for_the_fields_is_stored(owner, owner_client):
    response = owner_client.post(PROFILE_URL, profile_post(consent=False))

    assert response.status_code == 302
    assert nothing_stored(owner)
    assert not ConsentRecord.objects.filter(user=owner).exists()
    assert Profile.objects.get(user=owner).location == "Bonn"


# --- The ring ---


@pytest.mark.parametrize(
    ("values", "percent", "filled"),
    [
        ({}, 0, 0),
        ({"mobile_number": VALUES["mobile_number"]}, 33, 1),
        ({"customer_number": VALUES["customer_number"], "further_info": "x"}, 67, 2),
        (VALUES, 100, 3),
    ],
    ids=["0", "33", "67", "100"],
)
def test_the_ring_shows_how_many_of_the_three_fields_are_stored(
    owner, owner_client, values, percent, filled
):
    CustomerDataFactory(user=owner, **values)

    for url in (PROFILE_URL, TABS["privacy"]):
        html = owner_client.get(url).text
        assert f"{percent} % Profildaten ausgefüllt" in html
        ring = tag(html, 'role="meter"')
        assert f'aria-valuetext="{filled} von 3 Feldern ausgefüllt"' in ring
        assert f'aria-valuenow="{percent}"' in ring
        assert 'aria-label="Profildaten ausgefüllt"' in ring
    assert html.count('role="meter"') == 1


def test_the_ring_reads_zero_for_a_member_who_never_saved(owner_client):
    html = owner_client.get(PROFILE_URL).text

    assert "0 % Profildaten ausgefüllt" in html
    assert 'aria-valuetext="0 von 3 Feldern ausgefüllt"' in html


def test_the_four_ring_states_look_different(owner, owner_client):
    classes = set()
    for values in (
        {},
        {"further_info": "x"},
        {"further_info": "x", "mobile_number": "+49228123456"},
        VALUES,
    ):
        CustomerDataFactory(user=owner, **values)
        ring = tag(owner_client.get(PROFILE_URL).text, 'role="meter"')
        classes.add(re.search(r'class="([^"]*)"', ring).group(1))

    assert len(classes) == 4


def test_an_outdated_consent_reads_as_zero_and_shows_no_values(owner, owner_client):
    CustomerDataFactory(user=owner, outdated_consent=True)

    html = owner_client.get(PROFILE_URL).text

    assert "0 % Profildaten ausgefüllt" in html
    assert CUSTOMER_NUMBER not in html
    assert "checked" not in tag(html, 'role="switch"')


# --- Switching consent off ---


def test_switching_off_without_confirmation_warns_and_stores_nothing(owner, owner_client):
    CustomerDataFactory(user=owner, full=True)
    before = raw_row(owner.pk)

    response = owner_client.post(
        PROFILE_URL, profile_post(consent=False, **{"profile-location": "Köln"})
    )

    assert response.status_code == 200
    assert "Achtung" in response.text
    assert warning_is_shown(response.text)
    assert "Klick zum Bestätigen erneut" in response.text
    stamp = CustomerData.objects.get(user=owner).stamp
    assert f'value="{stamp}"' in tag(response.text, "data-confirm-withdrawal")
    assert raw_row(owner.pk) == before
    assert not ConsentRecord.objects.filter(user=owner, action="withdrawn").exists()
    assert Profile.objects.get(user=owner).location == ""


def test_the_warning_is_hidden_until_the_switch_is_turned_off(owner, owner_client):
    CustomerDataFactory(user=owner, full=True)

    html = owner_client.get(PROFILE_URL).text

    assert not warning_is_shown(html)
    assert "Klick zum Bestätigen erneut" not in html


def test_switching_off_with_confirmation_erases_and_records_the_withdrawal(owner, owner_client):
    stamp = CustomerDataFactory(user=owner, full=True).stamp

    response = owner_client.post(
        PROFILE_URL, profile_post(consent=False, confirm_withdrawal=stamp), follow=True
    )

    assert response.redirect_chain == [(PROFILE_URL, 302)]
    assert ERASED in response.text
    assert "0 % Profildaten ausgefüllt" in response.text
    assert raw_row(owner.pk) == {
        "customer_number": None,
        "mobile_number": None,
        "further_info": None,
        "customer_number_bidx": None,
        "consent": False,
        "filled_count": 0,
    }
    assert ConsentRecord.objects.filter(user=owner, action="withdrawn").count() == 1
    assert CUSTOMER_NUMBER not in response.text


def test_a_withdrawal_confirmed_in_one_tab_does_not_erase_what_another_tab_saved_since(
    owner, owner_client
):
    # Tab 1 shows the stored data and its warning; tab 2 then saves new data.
    seen = CustomerDataFactory(user=owner, full=True).stamp
    tab2 = owner_client.post(PROFILE_URL, profile_post(**{"customer-further_info": "Neu"}))
    assert tab2.status_code == 302
    after_tab2 = raw_row(owner.pk)

    # Tab 1 confirms the warning it showed: that was about the older state.
    response = owner_client.post(PROFILE_URL, profile_post(consent=False, confirm_withdrawal=seen))

    assert response.status_code == 200
    assert warning_is_shown(response.text)
    assert "Klick zum Bestätigen erneut" in response.text
    assert raw_row(owner.pk) == after_tab2
    assert not ConsentRecord.objects.filter(user=owner, action="withdrawn").exists()
    # The page now asks about the state as it is; confirming that erases.
    fresh = CustomerData.objects.get(user=owner).stamp
    assert fresh != seen
    assert f'value="{fresh}"' in tag(response.text, "data-confirm-withdrawal")
    again = owner_client.post(PROFILE_URL, profile_post(consent=False, confirm_withdrawal=fresh))
    assert again.status_code == 302
    assert raw_row(owner.pk)["filled_count"] == 0


def test_withdrawing_consent_with_nothing_stored_needs_no_confirmation(owner, owner_client):
    CustomerDataFactory(user=owner)  # consent, nothing stored

    response = owner_client.post(PROFILE_URL, profile_post(consent=False))

    assert response.status_code == 302
    assert ConsentRecord.objects.filter(user=owner, action="withdrawn").count() == 1


def test_an_over_long_input_is_not_echoed_back_whole(owner, owner_client, settings):
    CustomerDataFactory(user=owner, full=True)
    huge = "x" * 2_000_000

    response = owner_client.post(PROFILE_URL, profile_post(**{"customer-further_info": huge}))

    assert response.status_code == 200
    assert "höchstens" in response.text  # the German length message
    limit = settings.CUSTOMER_INFO_MAX_LENGTH
    assert "x" * (limit + 1) in response.text  # enough to see where it went over
    assert "x" * (limit + 200) not in response.text
    assert len(response.content) < 100_000
    assert raw_row(owner.pk)["further_info"] is not None  # the stored value is untouched


def test_a_switch_posted_as_false_still_needs_the_confirmation(owner, owner_client):
    CustomerDataFactory(user=owner, full=True)
    before = raw_row(owner.pk)

    response = owner_client.post(PROFILE_URL, profile_post(**{"customer-consent": "false"}))

    assert response.status_code == 200
    assert warning_is_shown(response.text)
    assert raw_row(owner.pk) == before


# --- Invalid input ---


def test_an_invalid_post_stores_nothing_and_keeps_what_was_typed(owner, owner_client):
    response = owner_client.post(
        PROFILE_URL,
        profile_post(
            **{
                "profile-display_name": "Neuer Name",
                "profile-location": "Köln",
                "customer-customer_number": "12AB34",
                "customer-mobile_number": "0171 7654321",
                "customer-further_info": "Störung 0815",
            }
        ),
    )

    assert response.status_code == 200
    assert "Die Kundennummer darf nur Ziffern enthalten" in response.text
    assert SAVED not in response.text
    assert nothing_stored(owner)
    assert not ConsentRecord.objects.filter(user=owner).exists()
    profile = Profile.objects.get(user=owner)
    assert (profile.display_name, profile.location) == ("Olga Owner", "")
    assert 'value="Neuer Name"' in response.text
    assert 'value="Köln"' in response.text
    assert 'value="12AB34"' in response.text
    assert 'value="0171 7654321"' in response.text
    assert "Störung 0815</textarea>" in response.text
    assert "checked" in tag(response.text, 'role="switch"')


def test_line_breaks_typed_into_further_info_come_back_as_typed(owner, owner_client):
    owner_client.post(
        PROFILE_URL,
        profile_post(**{"customer-further_info": "Auftrag A-99172\r\nab 18 Uhr erreichbar"}),
    )

    assert CustomerData.objects.get(user=owner).further_info == (
        "Auftrag A-99172\nab 18 Uhr erreichbar"
    )
    assert "Auftrag A-99172\nab 18 Uhr erreichbar</textarea>" in owner_client.get(PROFILE_URL).text


def test_an_invalid_profile_field_stores_no_customer_data_either(owner, owner_client):
    response = owner_client.post(PROFILE_URL, profile_post(**{"profile-display_name": "  "}))

    assert response.status_code == 200
    assert "display_name" in response.context["profile_form"].errors
    assert nothing_stored(owner)


def test_an_invalid_post_keeps_stored_data_as_it_was(owner, owner_client):
    CustomerDataFactory(user=owner, full=True)
    before = raw_row(owner.pk)

    owner_client.post(PROFILE_URL, profile_post(**{"customer-mobile_number": "hallo"}))

    assert raw_row(owner.pk) == before


def test_markup_in_further_info_is_escaped_on_the_page(owner, owner_client):
    script = "<script>alert(1)</script>"
    owner_client.post(PROFILE_URL, profile_post(**{"customer-further_info": script}))
    assert CustomerData.objects.get(user=owner).further_info == script

    html = owner_client.get(PROFILE_URL).text

    assert script not in html
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html


def test_markup_is_escaped_when_an_invalid_form_is_shown_again(owner_client):
    script = "<script>alert(1)</script>"
    response = owner_client.post(
        PROFILE_URL,
        profile_post(**{"customer-further_info": script, "customer-customer_number": f"1{script}"}),
    )

    assert response.status_code == 200
    assert script not in response.text
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in response.text


POSTED_FIELDS = [
    "profile-display_name",
    "profile-about",
    "profile-location",
    "customer-customer_number",
    "customer-mobile_number",
    "customer-further_info",
]


@pytest.mark.parametrize("field", POSTED_FIELDS)
@pytest.mark.parametrize("char", ["\x00", "\x1b"], ids=["nul", "escape"])
def test_control_characters_in_any_field_give_a_form_error_never_a_500(
    owner, owner_client, field, char
):
    data = profile_post()
    data[field] = f"{data[field] or 'x'}{char}1"

    response = owner_client.post(PROFILE_URL, data)

    assert response.status_code == 200
    form, name = field.split("-", 1)
    assert name in response.context[f"{form}_form"].errors
    assert nothing_stored(owner)
    assert Profile.objects.get(user=owner).location == ""


# --- Mass assignment ---


def test_extra_post_fields_change_nothing(owner, owner_client, people):
    guide_rank = Rank.objects.get(code="community-guide")
    rank_before = Profile.objects.get(user=owner).rank_id
    extra = {
        "filled_count": "3",
        "customer-filled_count": "3",
        "customer_number_bidx": "f" * 64,
        "customer-customer_number_bidx": "f" * 64,
        "customer-consent_version": "1999-01",
        "customer-consented_at": "2000-01-01 00:00",
        "customer-user": str(people["team"].pk),
        "rank": str(guide_rank.pk),
        "profile-rank": str(guide_rank.pk),
        "is_staff": "on",
        "profile-is_staff": "on",
        "is_superuser": "on",
        "profile-user": str(people["team"].pk),
        "profile-show_rank": "",
        "user_id": str(people["team"].pk),
    }

    response = owner_client.post(
        PROFILE_URL, profile_post(**{"customer-customer_number": "", **extra})
    )

    assert response.status_code == 302
    user = get_user_model().objects.select_related("profile").get(pk=owner.pk)
    assert not user.is_staff
    assert not user.is_superuser
    assert user.profile.rank_id == rank_before
    assert user.profile.show_rank is True
    data = CustomerData.objects.get(user=owner)
    assert data.customer_number_bidx is None
    assert data.filled_count == 2
    assert data.consent_version != "1999-01"
    assert data.consented_at.year != 2000
    assert not CustomerData.objects.filter(user=people["team"]).exists()
    assert Profile.objects.get(user=people["team"]).display_name == "team"


# --- The Einstellungen tab ---


def save_preferences(client: Client, **fields: str):
    data = {"language": "de", "time_zone": "Europe/Berlin", "show_rank": "on", **fields}
    return client.post(TABS["preferences"], {k: v for k, v in data.items() if v is not None})


def test_the_language_applies_from_the_next_request(owner, owner_client):
    before = owner_client.get(PROFILE_URL)
    assert '<html lang="de">' in before.text
    assert before["Content-Language"] == "de"

    response = save_preferences(owner_client, language="en")

    assert response.status_code == 302
    assert response["Location"] == TABS["preferences"]
    assert Profile.objects.get(user=owner).language == "en"
    after = owner_client.get(PROFILE_URL)
    assert '<html lang="en">' in after.text
    assert after["Content-Language"] == "en"


def test_the_time_zone_is_used_for_dates(owner, owner_client):
    ConsentRecordFactory(user=owner, at=datetime.datetime(2026, 1, 15, 23, 30, tzinfo=datetime.UTC))
    berlin = owner_client.get(TABS["privacy"]).text
    assert "00:30" in berlin
    assert "18:30" not in berlin

    save_preferences(owner_client, time_zone="America/New_York")

    new_york = owner_client.get(TABS["privacy"]).text
    assert "18:30" in new_york
    assert "00:30" not in new_york


def test_an_unknown_time_zone_is_refused(owner, owner_client):
    response = save_preferences(owner_client, time_zone="Mars/Olympus_Mons")

    assert response.status_code == 200
    assert Profile.objects.get(user=owner).time_zone == "Europe/Berlin"


def test_show_rank_off_hides_the_rank_badge_on_the_public_profile(people, login):
    guide = people["guide"]
    client = login(guide)
    detail = f"/members/{guide.username}/"
    assert 'class="rank-badge">Community Guide<' in Client().get(detail).text

    response = save_preferences(client, show_rank=None)

    assert response.status_code == 302
    assert Profile.objects.get(user=guide).show_rank is False
    assert "rank-badge" not in Client().get(detail).text
    assert "Community Guide" not in client.get(detail).text


# --- Pinned query counts ---


@pytest.fixture
def busy_site(owner, people):
    """Enough other rows that an N+1 query would change the counts below."""
    others = UserFactory.create_batch(30)
    for other in others[:5]:
        CustomerDataFactory(user=other, full=True)
    for number in range(30):
        ConsentRecordFactory(user=owner, withdrawn=number % 2 == 1)
    CustomerDataFactory(user=owner, full=True)
    viewers = [people["team"], people["cm"]]
    for number in range(30):
        PersonalDataAccessFactory(viewer=viewers[number % 2], subject=owner)
    return owner


# Every request of a logged-in member starts with the same queries:
#   1. the session row, 2. the user with profile, rank, role flags and rank threshold.
# The session is not saved again: it was refreshed less than COMMUNITY_SESSION_REFRESH_INTERVAL ago.
# (Atomic blocks show up as SAVEPOINT/RELEASE because each test runs inside a transaction.)
REQUEST_OVERHEAD = 2


@pytest.mark.parametrize(
    ("tab", "own_queries"),
    [
        # 3. the member's customer data row
        ("profile", 1),
        # nothing more: the form reads the profile loaded with the user
        ("preferences", 0),
        # 3. COUNT of the access log for its pager, 4. the fill state (encrypted columns
        # deferred), 5. one page of the access log with each viewer's name and roles,
        # 6. the consent records
        ("privacy", 4),
    ],
)
def test_each_tab_needs_a_fixed_number_of_queries(
    busy_site, login, django_assert_num_queries, tab, own_queries
):
    client = login(busy_site)

    with django_assert_num_queries(REQUEST_OVERHEAD + own_queries):
        response = client.get(TABS[tab])

    assert response.status_code == 200


def test_saving_the_profile_tab_needs_a_fixed_number_of_queries(
    busy_site, login, django_assert_num_queries
):
    client = login(busy_site)

    # 1-2. session and user; 3. the member's customer data row;
    # 4. the staff role names (display names must not pass for the staff);
    # 5. SAVEPOINT (the view's transaction);
    # 6. UPDATE of the profile;
    # 7. SAVEPOINT (the service's transaction); 8. SELECT ... FOR UPDATE of the row;
    # 9. UPDATE of the customer data row; 10. RELEASE SAVEPOINT; 11. RELEASE SAVEPOINT;
    # 12-14. SAVEPOINT, UPDATE of the session (the success message), RELEASE SAVEPOINT.
    with django_assert_num_queries(14):
        response = client.post(PROFILE_URL, profile_post(**{"customer-further_info": "neu"}))

    assert response.status_code == 302
    assert CustomerData.objects.get(user=busy_site).further_info == "neu"
