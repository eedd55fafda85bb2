"""Every user gets a profile on the lowest rank when the account is created."""

from typing import Any

from django.conf import settings
from django.db.models.signals import post_save
from django.dispatch import receiver

from community.models import Rank
from profiles.models import Profile


@receiver(post_save, sender=settings.AUTH_USER_MODEL)
def create_profile(
    sender: type, instance: Any, created: bool, raw: bool = False, **kwargs: object
) -> None:
    if created and not raw:
        Profile.objects.create(
            user=instance,
            display_name=instance.get_username(),
            rank=Rank.objects.order_by("order").first(),
        )
