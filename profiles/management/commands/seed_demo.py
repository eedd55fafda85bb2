"""Create or update the demo members, idempotently."""

from typing import Any

from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.db import transaction

from community.models import Rank, StaffRole
from profiles.models import Profile

DEFAULT_DEV_PASSWORD = "demo"  # noqa: S105 (development only; refused when DEBUG is off)

# username: (display name, rank code or None for the top of the ladder, role, is_staff, is_superuser, about)
DEMO_USERS: dict[str, tuple[str, str | None, StaffRole | None, bool, bool, str]] = {
    "member": ("Mia Mitglied", "neuling", None, False, False, "Neu hier und froh über jede Hilfe."),
    "member2": ("Max Muster", "neuling", None, False, False, "Frage gern zu Festnetz und Router."),
    "regular": (
        "Rita Regelmäßig",
        "stammgast",
        None,
        False,
        False,
        "Seit Jahren dabei, meist im Mobilfunk-Board.",
    ),
    "expert": (
        "Erik Experte",
        "mitgestalter",
        None,
        False,
        False,
        "Mitgestalter mit Schwerpunkt Glasfaser.",
    ),
    "guide": (
        "Gina Guide",
        "community-guide",
        None,
        False,
        False,
        "Community Guide: ich helfe beim Einstieg.",
    ),
    "team": (
        "Tom vom Team",
        "neuling",
        StaffRole.TELEKOM_HILFT_TEAM,
        True,
        False,
        "Telekom hilft Team: Moderation und Kundenservice.",
    ),
    "cm": (
        "Clara Community",
        "neuling",
        StaffRole.COMMUNITY_MANAGEMENT,
        True,
        False,
        "Community Management.",
    ),
    "admin": ("Adrian Admin", "neuling", None, True, True, "Technischer Betrieb, ohne Rolle."),
}


class Command(BaseCommand):
    help = "Legt die Demo-Mitglieder an oder aktualisiert sie (idempotent)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--password", help="Passwort für alle Demo-Mitglieder.")

    def handle(self, *args: Any, password: str | None = None, **options: Any) -> None:
        if password is None:
            if not settings.DEBUG:
                raise CommandError(
                    "DEBUG ist aus: Demo-Mitglieder nur mit ausdrücklichem --password anlegen."
                )
            password = DEFAULT_DEV_PASSWORD
        self.seed(password)
        self.stdout.write(self.style.SUCCESS(f"Demo-Mitglieder bereit (Passwort: {password}):"))
        rank_names = dict(Rank.objects.values_list("code", "name"))
        for username, (name, rank, role, _staff, superuser, _about) in DEMO_USERS.items():
            if role:
                what = str(role.label)
            elif superuser:
                what = "Superuser ohne Rolle"
            else:
                what = rank_names.get(rank or "", rank or "")
            self.stdout.write(f"  {username:<8} {name} – {what}")

    @transaction.atomic
    def seed(self, password: str) -> None:
        ranks = {rank.code: rank for rank in Rank.objects.all()}
        top = Rank.objects.order_by("-order").first()
        groups = {role: Group.objects.get(staff_role__code=role) for role in StaffRole}
        users = get_user_model()._default_manager
        for username, (name, rank_code, role, staff, superuser, about) in DEMO_USERS.items():
            user, _created = users.get_or_create(username=username)
            user.email = f"{username}@example.invalid"
            user.is_staff = staff
            user.is_superuser = superuser
            if not user.check_password(password):
                user.set_password(password)
            user.save()
            user.groups.set([groups[role]] if role else [])
            Profile.objects.update_or_create(
                user=user,
                defaults={
                    "display_name": name,
                    "about": about,
                    "rank": ranks.get(rank_code or "", top),
                },
            )
