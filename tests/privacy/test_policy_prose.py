"""The sentences that explain who sees what follow the policy and the rank ladder."""

import re

import pytest
from django.conf import settings
from django.utils import translation

from community.models import Rank
from customer_data import permissions
from customer_data.models import ConsentRecord, PersonalDataAccess
from customer_data.permissions import join_words
from customer_data.services import record_access
from profiles.models import Profile
from tests.helpers import store_customer_data

pytestmark = pytest.mark.django_db

PAGES = [
    "/settings/profile/",
    "/settings/privacy/",
    "/settings/privacy/preview/",
    "/members/owner/",
]


@pytest.fixture
def owner(people):
    store_customer_data(people["owner"])
    return people["owner"]


def texts(client) -> str:
    return "\n".join(client.get(url).text for url in PAGES)


def test_the_sentences_name_the_threshold_rank_as_the_ladder_names_it_now(owner, login):
    client = login(owner)
    assert "ab Rang Mitgestalter" in texts(client)

    Rank.objects.filter(code="mitgestalter").update(name="Helferlein")
    renamed = texts(client)

    assert "Mitgestalter" not in renamed
    assert "Mitglieder ab Rang Helferlein sehen nur, wie vollständig sie sind" in renamed
    assert "So sehen Mitglieder ab Rang Helferlein mein Profil" in renamed
    assert "Erfahrene Mitglieder (ab Rang Helferlein)" in renamed
    assert "So sehen Mitglieder ab Rang Helferlein dein Profil" in renamed


def test_the_sentences_follow_a_changed_threshold_setting(owner, login, settings):
    settings.COMMUNITY_RING_MIN_RANK = "community-guide"
    text = texts(login(owner))
    assert "Erfahrene Mitglieder (ab Rang Community Guide)" in text
    assert "ab Rang Mitgestalter" not in text


def test_who_sees_the_values_is_worded_from_the_policy(owner, login):
    text = texts(login(owner))
    assert "Sehen können sie nur ich, das Telekom hilft Team und das Community Management;" in text
    assert "Nur für dich, das Telekom hilft Team und das Community Management sichtbar." in text
    assert (
        "Jeder Abruf durch das Telekom hilft Team oder das Community Management wird protokolliert"
        in text
    )


def visible(html: str) -> str:
    return " ".join(re.sub(r"<[^>]+>", " ", html).split())


def in_language(client, user, language: str):
    Profile.objects.filter(user=user).update(language=language)
    return client


@pytest.fixture(autouse=True)
def _german_afterwards():
    """A member's language stays active in the test's thread after a request: reset it."""
    yield
    translation.activate(settings.LANGUAGE_CODE)


# Each line of "Wer sieht diese Daten?": one team or one role is singular, groups plural.
POLICY_LINES = {
    "de": [
        "Du selbst siehst deine Kundendaten und wie vollständig sie sind.",
        "Das Telekom hilft Team sieht deine Kundendaten und wie vollständig sie sind.",
        "Das Community Management sieht deine Kundendaten und wie vollständig sie sind.",
        "Erfahrene Mitglieder (ab Rang Mitgestalter) sehen nur, wie vollständig deine "
        "Kundendaten sind (den Ring), nie die Inhalte.",
        "Alle anderen Mitglieder und Administratoren ohne eine dieser Rollen sehen nichts von "
        "deinen Kundendaten, nicht einmal, ob es sie gibt.",
        "Besucher ohne Anmeldung sehen nichts von deinen Kundendaten, nicht einmal, ob es sie "
        "gibt.",
    ],
    "en": [
        "You yourself see your customer data and how complete it is.",
        "The Telekom hilft Team sees your customer data and how complete it is.",
        "Community Management sees your customer data and how complete it is.",
        "Experienced members (rank Mitgestalter and above) see only how complete your "
        "customer data is (the ring), never the contents.",
        "All other members and administrators without one of these roles see nothing of your "
        "customer data, not even whether there is any.",
        "Visitors who are not logged in see nothing of your customer data, not even whether "
        "there is any.",
    ],
}
WRONG_NUMBER = {
    "de": ["Team sehen", "Management sehen", "Mitglieder sieht", "Anmeldung sieht"],
    "en": ["Team see ", "Management see ", "members sees", "in sees"],
}


@pytest.mark.parametrize("language", ["de", "en"])
def test_singular_and_plural_agree_in_the_policy_table(language, owner, login):
    page = in_language(login(owner), owner, language).get("/settings/privacy/").text
    start = page.index('class="policy-list"')
    section = page[start : page.index("</ul>", start)]
    lines = [visible(item) for item in re.findall(r"<li>(.*?)</li>", section, re.DOTALL)]

    assert lines == POLICY_LINES[language]
    assert [wrong for wrong in WRONG_NUMBER[language] if wrong in visible(page)] == []


def test_the_audience_is_set_apart_inside_its_whole_sentence(owner, login):
    page = login(owner).get("/settings/privacy/").text
    assert "<strong>Das Telekom hilft Team</strong> sieht deine Kundendaten" in page
    assert "<strong>Du selbst</strong> siehst deine Kundendaten" in page
    assert "(ab Rang Mitgestalter)</strong> sehen nur" in page


@pytest.mark.parametrize(
    ("language", "singular", "plural"),
    [
        ("de", "Das Community Management sieht nur, wie", "Erfahrene Mitglieder"),
        ("en", "Community Management sees only how", "Experienced members"),
    ],
)
def test_a_role_stays_singular_whatever_the_policy_lets_it_see(
    language, singular, plural, owner, login, monkeypatch
):
    changed = {
        **permissions.POLICY,
        permissions.Audience.COMMUNITY_MANAGEMENT: permissions.Visibility.RING_ONLY,
    }
    monkeypatch.setattr(permissions, "POLICY", changed)
    with translation.override(language):
        rows = permissions.explain_policy(owner)
    sentences = [row.sentence for row in rows]
    assert any(sentence.startswith(singular) for sentence in sentences)
    assert any(sentence.startswith(plural) for sentence in sentences)


ERASE_TEXT = {
    "de": (
        "Wenn du bestätigst, löschst du deine Kundennummer, deine Handynummer und deine "
        "weiteren Informationen endgültig und widerrufst deine Einwilligung.",
        "Danach sehen das Telekom hilft Team und das Community Management keine Kundendaten "
        "mehr von dir.",
        "Danach sieht das Telekom hilft Team keine Kundendaten mehr von dir.",
    ),
    "en": (
        "If you confirm, your customer number, your mobile number and your further "
        "information are deleted for good and your consent is withdrawn.",
        "After that, the Telekom hilft Team and Community Management no longer see any of "
        "your customer data.",
        "After that, the Telekom hilft Team no longer sees any of your customer data.",
    ),
}


@pytest.mark.parametrize("language", ["de", "en"])
def test_the_erase_confirmation_names_the_three_fields_and_who_no_longer_sees_them(
    language, owner, login, monkeypatch
):
    fields, plural, singular = ERASE_TEXT[language]
    client = in_language(login(owner), owner, language)

    text = visible(client.post("/settings/privacy/erase/").text)
    assert fields in text
    assert plural in text

    # With one reader left in the policy, the verb follows.
    only_team = {
        **permissions.POLICY,
        permissions.Audience.COMMUNITY_MANAGEMENT: permissions.Visibility.NONE,
    }
    monkeypatch.setattr(permissions, "POLICY", only_team)
    assert singular in visible(client.post("/settings/privacy/erase/").text)


def test_lists_are_joined_the_german_way():
    assert join_words(["a"], "und") == "a"
    assert join_words(["a", "b"], "und") == "a und b"
    assert join_words(["a", "b", "c"], "oder") == "a, b oder c"


# --- Append-only records refuse every way of changing them ---


@pytest.mark.parametrize("model", [ConsentRecord, PersonalDataAccess])
def test_append_only_records_refuse_queryset_update_and_delete(model, owner, people):
    record_access(viewer=people["team"], subject_id=owner.pk, channel="profile", fields=[])
    rows = model.objects.all()
    assert rows.exists()
    with pytest.raises(ValueError, match="append-only"):
        rows.update(at=None)
    with pytest.raises(ValueError, match="append-only"):
        rows.delete()
    with pytest.raises(ValueError, match="append-only"):
        rows.first().delete()
    assert rows.purge() > 0  # the one sanctioned way: retention and account deletion
