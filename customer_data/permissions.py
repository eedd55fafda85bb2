"""The one place that decides who sees what of a member's customer data.

Views, templates, selectors, the admin and the export all ask this module; none decides
on its own. The rule is a table (`POLICY`) from audience to visibility, so the plain-language
explanation on the Datenschutz tab is generated from the same table that enforces it.

Everything here is pure over a viewer loaded the way a request loads it (profile, rank and
role flags annotated, see `community.backends`): no queries.
"""

import enum
from collections.abc import Callable, Iterable
from typing import NamedTuple

from django.contrib.auth.models import AbstractBaseUser, AnonymousUser
from django.utils.functional import Promise
from django.utils.translation import gettext_lazy as _, ngettext_lazy

from community.models import StaffRole
from community.roles import rank_is_experienced, ring_threshold_name, staff_roles
from customer_data.models import ENCRYPTED_FIELDS, CustomerData

Viewer = AbstractBaseUser | AnonymousUser


class Visibility(enum.Enum):
    NONE = 0
    RING_ONLY = 1
    FULL = 2

    @property
    def shows_ring(self) -> bool:
        return self is not Visibility.NONE

    @property
    def shows_contents(self) -> bool:
        return self is Visibility.FULL


class Audience(enum.Enum):
    """Who a viewer is in relation to the member whose data it is, most specific first."""

    OWNER = "owner"
    TELEKOM_HILFT_TEAM = StaffRole.TELEKOM_HILFT_TEAM.value
    COMMUNITY_MANAGEMENT = StaffRole.COMMUNITY_MANAGEMENT.value
    EXPERIENCED_MEMBER = "experienced"
    MEMBER = "member"
    ANONYMOUS = "anonymous"


POLICY: dict[Audience, Visibility] = {
    Audience.OWNER: Visibility.FULL,
    Audience.TELEKOM_HILFT_TEAM: Visibility.FULL,
    Audience.COMMUNITY_MANAGEMENT: Visibility.FULL,
    Audience.EXPERIENCED_MEMBER: Visibility.RING_ONLY,
    # Everyone else, including staff and superusers without one of the two roles.
    Audience.MEMBER: Visibility.NONE,
    Audience.ANONYMOUS: Visibility.NONE,
}

# How the policy is put into words (German first; "du", as the community speaks). Each
# audience has a name and a grammatical number, so every sentence is built from `POLICY`.
AUDIENCE_NAMES: dict[Audience, Promise] = {
    Audience.OWNER: _("Du selbst"),
    Audience.TELEKOM_HILFT_TEAM: _("Das Telekom hilft Team"),
    Audience.COMMUNITY_MANAGEMENT: _("Das Community Management"),
    Audience.EXPERIENCED_MEMBER: _("Erfahrene Mitglieder (ab Rang %(rank)s)"),
    Audience.MEMBER: _("Alle anderen Mitglieder und Administratoren ohne eine dieser Rollen"),
    Audience.ANONYMOUS: _("Besucher ohne Anmeldung"),
}
# The same audiences inside a sentence ("…, das Telekom hilft Team und …").
AUDIENCE_IN_SENTENCE: dict[Audience, Promise] = {
    Audience.TELEKOM_HILFT_TEAM: _("das Telekom hilft Team"),
    Audience.COMMUNITY_MANAGEMENT: _("das Community Management"),
    Audience.EXPERIENCED_MEMBER: _("Mitglieder ab Rang %(rank)s"),
}
# A team or a role is one subject ("Das Telekom hilft Team sieht …"); the others are groups
# of people ("Erfahrene Mitglieder … sehen …").
SINGULAR_AUDIENCES = frozenset({Audience.TELEKOM_HILFT_TEAM, Audience.COMMUNITY_MANAGEMENT})
# One whole sentence per visibility, so that a translator sees subject and verb together;
# the count picks the verb's number. The owner is addressed as "du" and always sees all.
OWNER_SENTENCES: dict[Visibility, Promise] = {
    Visibility.FULL: _("%(who)s siehst deine Kundendaten und wie vollständig sie sind."),
}
VISIBILITY_SENTENCES: dict[Visibility, Promise] = {
    Visibility.FULL: ngettext_lazy(
        "%(who)s sieht deine Kundendaten und wie vollständig sie sind.",
        "%(who)s sehen deine Kundendaten und wie vollständig sie sind.",
        "count",
    ),
    Visibility.RING_ONLY: ngettext_lazy(
        "%(who)s sieht nur, wie vollständig deine Kundendaten sind (den Ring), nie die Inhalte.",
        "%(who)s sehen nur, wie vollständig deine Kundendaten sind (den Ring), nie die Inhalte.",
        "count",
    ),
    Visibility.NONE: ngettext_lazy(
        "%(who)s sieht nichts von deinen Kundendaten, nicht einmal, ob es sie gibt.",
        "%(who)s sehen nichts von deinen Kundendaten, nicht einmal, ob es sie gibt.",
        "count",
    ),
}


class PolicyRow(NamedTuple):
    """One line of "Wer sieht diese Daten?": `pattern` is the whole sentence with "%(who)s"
    standing for `who`, so a template can set the name apart without splitting the text."""

    who: str
    level: Visibility
    pattern: str

    @property
    def sentence(self) -> str:
        return self.pattern % {"who": self.who}


def audience(viewer: Viewer, subject_id: int | None) -> Audience:
    """Which row of `POLICY` applies to `viewer` looking at member `subject_id`."""
    if not viewer.is_authenticated:
        return Audience.ANONYMOUS
    if subject_id is not None and viewer.pk == subject_id:
        return Audience.OWNER
    roles = staff_roles(viewer)
    # is_superuser and is_staff grant nothing here on purpose: only the two roles count.
    for role in (StaffRole.TELEKOM_HILFT_TEAM, StaffRole.COMMUNITY_MANAGEMENT):
        if role in roles:
            return Audience(role.value)
    if is_experienced(viewer):
        return Audience.EXPERIENCED_MEMBER
    return Audience.MEMBER


def visibility(viewer: Viewer, subject_id: int | None) -> Visibility:
    """What `viewer` may see of the customer data of member `subject_id`."""
    return POLICY[audience(viewer, subject_id)]


def visibility_of_member(viewer: Viewer, username: str) -> Visibility:
    """`visibility` before the member is loaded, by username: what loading may fetch."""
    if viewer.is_authenticated and viewer.get_username() == username:
        return POLICY[Audience.OWNER]
    return visibility(viewer, None)


def is_disclosure(viewer: Viewer, subject_id: int) -> bool:
    """Whether showing the values to `viewer` must be written to the access log.

    Every disclosure to someone other than the owner is logged; the owner's own views are not.
    """
    return visibility(viewer, subject_id).shows_contents and viewer.pk != subject_id


def can_view_others_rings(viewer: Viewer) -> bool:
    """Whether lists of other members (the directory) may show their rings to `viewer`."""
    return visibility(viewer, None).shows_ring


def list_visibility(viewer: Viewer) -> Visibility:
    """What a list of other members (the directory) may show `viewer` of each: the most any
    row shows is the ring, never values, whoever looks."""
    return Visibility.RING_ONLY if can_view_others_rings(viewer) else Visibility.NONE


def can_filter_by_fill(viewer: Viewer) -> bool:
    """Whether the directory offers `viewer` its filter and sort by fill level ("Profildaten").
    Only where the list shows rings: for anyone else the parameters do not exist, since a
    filter would tell by the members it finds what the rings say."""
    return list_visibility(viewer).shows_ring


def preview_visibility() -> Visibility:
    """What "So sieht ein Mitgestalter mein Profil" shows: the page as an experienced member
    sees someone else's."""
    return POLICY[Audience.EXPERIENCED_MEMBER]


def is_owner(viewer: Viewer, subject_id: int) -> bool:
    """Whether `viewer` is the member `subject_id` (their own page, their own data)."""
    return audience(viewer, subject_id) is Audience.OWNER


def is_experienced(viewer: Viewer) -> bool:
    """Whether `viewer`'s rank is at or above the ring threshold (by ladder order)."""
    return rank_is_experienced(viewer)


def can_use_staff_tools(viewer: Viewer) -> bool:
    """Whether `viewer` may look up other members' customer data in the admin."""
    return visibility(viewer, None).shows_contents


def can_open_staff_page(viewer: Viewer, subject_id: int) -> bool:
    """Whether a member's profile links `viewer` to that member's page in the staff admin:
    for the two content roles, who can open it, and never on their own profile (their own
    data is theirs to edit on the Profil tab). A superuser without a role never gets it."""
    return can_use_staff_tools(viewer) and not is_owner(viewer, subject_id)


def can_browse_access_log(viewer: Viewer) -> bool:
    """The whole access log is for Community Management alone."""
    return StaffRole.COMMUNITY_MANAGEMENT in staff_roles(viewer)


def shown_values(level: Visibility, data: CustomerData | None) -> dict[str, str]:
    """The stored values `level` may see: nothing without current consent or contents rights."""
    if data is None or not level.shows_contents or not data.consent_is_current:
        return {}
    return {name: value for name in ENCRYPTED_FIELDS if (value := getattr(data, name))}


def threshold_rank_name(viewer: Viewer) -> str:
    """The current name of the lowest rank that sees rings (renamed ranks included)."""
    return ring_threshold_name(viewer)


def explain_policy(viewer: Viewer) -> list[PolicyRow]:
    """The policy in plain words, row by row, straight from `POLICY`, naming the threshold
    rank as the ladder names it now."""
    rank = threshold_rank_name(viewer)
    return [
        PolicyRow(str(AUDIENCE_NAMES[who]) % {"rank": rank}, level, _policy_pattern(who, level))
        for who, level in POLICY.items()
    ]


def _policy_pattern(who: Audience, level: Visibility) -> str:
    if who is Audience.OWNER:
        return str(OWNER_SENTENCES[level])
    count = 1 if who in SINGULAR_AUDIENCES else 2
    # Formats only the count: "%(who)s" stays for `PolicyRow` to fill in.
    return VISIBILITY_SENTENCES[level] % {"count": count, "who": "%(who)s"}


def _audiences(predicate: Callable[[Audience, Visibility], bool]) -> list[Audience]:
    return [
        who
        for who, level in POLICY.items()
        if who in AUDIENCE_IN_SENTENCE and predicate(who, level)
    ]


def reader_names(viewer: Viewer) -> list[str]:
    """Who besides the owner sees the values, one name each, for a sentence."""
    rank = threshold_rank_name(viewer)
    return [
        str(AUDIENCE_IN_SENTENCE[who]) % {"rank": rank}
        for who in _audiences(lambda _who, level: level.shows_contents)
    ]


def readers(viewer: Viewer, *, conjunction: str = "und") -> str:
    """Who besides the owner sees the values, as a phrase ("das Telekom hilft Team und das
    Community Management"); `conjunction` "oder" for "each view by … is logged"."""
    return join_words(reader_names(viewer), conjunction)


def ring_readers(viewer: Viewer) -> str:
    """Who sees only the ring, as a phrase ("Mitglieder ab Rang Mitgestalter")."""
    rank = threshold_rank_name(viewer)
    names = [
        str(AUDIENCE_IN_SENTENCE[who]) % {"rank": rank}
        for who in _audiences(lambda _who, level: level is Visibility.RING_ONLY)
    ]
    return join_words(names, "und")


def join_words(words: list[str], conjunction: str) -> str:
    """ "a", "a und b", "a, b und c" (and in English "a, b and c")."""
    if len(words) < 2:
        return "".join(words)
    last = _("%(list)s oder %(last)s") if conjunction == "oder" else _("%(list)s und %(last)s")
    return str(last) % {"list": ", ".join(words[:-1]), "last": words[-1]}


def fields_of(values: Iterable[str]) -> list[str]:
    """Field names for the access log, in a fixed order."""
    chosen = set(values)
    return [name for name in ENCRYPTED_FIELDS if name in chosen]
