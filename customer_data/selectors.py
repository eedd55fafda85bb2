"""Reads of customer data, consent records and the access log. Selectors shape querysets."""

import enum
import functools
import operator
from dataclasses import dataclass
from datetime import timedelta

from django.conf import settings
from django.contrib.auth.models import AbstractBaseUser
from django.core.exceptions import ObjectDoesNotExist
from django.db.models import Q, QuerySet
from django.utils import timezone
from django.views.decorators.debug import sensitive_variables

from community.roles import role_annotations
from customer_data import crypto
from customer_data.models import ENCRYPTED_FIELDS, ConsentRecord, CustomerData, PersonalDataAccess
from customer_data.normalise import parse_phone_number, valid_customer_number
from customer_data.permissions import Visibility

# Paths from a Profile row to the encrypted columns, for `defer()` on joined queries.
ENCRYPTED_FROM_PROFILE = tuple(f"user__customer_data__{name}" for name in ENCRYPTED_FIELDS)


def get_customer_data(*, user_id: int) -> CustomerData | None:
    """The member's row with the values (decrypted on access), or None."""
    return CustomerData.objects.filter(user_id=user_id).first()


def get_fill_state(*, user_id: int) -> CustomerData | None:
    """The member's row without the encrypted columns: enough for the ring, nothing more."""
    return CustomerData.objects.defer(*ENCRYPTED_FIELDS).filter(user_id=user_id).first()


def with_customer_data(qs: QuerySet, level: Visibility) -> QuerySet:
    """Join a Profile queryset to its customer data as far as `level` allows, and no further.

    Contents: the whole row. Ring only: the row without the encrypted columns, so nothing
    is decrypted or even read. Nothing: no join at all.
    """
    if level is Visibility.NONE:
        return qs
    qs = qs.select_related("user__customer_data")
    return qs if level.shows_contents else qs.defer(*ENCRYPTED_FROM_PROFILE)


def customer_data_of(user: AbstractBaseUser) -> CustomerData | None:
    """The user's loaded customer data, or None when the member has none."""
    try:
        return user.customer_data  # type: ignore[attr-defined,no-any-return]
    except ObjectDoesNotExist:
        return None


def list_consent_records(*, user_id: int) -> QuerySet[ConsentRecord]:
    return ConsentRecord.objects.filter(user_id=user_id).order_by("-at", "-pk")


def list_accesses_to(*, subject_id: int) -> QuerySet[PersonalDataAccess]:
    """Who saw this member's data, newest first; each row names the viewer as they were."""
    return PersonalDataAccess.objects.filter(subject_id=subject_id).order_by("-at", "-pk")


def further_info_is_stale(data: CustomerData | None) -> bool:
    """Whether "Weitere Informationen" is old enough to remind the member to check it."""
    if data is None or not data.further_info_updated_at or not data.consent_is_current:
        return False
    age = timezone.now() - data.further_info_updated_at
    return age > timedelta(days=settings.FURTHER_INFO_STALE_DAYS)


def get_customer_data_by_pk(*, pk: int) -> CustomerData | None:
    return CustomerData.objects.filter(pk=pk).first()


def with_member_details(qs: QuerySet[CustomerData]) -> QuerySet[CustomerData]:
    """Join what the staff page says about the member to each row: profile, rank and staff
    roles (`community.roles.roles_from_annotations`), all in the row's one query."""
    return qs.select_related("user__profile__rank").annotate(**role_annotations("user_id"))


# The staff search shows at most this many members (ordered by username).
MEMBER_SEARCH_LIMIT = 50


class MatchKind(enum.Enum):
    """How the staff search found a member."""

    CUSTOMER_NUMBER = "customer_number"
    MOBILE_NUMBER = "mobile_number"
    NAME = "name"


@dataclass(frozen=True)
class MemberSearch:
    """What a staff search term is looked up as: an exact customer number and/or an exact
    phone number (through their blind indexes), or else part of a username or display name.

    Numbers are kept only as their index hashes, so this object carries no number.
    """

    customer_number_index: str | None = None
    mobile_number_index: str | None = None
    name: str = ""

    @property
    def kinds(self) -> list[MatchKind]:
        """What the term is searched as, in the order the result page names them."""
        return [
            kind
            for kind, wanted in (
                (MatchKind.CUSTOMER_NUMBER, self.customer_number_index),
                (MatchKind.MOBILE_NUMBER, self.mobile_number_index),
                (MatchKind.NAME, self.name),
            )
            if wanted
        ]

    def condition(self) -> Q:
        """The rows this search finds. A number finds only data stored under the consent text
        in force: data kept under an outdated consent counts as absent, for a search too."""
        by_number = [
            Q(**{column: index})
            for column, index in (
                ("customer_number_bidx", self.customer_number_index),
                ("mobile_number_bidx", self.mobile_number_index),
            )
            if index
        ]
        if by_number:
            current = Q(consent=True, consent_version=settings.CONSENT_TEXT_VERSION)
            return current & functools.reduce(operator.or_, by_number)
        if self.name:
            return Q(user__username__icontains=self.name) | Q(
                user__profile__display_name__icontains=self.name
            )
        return Q(pk__in=[])

    def matched_by(self, data: CustomerData) -> list[MatchKind]:
        """Which of the searched kinds found `data` (reads only the index columns)."""
        if self.name:
            return [MatchKind.NAME]
        return [
            kind
            for kind, stored, wanted in (
                (
                    MatchKind.CUSTOMER_NUMBER,
                    data.customer_number_bidx,
                    self.customer_number_index,
                ),
                (MatchKind.MOBILE_NUMBER, data.mobile_number_bidx, self.mobile_number_index),
            )
            if wanted and stored == wanted
        ]


@sensitive_variables("term", "number", "phone")
def member_search(term: str) -> MemberSearch:
    """Read a staff search term. A valid customer number (digits only, as many as the Profil
    tab accepts) is searched as one; a term the Profil tab would accept as a phone number is
    searched by its E.164 form; a digits-only term can be both, and then both are searched.
    Anything else is part of a name. Exact matches only for numbers."""
    term = term.strip()
    number = valid_customer_number(term)
    phone = parse_phone_number(term)
    if number is None and phone is None:
        return MemberSearch(name=term)
    return MemberSearch(
        customer_number_index=crypto.blind_index(number) if number else None,
        mobile_number_index=crypto.blind_index(phone) if phone else None,
    )


@dataclass(frozen=True)
class SearchHit:
    """A member the staff search found (their data without the encrypted columns), and how."""

    data: CustomerData
    matched_by: list[MatchKind]


def list_search_hits(search: MemberSearch, *, limit: int = MEMBER_SEARCH_LIMIT) -> list[SearchHit]:
    """The members `search` finds, ordered by username, with what matched for each.

    Reads no encrypted column: a match is decided on the index columns alone.
    """
    if not search.kinds:
        return []
    rows = (
        CustomerData.objects.filter(search.condition())
        .select_related("user__profile")
        .defer(*ENCRYPTED_FIELDS)
        .order_by("user__username")[:limit]
    )
    return [SearchHit(data=data, matched_by=search.matched_by(data)) for data in rows]
