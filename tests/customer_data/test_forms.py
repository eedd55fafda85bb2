"""Validation of the customer-data form: each rule with its German message."""

import pytest
from hypothesis import given, settings as hypothesis_settings, strategies as st

from customer_data.forms import CustomerDataForm
from customer_data.models import CustomerData
from tests.factories import MOBILE_NUMBER, MOBILE_NUMBER_SHOWN

DIGITS_MESSAGE = (
    "Die Kundennummer darf nur Ziffern enthalten (Leerzeichen, Bindestriche "
    "und Schrägstriche sind erlaubt)."
)
PHONE_MESSAGE = "Bitte gib eine gültige Telefonnummer ein, z. B. 0171 1234567 oder +49 228 123456."
CONTROL_MESSAGE = "Die Eingabe enthält unzulässige Steuerzeichen."
NUL_MESSAGE = "Nullzeichen sind nicht erlaubt."


def bound(**data: str) -> CustomerDataForm:
    return CustomerDataForm(data={"consent": "on", **data})


def errors(form: CustomerDataForm, field: str) -> list[str]:
    assert not form.is_valid()
    return form.errors[field]


# --- Kundennummer ---


@pytest.mark.parametrize(
    ("typed", "normalised"),
    [
        ("123456789", "123456789"),
        ("1234 5678 90", "1234567890"),
        ("1234-5678-90", "1234567890"),
        ("1234/5678/90", "1234567890"),
        (" 12 34-56/78 90 ", "1234567890"),
        ("12 - 34 / 56", "123456"),
    ],
)
def test_customer_number_keeps_the_digits_after_removing_spaces_dashes_and_slashes(
    typed, normalised
):
    form = bound(customer_number=typed)

    assert form.is_valid(), form.errors
    assert form.cleaned_data["customer_number"] == normalised


@pytest.mark.parametrize(
    "typed", ["12345A789", "ABCDEFGH", "123.456.789", "123_456_789", "+49123456", "١٢٣٤٥٦٧"]
)
def test_customer_number_refuses_anything_but_digits_and_separators(typed):
    assert errors(bound(customer_number=typed), "customer_number") == [DIGITS_MESSAGE]


def test_customer_number_refuses_fullwidth_digits():
    assert errors(bound(customer_number="１２３４５６７"), "customer_number") == [DIGITS_MESSAGE]


@pytest.mark.parametrize(
    ("typed", "valid"),
    [("12345", False), ("123456", True), ("1" * 20, True), ("1" * 21, False)],
    ids=["5-digits", "6-digits", "20-digits", "21-digits"],
)
def test_customer_number_length_defaults_to_6_to_20_digits(typed, valid):
    form = bound(customer_number=typed)

    assert form.is_valid() is valid
    if not valid:
        assert form.errors["customer_number"] == ["Die Kundennummer muss 6 bis 20 Ziffern haben."]


def test_customer_number_counts_digits_not_separators():
    assert bound(customer_number="12 34 5").is_valid() is False
    assert bound(customer_number="12-34-56").is_valid() is True


def test_customer_number_length_limits_come_from_settings(settings):
    settings.CUSTOMER_NUMBER_MIN_DIGITS = 8
    settings.CUSTOMER_NUMBER_MAX_DIGITS = 10

    assert errors(bound(customer_number="1234567"), "customer_number") == [
        "Die Kundennummer muss 8 bis 10 Ziffern haben."
    ]
    assert bound(customer_number="12345678").is_valid()
    assert bound(customer_number="1234-567-890").is_valid()
    assert not bound(customer_number="12345678901").is_valid()


def test_an_empty_customer_number_is_allowed_and_empty():
    form = bound(customer_number="  - / ")

    assert form.is_valid(), form.errors
    assert form.cleaned_data["customer_number"] == ""


# --- Handynummer ---


@pytest.mark.parametrize(
    ("typed", "e164"),
    [
        ("0171 1234567", "+491711234567"),
        ("0171/1234567", "+491711234567"),
        ("+49 171 1234567", "+491711234567"),
        ("0228 123456", "+49228123456"),
        ("030 12345678", "+493012345678"),
        ("+43 1 234567", "+431234567"),
    ],
    ids=["mobile", "mobile-slash", "mobile-international", "landline", "berlin", "austria"],
)
def test_phone_number_is_parsed_with_region_de_and_stored_as_e164(typed, e164):
    form = bound(mobile_number=typed)

    assert form.is_valid(), form.errors
    assert form.cleaned_data["mobile_number"] == e164


@pytest.mark.parametrize("typed", ["hallo", "123", "0171", "++49 171", "0171 1234567 890 1234"])
def test_phone_number_refuses_garbage_with_a_german_message(typed):
    assert errors(bound(mobile_number=typed), "mobile_number") == [PHONE_MESSAGE]


def test_an_empty_phone_number_is_allowed_and_empty():
    form = bound(mobile_number="")

    assert form.is_valid(), form.errors
    assert form.cleaned_data["mobile_number"] == ""


def test_a_stored_phone_number_is_shown_in_a_readable_format(settings):
    version = settings.CONSENT_TEXT_VERSION
    german = CustomerData(consent=True, consent_version=version, mobile_number=MOBILE_NUMBER)
    austrian = CustomerData(consent=True, consent_version=version, mobile_number="+431234567")

    assert CustomerDataForm.initial_from(german)["mobile_number"] == MOBILE_NUMBER_SHOWN
    assert CustomerDataForm.initial_from(austrian)["mobile_number"] == "+43 1 234567"


# --- Weitere Informationen ---


def test_further_info_keeps_several_lines_with_normalised_line_endings():
    form = bound(further_info="Auftrag 4711\r\nStörung 0815\rab 18 Uhr\n\tbitte anrufen")

    assert form.is_valid(), form.errors
    assert form.cleaned_data["further_info"] == (
        "Auftrag 4711\nStörung 0815\nab 18 Uhr\n\tbitte anrufen"
    )


def test_further_info_is_limited_to_1000_characters_by_default():
    assert bound(further_info="x" * 1000).is_valid()
    assert errors(bound(further_info="x" * 1001), "further_info") == [
        "Bitte sicherstellen, dass der Wert aus höchstens 1000 Zeichen besteht. "
        "(Er besteht aus 1001 Zeichen.)"
    ]


def test_further_info_counts_multi_line_text_against_the_limit():
    lines = "\n".join(["Auftrag 12345"] * 80)  # 80 * 13 + 79 newlines = 1119 characters

    assert not bound(further_info=lines).is_valid()
    assert bound(further_info="\n".join(["Auftrag 12345"] * 70)).is_valid()


def test_further_info_limit_comes_from_settings(settings):
    settings.CUSTOMER_INFO_MAX_LENGTH = 20

    form = bound(further_info="x" * 21)

    assert "höchstens 20 Zeichen" in errors(form, "further_info")[0]
    assert form["further_info"].field.widget.attrs["maxlength"] == "20"
    assert bound(further_info="x" * 20).is_valid()


def test_further_info_is_kept_as_plain_text():
    form = bound(further_info="<script>alert(1)</script> & <b>fett</b>")

    assert form.is_valid(), form.errors
    assert form.cleaned_data["further_info"] == "<script>alert(1)</script> & <b>fett</b>"


# --- Control characters in every field ---

FIELDS = {
    "customer_number": "123456{}789",
    "mobile_number": "0171 123{}4567",
    "further_info": "Auftrag{}4711",
}


@pytest.mark.parametrize("field", FIELDS)
def test_a_nul_byte_is_a_form_error_in_every_field(field):
    form = bound(**{field: FIELDS[field].format("\x00")})

    assert not form.is_valid()
    assert field in form.errors
    assert set(form.errors) == {field}


@pytest.mark.parametrize("field", FIELDS)
@pytest.mark.parametrize(
    "char",
    ["\x07", "\x1b", "\x7f", "\x85", "\u200b", "\u202e", "\u2066", "\ufeff", "\u00ad"],
    ids=["bell", "escape", "delete", "nel", "zwsp", "rlo", "lri", "bom", "soft-hyphen"],
)
def test_control_and_format_characters_are_a_form_error_in_every_field(field, char):
    form = bound(**{field: FIELDS[field].format(char)})

    assert not form.is_valid()
    assert form.errors[field][0] in {CONTROL_MESSAGE, PHONE_MESSAGE, DIGITS_MESSAGE}
    assert set(form.errors) == {field}


@pytest.mark.parametrize("field", ["customer_number", "further_info"])
def test_the_control_character_message_is_german_and_does_not_repeat_the_input(field):
    typed = FIELDS[field].format("\x1b")

    messages = errors(bound(**{field: typed}), field)

    assert messages == [CONTROL_MESSAGE]
    assert typed not in messages[0]


def test_a_zero_width_space_inside_a_valid_phone_number_is_refused():
    assert errors(bound(mobile_number="0171 123\u200b4567"), "mobile_number") == [CONTROL_MESSAGE]


def test_tabs_are_refused_in_single_line_fields_but_allowed_in_further_info():
    assert errors(bound(customer_number="123\t456789"), "customer_number") == [CONTROL_MESSAGE]
    assert bound(further_info="Auftrag\t4711").is_valid()


# --- The switch ---


def test_with_the_switch_off_invalid_values_are_ignored_and_not_returned():
    form = CustomerDataForm(
        data={
            "customer_number": "ABC",
            "mobile_number": "hallo",
            "further_info": "x\x00" * 2000,
        }
    )

    assert form.is_valid(), form.errors
    assert form.cleaned_data == {"consent": False}


def test_with_the_switch_off_valid_values_are_not_returned_either():
    form = CustomerDataForm(
        data={"customer_number": "123456789", "mobile_number": "0171 1234567", "further_info": "x"}
    )

    assert form.is_valid()
    for name in ("customer_number", "mobile_number", "further_info"):
        assert name not in form.cleaned_data


@pytest.mark.parametrize("value", [None, "", "false", "False"])
def test_the_switch_reads_as_off_for_false_values(value):
    switch = {} if value is None else {"consent": value}

    form = CustomerDataForm(data={**switch, "customer_number": "ABC"})

    assert form.is_valid()
    assert form.cleaned_data["consent"] is False


@pytest.fixture
def stored_data(settings):
    return CustomerData(
        consent=True, consent_version=settings.CONSENT_TEXT_VERSION, customer_number="123456789"
    )


@pytest.mark.parametrize("value", [None, "", "false", "False"])
def test_switching_off_while_data_is_stored_counts_as_withdrawal(stored_data, value):
    data = {} if value is None else {"consent": value}

    form = CustomerDataForm(data=data, instance=stored_data)

    assert form.is_valid()
    assert form.cleaned_data["consent"] is False
    assert form.withdraws is True


def test_keeping_the_switch_on_or_having_nothing_stored_is_no_withdrawal(stored_data, settings):
    assert CustomerDataForm(data={"consent": "on"}, instance=stored_data).withdraws is False
    assert CustomerDataForm(data={}, instance=None).withdraws is False
    outdated = CustomerData(consent=True, consent_version="1999-01", customer_number="123456789")
    assert CustomerDataForm(data={}, instance=outdated).withdraws is False
    assert CustomerDataForm(instance=stored_data).withdraws is False


def test_a_stored_consent_for_an_older_text_shows_the_switch_off_and_no_values():
    outdated = CustomerData(consent=True, consent_version="1999-01", customer_number="123456789")

    form = CustomerDataForm(instance=outdated)

    assert form.initial == {"consent": False}
    assert "123456789" not in str(form["customer_number"])


def test_the_switch_is_a_checkbox_announced_as_a_switch():
    html = str(CustomerDataForm()["consent"])

    assert 'type="checkbox"' in html
    assert 'role="switch"' in html


def test_the_switch_is_off_by_default():
    form = CustomerDataForm()

    assert not form["consent"].value()
    assert "checked" not in str(form["consent"])


# --- No input makes the form raise ---

ANY_TEXT = st.text(max_size=300)
NUMBERISH = st.text(alphabet="0123456789 -/+()\x00\t\u200b٣Aa", max_size=40)


@hypothesis_settings(max_examples=200, deadline=None)
@given(
    consent=st.one_of(ANY_TEXT, st.sampled_from(["on", "true", "1", ""])),
    customer_number=st.one_of(ANY_TEXT, NUMBERISH),
    mobile_number=st.one_of(ANY_TEXT, NUMBERISH),
    further_info=st.one_of(ANY_TEXT, st.text(min_size=990, max_size=1010)),
)
def test_no_input_makes_the_form_raise(consent, customer_number, mobile_number, further_info):
    form = CustomerDataForm(
        data={
            "consent": consent,
            "customer_number": customer_number,
            "mobile_number": mobile_number,
            "further_info": further_info,
        }
    )

    if form.is_valid():
        cleaned = form.cleaned_data
        for name in ("customer_number", "mobile_number", "further_info"):
            value = cleaned.get(name, "")
            assert "\x00" not in value
            assert isinstance(value, str)
        if cleaned.get("customer_number"):
            assert cleaned["customer_number"].isascii()
            assert cleaned["customer_number"].isdigit()
        if cleaned.get("mobile_number"):
            assert cleaned["mobile_number"].startswith("+")
    else:
        assert all(isinstance(m, str) for messages in form.errors.values() for m in messages)
