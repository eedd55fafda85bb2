"""What a user is in the community: staff roles and whether their rank is experienced.

The request user is loaded with both answers annotated (see `backends.viewer_queryset`),
so reading them costs no query; a user loaded any other way pays one query each, once.
"""

from collections.abc import Mapping

from django.conf import settings
from django.contrib.auth.models import AbstractBaseUser, AnonymousUser
from django.db.models import (
    BooleanField,
    Exists,
    ExpressionWrapper,
    OuterRef,
    Q,
    QuerySet,
    Subquery,
)
from django.db.models.functions import Coalesce
from django.utils import translation

from community.models import Rank, RoleGroup, StaffRole

ROLE_ANNOTATION = "role_{}"
EXPERIENCED_ANNOTATION = "rank_is_experienced"
THRESHOLD_NAME_ANNOTATION = "ring_threshold_name"


def _role_attr(role: StaffRole) -> str:
    return ROLE_ANNOTATION.format(role.name.lower())


def annotate_viewer(qs: QuerySet) -> QuerySet:
    """Add the role flags and the rank threshold comparison to a user queryset."""
    threshold_rank = Rank.objects.filter(code=settings.COMMUNITY_RING_MIN_RANK)
    threshold = threshold_rank.values("order")[:1]
    flags = {
        _role_attr(role): Exists(RoleGroup.objects.filter(code=role, group__user=OuterRef("pk")))
        for role in StaffRole
    }
    # A missing threshold rank compares as "never experienced": fail closed.
    experienced = ExpressionWrapper(
        Q(profile__rank__order__gte=Coalesce(Subquery(threshold), 32767)),
        output_field=BooleanField(),
    )
    # The threshold rank's current name, for the sentences that explain the policy.
    name = Subquery(threshold_rank.values("name")[:1])
    return qs.annotate(
        **flags, **{EXPERIENCED_ANNOTATION: experienced, THRESHOLD_NAME_ANNOTATION: name}
    )


def staff_roles(user: AbstractBaseUser | AnonymousUser) -> frozenset[StaffRole]:
    """The staff roles `user` holds, by stable code."""
    if not user.is_authenticated:
        return frozenset()
    if not hasattr(user, _role_attr(StaffRole.TELEKOM_HILFT_TEAM)):
        codes = set(
            RoleGroup.objects.filter(group__user__pk=user.pk).values_list("code", flat=True)
        )
        for role in StaffRole:
            setattr(user, _role_attr(role), role.value in codes)
    return frozenset(role for role in StaffRole if getattr(user, _role_attr(role)))


def rank_is_experienced(user: AbstractBaseUser | AnonymousUser) -> bool:
    """Whether `user`'s rank is at or above the configured threshold rank, by ladder order."""
    if not user.is_authenticated:
        return False
    if not hasattr(user, EXPERIENCED_ANNOTATION):
        loaded = annotate_viewer(type(user)._default_manager.filter(pk=user.pk))
        setattr(
            user,
            EXPERIENCED_ANNOTATION,
            bool(loaded.values_list(EXPERIENCED_ANNOTATION, flat=True).first()),
        )
    return bool(getattr(user, EXPERIENCED_ANNOTATION))


def role_annotations(user_ref: str) -> dict[str, Exists]:
    """Role flags for any queryset whose rows lead to a user through `user_ref`."""
    return {
        _role_attr(role): Exists(
            RoleGroup.objects.filter(code=role, group__user=OuterRef(user_ref))
        )
        for role in StaffRole
    }


def roles_from_annotations(row: object) -> list[StaffRole]:
    """The roles flagged on a row annotated by `role_annotations`, in a fixed order."""
    return [role for role in StaffRole if getattr(row, _role_attr(role), False)]


def roles_from_row(row: Mapping[str, object]) -> list[StaffRole]:
    """`roles_from_annotations` for a `values()` row."""
    return [role for role in StaffRole if row.get(_role_attr(role))]


def staff_role_names() -> set[str]:
    """The names under which members meet the staff roles: each role's group name as the
    database holds it now (a renamed group counts under its new name) and the role's
    built-in label in every interface language."""
    names = set(RoleGroup.objects.values_list("group__name", flat=True))
    for language, _name in settings.LANGUAGES:
        with translation.override(language):
            names.update(str(role.label) for role in StaffRole)
    return names


def ring_threshold_name(user: AbstractBaseUser | AnonymousUser) -> str:
    """The current name of the rank from which members see rings (by its configured code)."""
    name = getattr(user, THRESHOLD_NAME_ANNOTATION, None)
    if name is None:
        name = (
            Rank.objects.filter(code=settings.COMMUNITY_RING_MIN_RANK)
            .values_list("name", flat=True)
            .first()
        )
        if user.is_authenticated:
            setattr(user, THRESHOLD_NAME_ANNOTATION, name)
    return str(name or settings.COMMUNITY_RING_MIN_RANK)
