"""The Profil tab's help texts: the help article's facts in the community's words, each tied
to its field with aria-describedby so that a screen reader reads it with the field."""

from html.parser import HTMLParser

import pytest
from django.conf import settings
from django.utils import translation

from tests.helpers import store_customer_data

pytestmark = pytest.mark.django_db

PROFILE_URL = "/settings/profile/"

# Per field: words of its help text that carry the article's facts.
HELP_FACTS = {
    "consent": ["Ich willige ein", "Ausschalten und Speichern löscht die Daten"],
    "customer_number": ["Rechnung", "Auftragsbestätigung", "mehrere", "„Weitere Informationen“"],
    "mobile_number": [
        "Rückrufnummer",
        "dass du es bist",
        "beraten",
        "Festnetznummer",
        "nicht gerade dieser Anschluss gestört ist",
    ],
    "further_info": [
        "weitere Kundennummern",
        "Eingangs-, Auftrags- oder Störungsnummern",
        "wann du am besten erreichbar bist",
        "Tage und Uhrzeiten von–bis",
    ],
}


class Elements(HTMLParser):
    """Form controls by name (their attributes) and the text of every element with an id."""

    VOID = {"input", "br", "img", "meta", "link", "hr", "source", "wbr"}

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.controls: dict[str, dict[str, str]] = {}
        self.text_by_id: dict[str, str] = {}
        self._open: list[tuple[str, str | None]] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        values = {key: value or "" for key, value in attrs}
        if tag in {"input", "textarea", "select"} and "name" in values:
            self.controls[values["name"]] = values
        if tag in self.VOID:
            return
        self._open.append((tag, values.get("id")))
        if values.get("id"):
            self.text_by_id.setdefault(values["id"], "")

    def handle_endtag(self, tag: str) -> None:
        while self._open:
            opened, _id = self._open.pop()
            if opened == tag:
                break

    def handle_data(self, data: str) -> None:
        for _tag, element_id in self._open:
            if element_id:
                self.text_by_id[element_id] += data


def described_by(page: str, field: str) -> str:
    """The text of everything the field's control names in aria-describedby."""
    elements = Elements()
    elements.feed(page)
    control = elements.controls[f"customer-{field}"]
    ids = control.get("aria-describedby", "").split()
    assert ids, f"{field} has no aria-describedby"
    assert all(element_id in elements.text_by_id for element_id in ids), ids
    return " ".join(" ".join(elements.text_by_id[element_id].split()) for element_id in ids)


@pytest.fixture(autouse=True)
def _german_afterwards():
    """A member's language stays active in the test's thread after a request: reset it."""
    yield
    translation.activate(settings.LANGUAGE_CODE)


@pytest.fixture
def owner_client(people, login):
    store_customer_data(people["owner"])
    return login(people["owner"])


@pytest.mark.parametrize("field", list(HELP_FACTS))
def test_each_help_text_is_tied_to_its_field(field, owner_client):
    description = described_by(owner_client.get(PROFILE_URL).text, field)
    missing = [fact for fact in HELP_FACTS[field] if fact not in description]
    assert missing == []


@pytest.mark.parametrize("field", list(HELP_FACTS))
def test_the_help_text_stays_tied_when_the_form_comes_back_with_errors(field, owner_client):
    invalid = {
        "profile-display_name": "Olga Owner",
        "customer-consent": "on",
        "customer-customer_number": "12AB",
        "customer-mobile_number": "0",
    }
    response = owner_client.post(PROFILE_URL, invalid)
    assert response.status_code == 200
    description = described_by(response.text, field)
    assert HELP_FACTS[field][0] in description


@pytest.mark.parametrize(
    ("field", "fact"),
    [
        ("customer_number", "order confirmation"),
        ("mobile_number", "landline"),
        ("further_info", "fault numbers"),
    ],
)
def test_the_help_texts_are_in_english_too(field, fact, owner_client, people):
    people["owner"].profile.language = "en"
    people["owner"].profile.save(update_fields=["language"])
    assert fact in described_by(owner_client.get(PROFILE_URL).text, field)
