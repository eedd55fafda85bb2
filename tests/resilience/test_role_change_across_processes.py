"""A role given or taken in the admin counts on the very next request everywhere: the viewer
(profile, rank, roles) is read from the database on every request, with SQL compiled once per
process, never kept per member. Here the admin runs in one process and the site in two
gunicorn workers, sharing one database file, as several app servers share PostgreSQL."""

from pathlib import Path

import pytest
from cryptography.fernet import Fernet

from bench.client import log_in
from tests.helpers import run_script
from tests.resilience.conftest import free_port
from tests.resilience.test_gunicorn import environment, gunicorn, wait_until_up

PASSWORD = "a-long-password-for-the-role-probe"
INFO = "Rückruf bitte ab 18 Uhr, Auftrag A-55555"

SETUP = f"""
import django; django.setup()
from django.contrib.auth import get_user_model
from django.core.management import call_command
from customer_data import services
call_command("migrate", verbosity=0)
call_command("collectstatic", interactive=False, verbosity=0)
call_command("seed_demo", password={PASSWORD!r}, verbosity=0)
owner = get_user_model().objects.get(username="member2")
services.save_consent_and_values(
    user_id=owner.pk, by=owner, consent=True, cleaned={{"further_info": {INFO!r}}}
)
"""

# The admin's own change form for the member, posted back with the groups changed.
GRANT = """
import sys
import django; django.setup()
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.test import Client
from django.test.utils import setup_test_environment
setup_test_environment()
users = get_user_model().objects
member = users.get(username="member")
groups = [Group.objects.get(name=name).pk for name in sys.argv[1:]]
client = Client(HTTP_X_FORWARDED_PROTO="https", HTTP_HOST="127.0.0.1")
client.force_login(users.get(username="admin"))
url = f"/admin/auth/user/{member.pk}/change/"
form = client.get(url).context["adminform"].form
data = {name: value for name, value in form.initial.items() if value not in (None, "", False)}
for name in ("password", "last_login", "user_permissions"):
    data.pop(name, None)
data.update(
    username=member.username, groups=groups, is_active="on",
    date_joined_0=member.date_joined.strftime("%Y-%m-%d"),
    date_joined_1=member.date_joined.strftime("%H:%M:%S"),
)
answer = client.post(url, data)
assert answer.status_code == 302, answer.context["adminform"].form.errors
"""


@pytest.fixture
def site(tmp_path: Path):
    env = environment(tmp_path, Fernet.generate_key().decode())
    env["DJANGO_STATIC_ROOT"] = str(tmp_path / "static")  # production storage needs its manifest
    run_script(SETUP, env)
    port = free_port()
    server = gunicorn(env, port)
    try:
        wait_until_up(port, server)
        yield env, f"http://127.0.0.1:{port}"
    finally:
        server.terminate()
        server.communicate(timeout=30)


def test_a_role_changed_in_the_admin_counts_on_the_next_request_in_every_worker(site):
    env, base_url = site
    member = log_in(base_url, "member", PASSWORD)

    def page_texts() -> list[str]:
        # Several requests, so both workers answer some (each keeps its own compiled SQL).
        answers = [member.send("GET", "/members/member2/") for _ in range(8)]
        assert {answer.status_code for answer in answers} == {200}
        return [answer.text for answer in answers]

    assert not any(INFO in text for text in page_texts())
    run_script(GRANT, env, "Telekom hilft Team")
    assert all(INFO in text for text in page_texts())
    run_script(GRANT, env)  # and taken away again
    assert not any(INFO in text for text in page_texts())
