"""Staff find a member by phone number (an exact-match blind index over E.164) and by part of
a name, in the admin's one search box; the phone index follows the key, the rebuild and the
erasure like the customer-number index does."""

import io
import re

import pytest
from cryptography.fernet import Fernet
from django.core.exceptions import PermissionDenied
from django.core.management import call_command
from django.db import connection
from django.test.utils import CaptureQueriesContext

from community.backends import viewer_queryset
from customer_data import crypto, selectors, services
from customer_data.forms import CustomerDataForm
from customer_data.models import ConsentRecord, CustomerData, PersonalDataAccess
from customer_data.normalise import parse_phone_number
from customer_data.selectors import MatchKind
from tests.factories import (
    CUSTOMER_NUMBER,
    MOBILE_NUMBER,
    MOBILE_NUMBER_SHOWN,
    CustomerDataFactory,
    UserFactory,
)
from tests.helpers import raw_row
from tests.visibility.conftest import leaks

pytestmark = pytest.mark.django_db

SEARCH = "/admin/customer_data/customerdata/search/"
# A landline as stored, and as a member types it.
LANDLINE = "+492281810"
LANDLINE_TYPED = "0228 1810"
INDEX_COLUMNS = ["customer_number_bidx", "mobile_number_bidx"]

# The owner's mobile number (+49 170 1234567) in the forms people write it.
MOBILE_FORMS = [
    MOBILE_NUMBER,
    MOBILE_NUMBER_SHOWN,  # 0170 1234567
    "01701234567",
    "+49 170 1234567",
    "+49 (0)170 1234567",
    "(0170) 123 45 67",
    "0049 170 1234567",
    "00491701234567",
    "0170/1234567",
    "0170-123 45 67",
]
# Terms that are no phone number (too short, too long, letters): never looked up as one.
NOT_PHONE_NUMBERS = ["+49 170 123456", "+4917012345", "Olga", "owner", "12345"]


def indexes(user) -> dict[str, object] | None:
    return raw_row(user.pk, INDEX_COLUMNS)


def new_key() -> str:
    return Fernet.generate_key().decode()


@pytest.fixture
def owner_data(people):
    return CustomerDataFactory(user=people["owner"], full=True)


# --- Reading a term ---


@pytest.mark.parametrize("typed", [*MOBILE_FORMS, LANDLINE_TYPED, "+49 228 1810", "(0228) 18 10"])
def test_the_search_reads_a_phone_number_as_the_profil_tab_stores_it(typed):
    stored = CustomerDataForm(data={"consent": "on", "mobile_number": typed})
    assert stored.is_valid(), stored.errors
    assert parse_phone_number(typed) == stored.cleaned_data["mobile_number"]


@pytest.mark.parametrize("term", NOT_PHONE_NUMBERS)
def test_a_term_that_is_no_phone_number_is_not_looked_up_as_one(term):
    search = selectors.member_search(term)
    assert search.mobile_number_index is None
    assert MatchKind.MOBILE_NUMBER not in search.kinds


@pytest.mark.parametrize(
    ("term", "kinds"),
    [
        # Digits only, a valid customer number and a valid phone number: both are searched.
        (MOBILE_NUMBER_SHOWN, [MatchKind.CUSTOMER_NUMBER, MatchKind.MOBILE_NUMBER]),
        (CUSTOMER_NUMBER, [MatchKind.CUSTOMER_NUMBER, MatchKind.MOBILE_NUMBER]),
        # Not digits only: a phone number alone.
        ("+49 170 1234567", [MatchKind.MOBILE_NUMBER]),
        ("(0170) 123 45 67", [MatchKind.MOBILE_NUMBER]),
        # Digits, but neither (too few for a customer number, no valid phone number).
        ("12345", [MatchKind.NAME]),
        ("Olga Owner", [MatchKind.NAME]),
    ],
)
def test_what_a_term_is_searched_as(term, kinds):
    assert selectors.member_search(term).kinds == kinds


def test_a_search_keeps_no_number_only_its_index():
    search = selectors.member_search(MOBILE_NUMBER_SHOWN)
    assert MOBILE_NUMBER not in repr(search)
    assert "1701234567" not in repr(search)
    assert search.mobile_number_index == crypto.blind_index(MOBILE_NUMBER)


# --- Finding by phone number ---


@pytest.mark.parametrize("term", MOBILE_FORMS)
@pytest.mark.parametrize("who", ["team", "cm"])
def test_every_usual_form_of_the_mobile_number_finds_the_member(term, who, client_for, owner_data):
    response = client_for(who).post(SEARCH, {"q": term})
    assert response.status_code == 200
    assert "Olga Owner" in response.text
    assert "Treffer über die Handynummer" in response.text
    assert leaks(response.text) == []  # the number searched for is not echoed


@pytest.mark.parametrize("term", [LANDLINE_TYPED, "+49 228 1810", "(0228) 18 10", "0228/1810"])
def test_a_landline_finds_the_member_too(term, people, client_for):
    CustomerDataFactory(user=people["owner"], mobile_number=LANDLINE)
    response = client_for("team").post(SEARCH, {"q": term})
    assert "Olga Owner" in response.text
    assert "Treffer über die Handynummer" in response.text


@pytest.mark.parametrize("term", NOT_PHONE_NUMBERS)
def test_a_term_that_is_no_phone_number_never_reaches_the_phone_index(
    term, people, client_for, owner_data
):
    with CaptureQueriesContext(connection) as captured:
        response = client_for("team").post(SEARCH, {"q": term})
    assert response.status_code == 200
    assert "Treffer über die Handynummer" not in response.text
    condition = re.compile(r"mobile_number_bidx\W*\s*=")
    assert not any(condition.search(query["sql"]) for query in captured.captured_queries)


def test_a_phone_number_finds_only_an_exact_match(client_for, owner_data, people):
    CustomerDataFactory(user=people["regular"], mobile_number="+491701234568")
    text = client_for("team").post(SEARCH, {"q": MOBILE_NUMBER_SHOWN}).text
    assert "Olga Owner" in text
    assert "regular" not in text
    assert "1 Mitglied gefunden" in text


def test_nothing_else_about_phone_numbers_is_searchable(client_for, owner_data):
    """Neither part of the number, nor the URL search, nor a number without its area code."""
    client = client_for("team")
    for term in ("1234567", "0170", "170 1234"):
        assert "Olga Owner" not in client.post(SEARCH, {"q": term}).text
    changelist = client.get("/admin/customer_data/customerdata/", {"q": MOBILE_NUMBER_SHOWN})
    assert "Olga Owner" not in changelist.text


def test_a_digits_only_term_searches_both_numbers_and_says_which_matched(
    client_for, owner_data, people
):
    # Another member's customer number is the owner's phone number written as digits.
    CustomerDataFactory(user=people["regular"], customer_number="01701234567")
    response = client_for("team").post(SEARCH, {"q": MOBILE_NUMBER_SHOWN})
    text = response.text
    assert "2 Mitglieder gefunden" in text
    owner_row = text[text.index("Olga Owner") :].split("</tr>")[0]
    regular_row = text[text.index("(regular)") :].split("</tr>")[0]
    assert "Treffer über die Handynummer" in owner_row
    assert "Treffer über die Kundennummer" in regular_row


def test_a_number_does_not_find_data_kept_under_an_outdated_consent(people, client_for):
    CustomerDataFactory(user=people["owner"], outdated_consent=True)
    for term in (MOBILE_NUMBER_SHOWN, CUSTOMER_NUMBER):
        assert "Olga Owner" not in client_for("team").post(SEARCH, {"q": term}).text
    assert not PersonalDataAccess.objects.exists()


# --- Finding by name ---


@pytest.mark.parametrize("term", ["Olga", "olga owner", "OWNER", "wne", "Owner"])
def test_part_of_the_display_name_or_username_finds_the_member(term, client_for, owner_data):
    response = client_for("cm").post(SEARCH, {"q": term})
    assert "Olga Owner" in response.text
    assert "Treffer über den Namen" in response.text


def test_a_name_finds_members_without_stored_numbers_too_ordered_by_username(
    people, client_for, owner_data
):
    for name in ("zora", "anna"):
        CustomerDataFactory(user=UserFactory(username=f"{name}-owner"))
    text = client_for("team").post(SEARCH, {"q": "owner"}).text
    assert "3 Mitglieder gefunden" in text
    assert text.index("anna-owner") < text.index("(owner)") < text.index("zora-owner")


def test_a_name_search_shows_at_most_fifty_members(people, client_for):
    for index in range(52):
        CustomerDataFactory(user=UserFactory(username=f"crowd{index:02d}"))
    text = client_for("team").post(SEARCH, {"q": "crowd"}).text
    assert "50 Mitglieder gefunden" in text
    assert "crowd49" in text
    assert "crowd50" not in text


# --- Who may search ---


@pytest.mark.parametrize("who", ["member", "expert", "admin"])
def test_staff_without_a_content_role_get_403_and_nothing_is_logged(
    who, people, client_for, owner_data
):
    people[who].is_staff = True
    people[who].save()
    for term in (MOBILE_NUMBER_SHOWN, CUSTOMER_NUMBER, "owner"):
        response = client_for(who).post(SEARCH, {"q": term})
        assert response.status_code == 403
        assert "Olga Owner" not in response.text
    assert not PersonalDataAccess.objects.exists()


@pytest.mark.parametrize("who", ["member", "expert", "guide"])
def test_members_who_are_not_staff_are_sent_to_the_admin_login(who, client_for, owner_data):
    response = client_for(who).post(SEARCH, {"q": MOBILE_NUMBER_SHOWN})
    assert response.status_code == 302
    assert response["Location"].startswith("/admin/login/")
    assert "1701234567" not in response["Location"]
    assert not PersonalDataAccess.objects.exists()


@pytest.mark.parametrize("who", ["member", "expert", "admin", "owner"])
def test_the_search_service_itself_refuses_anyone_without_a_content_role(who, people, owner_data):
    viewer = viewer_queryset().get(pk=people[who].pk)
    with pytest.raises(PermissionDenied):
        services.search_members(viewer=viewer, term=MOBILE_NUMBER_SHOWN)
    assert not PersonalDataAccess.objects.exists()


# --- The phone index: saving, keys, rebuild, erasure ---


def test_saving_sets_the_phone_index_and_changing_the_number_changes_it(people):
    owner = people["owner"]
    CustomerDataFactory(user=owner, full=True)
    assert indexes(owner)["mobile_number_bidx"] == crypto.blind_index(MOBILE_NUMBER)
    CustomerDataFactory(user=owner, mobile_number=LANDLINE)
    assert indexes(owner) == {
        "customer_number_bidx": None,
        "mobile_number_bidx": crypto.blind_index(LANDLINE),
    }
    CustomerDataFactory(user=owner, customer_number=CUSTOMER_NUMBER)
    assert indexes(owner)["mobile_number_bidx"] is None


def test_the_two_indexes_of_one_member_differ(people):
    # The customer number is digits, the phone number E.164 with its "+": never the same input.
    CustomerDataFactory(
        user=people["owner"], customer_number="491701234567", mobile_number=MOBILE_NUMBER
    )
    row = indexes(people["owner"])
    assert row["customer_number_bidx"] != row["mobile_number_bidx"]


@pytest.mark.parametrize(
    "erase",
    [
        pytest.param(
            lambda user: CustomerDataFactory(user=user, consent=False), id="consent withdrawn"
        ),
        pytest.param(
            lambda user: services.erase_customer_data(user_id=user.pk, by=user), id="erased now"
        ),
        pytest.param(
            lambda user: services.erase_customer_data(
                user_id=user.pk, by=None, reason=ConsentRecord.Reason.RETENTION
            ),
            id="retention purge",
        ),
    ],
)
def test_erasing_the_data_clears_the_phone_index(erase, people, client_for):
    owner = people["owner"]
    CustomerDataFactory(user=owner, full=True)
    erase(owner)
    assert indexes(owner) == dict.fromkeys(INDEX_COLUMNS)
    assert "Olga Owner" not in client_for("team").post(SEARCH, {"q": MOBILE_NUMBER_SHOWN}).text


def test_consenting_again_to_a_new_text_drops_the_old_phone_index(people, settings):
    owner = people["owner"]
    CustomerDataFactory(user=owner, outdated_consent=True)
    assert indexes(owner)["mobile_number_bidx"] is not None
    CustomerDataFactory(user=owner)  # consent to the text in force, nothing typed in
    assert indexes(owner) == dict.fromkeys(INDEX_COLUMNS)


def test_rotating_the_encryption_key_keeps_phone_search_working(people, settings, client_for):
    old, new = new_key(), new_key()
    settings.FIELD_ENCRYPTION_KEYS = [old]
    CustomerDataFactory(user=people["owner"], full=True)
    before = indexes(people["owner"])

    settings.FIELD_ENCRYPTION_KEYS = [new, old]
    call_command("rotate_field_keys", stdout=io.StringIO(), stderr=io.StringIO())
    settings.FIELD_ENCRYPTION_KEYS = [new]

    assert indexes(people["owner"]) == before  # the index has its own key
    assert "Olga Owner" in client_for("team").post(SEARCH, {"q": MOBILE_NUMBER_SHOWN}).text


def test_a_new_index_key_needs_the_rebuild_which_restores_both_indexes(
    people, settings, client_for
):
    owner = people["owner"]
    CustomerDataFactory(user=owner, full=True)
    phone_only = UserFactory(username="phone-only", display_name="Paula Phone")
    CustomerDataFactory(user=phone_only, mobile_number=LANDLINE)
    settings.BLIND_INDEX_KEY = "a-completely-new-index-key-" + "p" * 32
    client = client_for("team")
    assert "Olga Owner" not in client.post(SEARCH, {"q": MOBILE_NUMBER_SHOWN}).text

    out = io.StringIO()
    call_command("rebuild_blind_index", batch_size=1, stdout=out, stderr=io.StringIO())

    assert "von 2 Datensätzen" in out.getvalue()
    assert "Olga Owner" in client.post(SEARCH, {"q": MOBILE_NUMBER_SHOWN}).text
    assert "Olga Owner" in client.post(SEARCH, {"q": CUSTOMER_NUMBER}).text
    assert "Paula Phone" in client.post(SEARCH, {"q": LANDLINE_TYPED}).text
    assert indexes(phone_only) == {
        "customer_number_bidx": None,
        "mobile_number_bidx": crypto.blind_index(LANDLINE),
    }


def test_the_rebuild_fills_the_phone_index_of_rows_stored_before_it_existed(people, client_for):
    owner = people["owner"]
    CustomerDataFactory(user=owner, full=True)
    CustomerData.objects.filter(user=owner).update(mobile_number_bidx=None)  # as after 0004
    assert "Olga Owner" not in client_for("team").post(SEARCH, {"q": MOBILE_NUMBER_SHOWN}).text

    call_command("rebuild_blind_index", stdout=io.StringIO(), stderr=io.StringIO())

    assert indexes(owner)["mobile_number_bidx"] == crypto.blind_index(MOBILE_NUMBER)
    assert "Olga Owner" in client_for("team").post(SEARCH, {"q": MOBILE_NUMBER_SHOWN}).text


def test_an_interrupted_rebuild_resumes_with_both_indexes(people, settings, monkeypatch):
    users = [UserFactory() for _ in range(4)]
    for user in users:
        CustomerDataFactory(user=user, mobile_number=MOBILE_NUMBER)
    settings.BLIND_INDEX_KEY = "another-new-index-key-" + "q" * 32
    calls = 0
    real_decrypt = crypto.decrypt

    class Interrupted(Exception):
        pass

    def decrypt_until_the_third_row(token: str) -> str:
        nonlocal calls
        calls += 1
        if calls == 3:
            raise Interrupted  # the run stops in its second batch
        return real_decrypt(token)

    monkeypatch.setattr(crypto, "decrypt", decrypt_until_the_third_row)
    with pytest.raises(Interrupted):
        services.rebuild_blind_index(batch_size=2)
    monkeypatch.setattr(crypto, "decrypt", real_decrypt)

    result = services.rebuild_blind_index(batch_size=2)

    assert result.resumed_after > 0
    assert result.done == 2
    for user in users:
        assert indexes(user)["mobile_number_bidx"] == crypto.blind_index(MOBILE_NUMBER)
