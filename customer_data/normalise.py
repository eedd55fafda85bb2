"""Canonical forms of the customer-data values."""

import re

import phonenumbers

CUSTOMER_NUMBER_SEPARATORS = re.compile(r"[\s\-/]+")


def normalise_customer_number(raw: str) -> str:
    """Digits only: spaces, dashes and slashes removed (anything else is left for validation)."""
    return CUSTOMER_NUMBER_SEPARATORS.sub("", raw)


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
