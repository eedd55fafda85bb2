"""Fixtures shared by the whole suite."""

import importlib

import pytest
from django.apps import apps as django_apps
from django.core.cache import caches
from django.test import Client

from community.backends import viewer_queryset
from community.models import StaffRole
from tests.factories import UserFactory


@pytest.fixture(autouse=True)
def _fast_and_isolated(settings, tmp_path):
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    settings.STORAGES = {
        **settings.STORAGES,
        "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
    }
    settings.CACHES = {
        "default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"},
        "fragments": settings.CACHES["fragments"],
    }
    # Local-memory caches outlive the setting: start every test empty.
    for alias in settings.CACHES:
        caches[alias].clear()
    settings.SECURE_SSL_REDIRECT = False
    settings.AXES_ENABLED = True


@pytest.fixture(autouse=True)
def _ranks_and_roles(request):
    """The rank ladder and the staff roles come from a data migration, and a transactional
    test's flush removes them. pytest-django runs transactional tests after the others, but
    a test's place can move (its fixtures decide), so every database test finds them."""
    marker = request.node.get_closest_marker("django_db")
    if marker is None and not {"db", "transactional_db"} & set(request.fixturenames):
        return
    request.getfixturevalue("_django_db_helper")
    from community.models import Rank

    if not Rank.objects.exists():
        seed = importlib.import_module("community.migrations.0002_seed_ranks_and_roles").seed
        seed(django_apps, None)


def load_viewer(user):
    """The user as a request would load it (profile, rank, role flags in one query)."""
    return viewer_queryset().get(pk=user.pk)


ROLE_USERS = {
    # name: factory keyword arguments; mirrors the demo users of `seed_demo`
    "member": {"rank": "neuling"},
    "regular": {"rank": "stammgast"},
    "expert": {"rank": "mitgestalter"},
    "guide": {"rank": "community-guide"},
    "team": {"rank": "neuling", "role": StaffRole.TELEKOM_HILFT_TEAM, "is_staff": True},
    "cm": {"rank": "neuling", "role": StaffRole.COMMUNITY_MANAGEMENT, "is_staff": True},
    "admin": {"rank": "neuling", "is_staff": True, "is_superuser": True},
}


@pytest.fixture
def people(db):
    """One user per demo role, plus `owner` (a plain member who owns customer data)."""
    users = {name: UserFactory(username=name, **kwargs) for name, kwargs in ROLE_USERS.items()}
    users["owner"] = UserFactory(username="owner", rank="neuling", display_name="Olga Owner")
    return users


@pytest.fixture
def client_for(people, login):
    """A client for one of `people` by name, or an anonymous one for "anonymous"."""

    def _client(who: str) -> Client:
        return Client() if who == "anonymous" else login(people[who])

    return _client


@pytest.fixture
def login():
    """Return a test client logged in as `user` (the login form has its own tests)."""

    def _login(user, client: Client | None = None) -> Client:
        client = client or Client()
        client.force_login(user, backend="community.backends.CommunityBackend")
        return client

    return _login
