"""Display names that could pass for the staff, or hide what they are."""

import pytest
from django.contrib.auth.models import Group

from community.models import RoleGroup, StaffRole
from profiles.forms import PublicProfileForm
from profiles.models import Profile
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db

RESERVED = "Dieser Anzeigename ist dem Telekom hilft Team vorbehalten."
INVISIBLE = "Bitte verwende keine unsichtbaren Zeichen im Anzeigenamen."
MIXED = "Bitte mische in einem Wort keine Schriften (z. B. lateinische und kyrillische Buchstaben)."

ACCEPTED = [
    "Jürgen Müller",
    "Zoë",
    "José",
    "François Ødegård",
    "Łukasz Żółć",
    "Nguyễn Văn An",
    "İlkay Gündoğan",
    "O’Brien",
    "Jean-Luc Picard",
    "Ольга",
    "Ольга Müller",
    "Ἀλέξανδρος",
    "田中さくら",
    "김민수",
    "Tim 1990",
    "Tom vom Team",
    "Badminton-Fan",
    "Admiral Ackbar",
    "Teamplayer Toni",
    "Telekom-Kundin seit 1998",
    "Anna ❤️",
]

REFUSED = [
    # (name, message): the staff's names, also disguised
    ("Telekom hilft Team", RESERVED),
    ("telekom HILFT team", RESERVED),
    ("Tom vom Telekom hilft Team", RESERVED),
    ("TelekomHilftTeam", RESERVED),
    ("Telekom-hilft-Team", RESERVED),
    ("Telekom hilft", RESERVED),
    ("Ｔｅｌｅｋｏｍ hilft Team", RESERVED),  # fullwidth letters (NFKC)
    ("Te1ekom hi1ft Team", RESERVED),  # digit one for small l
    ("TeIekom hiIft Team", RESERVED),  # capital I for small l
    ("Tëlekom hilft Team", RESERVED),  # an accent on top
    ("Telekom hilft Теам", RESERVED),  # last word wholly Cyrillic
    ("Community Management", RESERVED),
    ("Clara (Community Management)", RESERVED),
    ("Moderator", RESERVED),
    ("Moderatorin Anna", RESERVED),
    ("M0derat0r", RESERVED),
    ("Admin", RESERVED),
    ("Der Admin", RESERVED),
    ("Der-Admin", RESERVED),
    ("A.d.m.i.n", RESERVED),
    ("Ådmin", RESERVED),
    ("Administrator Klaus", RESERVED),
    # invisible format characters
    ("Tom vom\u200dTeam", INVISIBLE),  # zero-width joiner
    ("Tom\u200bvom Team", INVISIBLE),  # zero-width space
    ("Tom\u200c", INVISIBLE),  # zero-width non-joiner
    ("Ta\u00admara", INVISIBLE),  # soft hyphen
    ("Anna\u202eanna", INVISIBLE),  # right-to-left override
    ("\u2066Anna\u2069", INVISIBLE),  # bidi isolates
    ("Anna\ufeff", INVISIBLE),  # zero-width no-break space
    ("Anna \u3164", INVISIBLE),  # Hangul filler
    # scripts mixed within a word
    ("Теlekom", MIXED),  # Cyrillic Т and е
    ("Tеlekom hilft Team", MIXED),  # Cyrillic е
    ("Moderαtor", MIXED),  # Greek alpha
    ("Olga Оwner", MIXED),  # Cyrillic О
    ("Annaبن", MIXED),  # Latin and Arabic
]


def clean(name: str, user=None) -> PublicProfileForm:
    profile = Profile.objects.get(user=user or UserFactory())
    form = PublicProfileForm({"display_name": name, "about": "", "location": ""}, instance=profile)
    form.is_valid()
    return form


@pytest.mark.parametrize("name", ACCEPTED)
def test_ordinary_names_are_accepted(name):
    form = clean(name)

    assert form.errors == {}
    assert form.cleaned_data["display_name"] == name


@pytest.mark.parametrize(("name", "message"), REFUSED, ids=[name for name, _ in REFUSED])
def test_lookalike_names_are_refused_with_a_clear_message(name, message):
    form = clean(name)

    assert form.errors["display_name"] == [message]


def test_a_renamed_role_group_is_reserved_under_its_new_name():
    group = RoleGroup.objects.get(code=StaffRole.COMMUNITY_MANAGEMENT).group
    Group.objects.filter(pk=group.pk).update(name="Kundenservice Crew")

    assert clean("Kim von der Kundenservice Crew").errors["display_name"] == [RESERVED]
    assert clean("Kundenservice-Crew").errors["display_name"] == [RESERVED]


def test_a_role_group_with_a_short_name_is_reserved_as_whole_words():
    group = RoleGroup.objects.get(code=StaffRole.TELEKOM_HILFT_TEAM).group
    Group.objects.filter(pk=group.pk).update(name="IT Team")

    assert clean("Kim (IT Team)").errors["display_name"] == [RESERVED]
    assert clean("Kim vom IT-Team").errors["display_name"] == [RESERVED]
    assert clean("Edith Teamann").errors == {}


def test_staff_may_carry_their_role_name():
    staff = UserFactory(role=StaffRole.TELEKOM_HILFT_TEAM, is_staff=True)

    assert clean("Tom (Telekom hilft Team)", user=staff).errors == {}
    assert clean("Tom vom\u200dTeam", user=staff).errors["display_name"] == [INVISIBLE]
    assert clean("Теlekom", user=staff).errors["display_name"] == [MIXED]


def test_the_profile_tab_refuses_a_lookalike_and_keeps_the_old_name(people, login):
    owner = people["owner"]
    response = login(owner).post(
        "/settings/profile/",
        {
            "profile-display_name": "Теlekom hilft Team",
            "profile-about": "",
            "profile-location": "",
            "confirm_withdrawal": "",
        },
    )

    assert response.status_code == 200
    assert MIXED in response.text
    assert Profile.objects.get(user=owner).display_name == "Olga Owner"
