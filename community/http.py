"""Typing helpers for views."""

from django.contrib.auth.models import User
from django.http import HttpRequest


class AuthenticatedHttpRequest(HttpRequest):
    """A request behind `LoginRequiredMiddleware`: `user` is a real, signed-in user."""

    user: User
