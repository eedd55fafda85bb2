"""The German interface says "du", as the community and its help article do; never "Sie".

Checked where the words come from: the German catalogue (msgids and msgstrs), every
template, and every string the project's Python code marks for translation. Then, because
Django's and other packages' catalogues speak formally in places, the pages a member sees,
rendered in German, including validation errors.
"""

import ast
import html
import re
from pathlib import Path

import pytest

from tests.community.test_translations import read_po
from tests.factories import PASSWORD
from tests.helpers import store_customer_data

ROOT = Path(__file__).resolve().parents[2]
APPS = ["community", "customer_data", "profiles"]
TRANSLATION_FUNCTIONS = {
    "_",
    "gettext",
    "gettext_lazy",
    "gettext_noop",
    "ngettext",
    "ngettext_lazy",
    "pgettext",
    "pgettext_lazy",
    "npgettext",
    "npgettext_lazy",
}

# The polite forms; lowercase "sie"/"ihre" (they, their) are fine and never matched.
FORMAL = re.compile(r"\b(Sie|Ihre|Ihnen|Ihr|Ihren|Ihrem|Ihrer|Ihres)\b")
# "du", "dein", "dich", "dir" are lowercase inside a sentence.
CAPITALISED_DU = re.compile(
    r"(?<=[a-zäöüß,;:] )(Du|Dein|Deine|Deinen|Deinem|Deiner|Deines|Dich|Dir)\b"
)

# Sentences where a capitalised "Sie" is "they" at the start of a sentence, or similar.
# Rephrase rather than add here; each entry needs a reason.
EXCEPTIONS: dict[str, str] = {}


def voice_problems(text: str, *, capitalisation: bool = True) -> list[str]:
    """The formal (and, with `capitalisation`, wrongly capitalised) words in `text`, with a
    little context each. A rendered page runs headings and labels into one line, so its
    sentence starts cannot be told apart: check capitalisation in the sources only."""
    for allowed in EXCEPTIONS:
        text = text.replace(allowed, "")
    found = []
    for pattern in (FORMAL, CAPITALISED_DU) if capitalisation else (FORMAL,):
        for match in pattern.finditer(text):
            start, end = max(match.start() - 30, 0), match.end() + 30
            found.append(text[start:end].replace("\n", " "))
    return found


@pytest.mark.parametrize(
    "sample",
    [
        "Bitte geben Sie eine gültige Telefonnummer ein.",
        "Ihre Kundendaten wurden gelöscht.",
        "Das Team ruft Ihnen zurück.",
        "Ihr Rang erscheint im Profil.",
        "Verlauf Ihrer Einwilligung",
        "Wir helfen Ihnen gern.",
        "Das Telekom hilft Team ist für Dich da.",
        "Hier siehst du Deine Kundendaten.",
    ],
)
def test_the_check_catches_a_planted_formal_or_capitalised_word(sample):
    assert voice_problems(sample) != []


@pytest.mark.parametrize(
    "sample",
    [
        "Bitte gib eine gültige Telefonnummer ein.",
        "Sehen können sie nur ich und das Team; ihre Namen stehen unten.",
        "Du hast am 2. Dezember eingewilligt. Deine Daten sind sicher.",
        "„Du selbst“ siehst alles.",
        "Siehst du das? Sieh nach, Siegfried.",
    ],
)
def test_the_check_lets_du_and_third_person_pass(sample):
    assert voice_problems(sample) == []


def german_catalogue_texts() -> list[str]:
    """Each msgid with its msgstr forms (the German plural form is the plural msgid)."""
    catalogue = read_po(ROOT / "locale" / "de" / "LC_MESSAGES" / "django.po")
    return [text for msgid, forms in catalogue.items() for text in (msgid, *forms) if text]


def template_texts() -> list[tuple[str, str]]:
    return [
        (str(path.relative_to(ROOT)), path.read_text(encoding="utf-8"))
        for path in sorted((ROOT / "templates").rglob("*.html"))
    ]


def marked_python_strings() -> list[tuple[str, str]]:
    """Every string literal passed to a gettext function in the project's Python code."""
    found = []
    for app in APPS:
        for path in sorted((ROOT / app).rglob("*.py")):
            tree = ast.parse(path.read_text(encoding="utf-8"))
            for node in ast.walk(tree):
                if not isinstance(node, ast.Call):
                    continue
                name = getattr(node.func, "id", None) or getattr(node.func, "attr", None)
                if name not in TRANSLATION_FUNCTIONS:
                    continue
                found += [
                    (f"{path.relative_to(ROOT)}:{node.lineno}", arg.value)
                    for arg in node.args
                    if isinstance(arg, ast.Constant) and isinstance(arg.value, str)
                ]
    return found


def test_the_sources_are_found():
    assert len(german_catalogue_texts()) > 200
    assert len(template_texts()) > 20
    assert len(marked_python_strings()) > 100


def test_the_german_catalogue_says_du():
    problems = [p for text in german_catalogue_texts() for p in voice_problems(text)]
    assert problems == []


def test_every_template_says_du():
    problems = [(name, p) for name, text in template_texts() for p in voice_problems(text)]
    assert problems == []


def test_every_translatable_string_in_the_code_says_du():
    problems = [(where, p) for where, text in marked_python_strings() for p in voice_problems(text)]
    assert problems == []


# --- What a member actually reads, other packages' catalogues included ---


def visible_text(page: str) -> str:
    page = re.sub(r"(?is)<(script|style)\b.*?</\1>", " ", page)
    page = re.sub(r"(?s)<!--.*?-->|<[^>]+>", " ", page)
    return re.sub(r"\s+", " ", html.unescape(page))


@pytest.mark.django_db
def test_the_pages_a_member_sees_say_du(people, login, client, settings):
    settings.DEBUG = False
    owner = people["owner"]
    store_customer_data(owner)
    member = login(owner)
    invalid = {
        "profile-display_name": "x" * 500,
        "customer-consent": "on",
        "customer-customer_number": "12AB",
        "customer-mobile_number": "0",
        "customer-further_info": "x" * 100_000,
    }
    pages = {
        "home": member.get("/").text,
        "profile": member.get("/settings/profile/").text,
        "profile with errors": member.post("/settings/profile/", invalid).text,
        "preferences": member.get("/settings/preferences/").text,
        "preferences with errors": member.post(
            "/settings/preferences/", {"language": "xx", "time_zone": "Mars/Base"}
        ).text,
        "privacy": member.get("/settings/privacy/").text,
        "erase confirmation": member.post("/settings/privacy/erase/").text,
        "public profile": member.get(f"/members/{owner.username}/").text,
        "directory": member.get("/members/").text,
        "not found": member.get("/members/nobody/").text,
        "login": client.get("/accounts/login/").text,
        "admin, which a member may not use": member.get("/admin/", follow=True).text,
        "wrong password": client.post(
            "/accounts/login/", {"username": owner.username, "password": PASSWORD + "x"}
        ).text,
    }
    problems = {
        name: voice_problems(visible_text(page), capitalisation=False)
        for name, page in pages.items()
    }
    assert {name: found for name, found in problems.items() if found} == {}
