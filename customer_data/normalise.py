"""Canonical forms of the customer-data values."""

import re

import phonenumbers
from django.conf import settings
from django.views.decorators.debug import sensitive_variables
from phonenumber_field.phonenumber import PhoneNumber, to_python

CUSTOMER_NUMBER_SEPARATORS = re.compile(r"[\s\-/]+")
# Numbers without a country code are German: the Profil tab's field and the staff search
# read them alike, so a number finds what the tab stored.
PHONE_REGION = "DE"


def normalise_customer_number(raw: str) -> str:
    """Digits only: spaces, dashes and slashes removed (anything else is left for validation)."""
    return CUSTOMER_NUMBER_SEPARATORS.sub("", raw)


@sensitive_variables("raw", "number")
def valid_customer_number(raw: str) -> str | None:
    """The normalised customer number if `raw` is one the Profil tab accepts (digits only,
    `CUSTOMER_NUMBER_MIN_DIGITS` to `CUSTOMER_NUMBER_MAX_DIGITS` of them), else None."""
    number = normalise_customer_number(raw)
    low, high = settings.CUSTOMER_NUMBER_MIN_DIGITS, settings.CUSTOMER_NUMBER_MAX_DIGITS
    if number.isascii() and number.isdigit() and low <= len(number) <= high:
        return number
    return None


@sensitive_variables("raw", "number")
def parse_phone_number(raw: str) -> str | None:
    """The E.164 form of `raw` if it is a valid phone number, else None.

    Reads the input as the Profil tab's `PhoneNumberField(region="DE")` does (the same
    library call and validity check), so every form a member types, "0170 1234567",
    "+49 170 1234567", "(0170) 123 45 67", "0049 170 1234567", gives what the tab stored.
    """
    number = to_python(raw, region=PHONE_REGION)
    if isinstance(number, PhoneNumber) and number.is_valid():
        return str(number.as_e164)
    return None


def format_phone_number(e164: str) -> str:
    """A stored E.164 number as people read it: national for German numbers, else international."""
    try:
        number = phonenumbers.parse(e164, None)
    except phonenumbers.NumberParseException:
        return e164
    style = (
        phonenumbers.PhoneNumberFormat.NATIONAL
        if phonenumbers.region_code_for_number(number) == "DE"
        else phonenumbers.PhoneNumberFormat.INTERNATIONAL
    )
    return phonenumbers.format_number(number, style)


def tel_uri(stored: str) -> str:
    """A stored number as a `tel:` link target: "tel:" and the E.164 form ("tel:+491701234567"),
    which dials from anywhere. Numbers are stored in E.164; anything that does not parse keeps
    only its digits and plus signs, so the link carries nothing else."""
    try:
        number = phonenumbers.parse(stored, PHONE_REGION)
    except phonenumbers.NumberParseException:
        return "tel:" + "".join(c for c in stored if c.isascii() and (c.isdigit() or c == "+"))
    return "tel:" + phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)
