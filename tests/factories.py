"""One factory per model; traits and post-generation hooks for ranks and roles."""

import factory
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from factory.django import DjangoModelFactory

from community.models import Rank, StaffRole
from profiles.models import Profile

PASSWORD = "correct horse battery staple"


class RankFactory(DjangoModelFactory):
    class Meta:
        model = Rank
        django_get_or_create = ("code",)

    code = factory.Sequence(lambda n: f"rank-{n}")
    name = factory.LazyAttribute(lambda o: o.code.title())
    order = factory.Sequence(lambda n: 1000 + n)


class UserFactory(DjangoModelFactory):
    """A member. `UserFactory(rank="mitgestalter", role=StaffRole.COMMUNITY_MANAGEMENT)`."""

    class Meta:
        model = get_user_model()
        django_get_or_create = ("username",)
        skip_postgeneration_save = True

    username = factory.Sequence(lambda n: f"user{n}")
    email = factory.LazyAttribute(lambda o: f"{o.username}@example.invalid")
    password = factory.django.Password(PASSWORD)

    @factory.post_generation
    def rank(self, create: bool, extracted: str | None, **kwargs: object) -> None:
        if create and extracted:
            Profile.objects.filter(user=self).update(rank=Rank.objects.get(code=extracted))

    @factory.post_generation
    def role(self, create: bool, extracted: StaffRole | None, **kwargs: object) -> None:
        if create and extracted:
            self.groups.add(Group.objects.get(staff_role__code=extracted))

    @factory.post_generation
    def display_name(self, create: bool, extracted: str | None, **kwargs: object) -> None:
        if create and extracted:
            Profile.objects.filter(user=self).update(display_name=extracted)


class ProfileFactory(DjangoModelFactory):
    """The profile of a new user (profiles are created with their user)."""

    class Meta:
        model = Profile
        django_get_or_create = ("user",)

    user = factory.SubFactory(UserFactory)
    display_name = factory.Faker("name", locale="de_DE")
    about = factory.Faker("sentence", locale="de_DE")
    location = factory.Faker("city", locale="de_DE")
