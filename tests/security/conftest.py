"""Fixtures of the security tests."""

from tests.visibility.conftest import owner_data  # noqa: F401 (an owner with all three values)
