"""The sentences that explain who sees what follow the policy and the rank ladder."""

import pytest

from community.models import Rank
from customer_data.models import ConsentRecord, PersonalDataAccess
from customer_data.permissions import join_words
from customer_data.services import record_access
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


def test_singular_and_plural_agree_in_the_policy_table(owner, login):
    text = login(owner).get("/settings/privacy/").text
    assert "<strong>Das Telekom hilft Team</strong> sieht deine Kundendaten" in text
    assert "<strong>Das Community Management</strong> sieht deine Kundendaten" in text
    assert "<strong>Du selbst</strong> siehst deine Kundendaten" in text
    assert "(ab Rang Mitgestalter)</strong> sehen nur" in text


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
