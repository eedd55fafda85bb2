"""Errors at a glance: a Profil form that comes back with errors starts with a summary that
links each message to its field; every field keeps its own message."""

import re

import pytest

from tests.profiles.test_settings_tabs import PROFILE_URL, profile_post

pytestmark = pytest.mark.django_db


@pytest.fixture
def client(people, login):
    return login(people["owner"])


def summary(html: str) -> str:
    found = re.search(r'<section class="error-summary".*?</section>', html, re.S)
    assert found, "no error summary"
    return found.group(0)


def test_a_valid_form_and_a_first_visit_have_no_summary(client):
    assert "error-summary" not in client.get(PROFILE_URL).text
    response = client.post(PROFILE_URL, profile_post(), follow=True)
    assert "error-summary" not in response.text


def test_each_error_is_listed_and_linked_to_its_field(client):
    response = client.post(
        PROFILE_URL,
        profile_post(
            **{
                "profile-display_name": " ",
                "customer-customer_number": "12AB34",
                "customer-mobile_number": "12",
            }
        ),
    )

    box = summary(response.text)
    assert 'tabindex="-1"' in box
    assert 'aria-labelledby="error-summary-heading"' in box
    assert "Bitte prüfe 3 Angaben:" in box
    links = re.findall(r'<a href="#([^"]+)" data-error-link>([^<]+)</a>', box)
    assert [(target, text.split(":")[0]) for target, text in links] == [
        ("id_profile-display_name", "Anzeigename"),
        ("id_customer-customer_number", "Kundennummer"),
        ("id_customer-mobile_number", "Handynummer"),
    ]
    # Every link points at a field on the page, which still shows its own message.
    for target, text in links:
        assert f'id="{target}"' in response.text
        message = text.split(": ", 1)[1]
        assert response.text.count(message) >= 2, message


def test_one_error_is_named_in_the_singular(client):
    response = client.post(PROFILE_URL, profile_post(**{"customer-customer_number": "12AB34"}))

    assert "Bitte prüfe eine Angabe:" in summary(response.text)


def test_the_summary_never_repeats_what_was_typed(client):
    response = client.post(
        PROFILE_URL,
        profile_post(**{"customer-customer_number": "9988AB77", "customer-mobile_number": "12"}),
    )

    box = summary(response.text)
    assert "9988AB77" not in box
    assert ">12<" not in box
    assert " 12 " not in box
