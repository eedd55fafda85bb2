"""WSGI entry point (gunicorn community.wsgi)."""

import os

from django.core.wsgi import get_wsgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "community.settings")

application = get_wsgi_application()

# Before serving: refuse to start with encryption keys that cannot read the data, and the like.
from community.health import run_startup_checks  # noqa: E402 (needs the apps loaded)

run_startup_checks()
