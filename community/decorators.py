"""View markers understood by the community's middleware."""

from collections.abc import Callable

from django.contrib.auth.decorators import login_not_required


def no_session[V: Callable](view: V) -> V:
    """Mark a view that must run without loading the session or the user."""
    view.no_session = True  # type: ignore[attr-defined]
    return login_not_required(view)
