"""The role and rank log: every change to who holds a staff role, which group a role is, and
the rank ladder, with whoever made it.

Changes are caught where they happen (model signals), whatever made them: the admin, a
script, the shell. The request's user is known through `ActorMiddleware`; outside a request
the actor is empty ("System").
"""

from collections.abc import Callable
from contextvars import ContextVar
from typing import Any

from django.contrib.auth import get_user_model
from django.contrib.auth.models import AbstractBaseUser, AnonymousUser, Group
from django.db.models.signals import m2m_changed, post_delete, post_save, pre_save
from django.dispatch import receiver
from django.http import HttpRequest, HttpResponse

from community.models import Rank, RoleGroup, StructureChange

_actor: ContextVar[Any] = ContextVar("community_actor", default=None)

Kind = StructureChange.Kind


class ActorMiddleware:
    """Make the request's user known to the log for the request's duration (lazily: the
    user is only loaded if something is logged)."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        token = _actor.set(request)
        try:
            return self.get_response(request)
        finally:
            _actor.reset(token)


def _current_actor() -> Any:
    request = _actor.get()
    user: AbstractBaseUser | AnonymousUser | None = getattr(request, "user", None)
    return user if user is not None and user.is_authenticated else None  # type: ignore[return-value]


def record(kind: str, *, member: Any = None, role: str = "", detail: str = "") -> StructureChange:
    actor = _current_actor()
    return StructureChange.objects.create(
        kind=kind,
        actor=actor,
        actor_name=actor.get_username() if actor else "",
        member=member,
        member_name=member.get_username() if member else "",
        role=role,
        detail=detail,
    )


def _role_codes(group_ids: set[int] | None) -> dict[int, str]:
    if not group_ids:
        return {}
    return dict(RoleGroup.objects.filter(group_id__in=group_ids).values_list("group_id", "code"))


@receiver(m2m_changed, sender=get_user_model().groups.through)
def _group_membership_changed(
    sender: Any, instance: Any, action: str, reverse: bool, pk_set: set[int] | None, **kwargs: Any
) -> None:
    """A user added to or removed from a group that is a staff role, from either side."""
    if action == "pre_clear":
        # `clear()` names no pks afterwards: remember what was there.
        if reverse:
            instance._community_cleared = set(instance.user_set.values_list("pk", flat=True))
        else:
            instance._community_cleared = set(instance.groups.values_list("pk", flat=True))
        return
    if action not in ("post_add", "post_remove", "post_clear"):
        return
    kind = Kind.ROLE_GRANTED if action == "post_add" else Kind.ROLE_REVOKED
    pks = getattr(instance, "_community_cleared", set()) if action == "post_clear" else pk_set
    if reverse:  # group.user_set.add(users)
        codes = _role_codes({instance.pk})
        if instance.pk in codes:
            for member in get_user_model().objects.filter(pk__in=pks or ()):
                record(kind, member=member, role=codes[instance.pk])
    else:  # user.groups.add(groups)
        for code in _role_codes(pks).values():
            record(kind, member=instance, role=code)


@receiver(pre_save, sender=RoleGroup)
def _remember_role_group(
    sender: Any, instance: RoleGroup, raw: bool = False, **kwargs: Any
) -> None:
    if raw or instance._state.adding:
        return
    instance._community_previous_group_id = (  # type: ignore[attr-defined]
        RoleGroup.objects.filter(pk=instance.pk).values_list("group_id", flat=True).first()
    )


@receiver(post_save, sender=RoleGroup)
def _role_group_saved(
    sender: Any, instance: RoleGroup, created: bool, raw: bool = False, **kwargs: Any
) -> None:
    previous = getattr(instance, "_community_previous_group_id", None)
    if raw or (not created and previous == instance.group_id):
        return
    names: dict[Any, str] = dict(
        Group.objects.filter(pk__in={previous, instance.group_id}).values_list("pk", "name")
    )
    detail = f"{names.get(previous, '–')} → {names.get(instance.group_id, '–')}"
    record(Kind.ROLE_REGROUPED, role=instance.code, detail=detail)


_RANK_FIELDS = ("code", "name", "order")


@receiver(pre_save, sender=Rank)
def _remember_rank(sender: Any, instance: Rank, raw: bool = False, **kwargs: Any) -> None:
    if raw or instance._state.adding:
        return
    instance._community_previous = (  # type: ignore[attr-defined]
        Rank.objects.filter(pk=instance.pk).values(*_RANK_FIELDS).first()
    )


@receiver(post_save, sender=Rank)
def _rank_saved(
    sender: Any, instance: Rank, created: bool, raw: bool = False, **kwargs: Any
) -> None:
    if raw:
        return
    if created:
        record(Kind.RANK_CHANGED, detail=f"+ {instance.name} ({instance.code}, {instance.order})")
        return
    previous = getattr(instance, "_community_previous", None) or {}
    changes = [
        f"{name}: {previous[name]} → {getattr(instance, name)}"
        for name in _RANK_FIELDS
        if name in previous and previous[name] != getattr(instance, name)
    ]
    if changes:
        record(Kind.RANK_CHANGED, detail=f"{instance.name}: " + "; ".join(changes))


@receiver(post_delete, sender=Rank)
def _rank_deleted(sender: Any, instance: Rank, **kwargs: Any) -> None:
    record(Kind.RANK_CHANGED, detail=f"− {instance.name} ({instance.code}, {instance.order})")
