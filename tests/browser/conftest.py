"""Browser tests: pytest-playwright driving Debian's Chromium against pytest-django's live server.

One browser for the whole session; one fresh context (cookies, storage) per viewer. Without
/usr/bin/chromium (or $CHROMIUM_PATH) every test here fails in CI (where CI=true), so a missing
browser cannot pass for a green run; on a developer's machine the tests are skipped instead, with
a message saying how to install it (`apt-get install chromium`).
"""

import os

# Playwright's sync API runs an event loop in the main thread; the test's own ORM calls there
# would otherwise be refused as "async unsafe". Must be set before any test runs.
os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")

import importlib
import io
import re
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from django.apps import apps as django_apps
from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.management import call_command
from django.test import Client, override_settings
from playwright.sync_api import BrowserContext, ConsoleMessage, Locator, Page, expect
from pytest_django.live_server_helper import LiveServer

from tests.factories import PASSWORD

CHROMIUM = Path(os.environ.get("CHROMIUM_PATH", "/usr/bin/chromium"))
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-dev-shm-usage",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--disable-quic",
]
ROOT = Path(__file__).resolve().parents[2]
SCREENSHOTS = ROOT / "test-artifacts" / "screenshots"
DESKTOP = {"width": 1280, "height": 800}
PHONE = {"width": 390, "height": 844}

# Every browser test: a real, committing database that the live server's threads can see.
BROWSER_DB = pytest.mark.django_db(transaction=True)
# The rank ladder and the staff roles come from a data migration. A transactional test's flush
# removes them, so each browser test puts them back (idempotently). pytest-django's
# `serialized_rollback` cannot do this here: Django keeps connections per context
# (asgiref.local), and once Playwright's sync API has started, the tests run in another
# context than the one in which the test database was set up and serialised, so the
# serialised copy is not found when other tests ran first.
SEED_MIGRATION = "community.migrations.0002_seed_ranks_and_roles"


@pytest.fixture(autouse=True)
def _ranks_and_roles(request: pytest.FixtureRequest) -> None:
    if request.node.get_closest_marker("browser") is None:
        return
    request.getfixturevalue("transactional_db")
    importlib.import_module(SEED_MIGRATION).seed(django_apps, None)


def running_in_ci() -> bool:
    """CI services set CI=true."""
    return os.environ.get("CI", "").strip().lower() in {"1", "true", "yes"}


@pytest.fixture(scope="session")
def browser_type_launch_args(browser_type_launch_args: dict) -> dict:
    if not CHROMIUM.exists():
        missing = (
            f"no Chromium at {CHROMIUM}: install it (apt-get install chromium) "
            "or point CHROMIUM_PATH at one"
        )
        if running_in_ci():
            pytest.fail(f"{missing}. In CI the browser tests must run.", pytrace=False)
        pytest.skip(f"{missing}. Skipped outside CI; in CI (CI=true) this fails.")
    return {
        **browser_type_launch_args,
        "executable_path": str(CHROMIUM),
        "args": CHROMIUM_ARGS,
    }


@pytest.fixture(scope="session")
def live_server(django_db_setup: None) -> Iterator[LiveServer]:
    """pytest-django's live server, started after the test database exists and over plain http.

    After the database: otherwise it starts while NAME still names the development database,
    does not share the in-memory SQLite test connection, and each request thread leaks its own
    connection. Plain http: the server builds its middleware once, at start, so production's
    https redirect and HSTS (when DJANGO_DEBUG is off) are switched off for that moment only.
    """
    address = os.environ.get("DJANGO_LIVE_TEST_SERVER_ADDRESS", "localhost")
    with override_settings(SECURE_SSL_REDIRECT=False, SECURE_HSTS_SECONDS=0):
        server = LiveServer(address)
    yield server
    server.stop()


@pytest.fixture(autouse=True)
def _plain_http_cookies(settings: Any) -> None:
    """No `__Host-`/Secure cookies on http://localhost (tests/security/test_headers_sessions.py
    tests those without a browser)."""
    settings.SESSION_COOKIE_NAME, settings.SESSION_COOKIE_SECURE = "sessionid", False
    settings.CSRF_COOKIE_NAME, settings.CSRF_COOKIE_SECURE = "csrftoken", False


@pytest.fixture(scope="session")
def base_url(live_server: LiveServer) -> str:
    """The live server (this also replaces pytest-playwright's own `base_url` fixture)."""
    return live_server.url


@pytest.fixture(scope="session")
def browser_context_args(browser_context_args: dict) -> dict:
    return {
        **browser_context_args,
        "locale": "de-DE",
        "timezone_id": "Europe/Berlin",
        "reduced_motion": "reduce",
    }


@pytest.fixture
def demo_users() -> dict[str, Any]:
    """The demo members of `seed_demo` (member, expert, team, ...), password PASSWORD."""
    call_command("seed_demo", password=PASSWORD, stdout=io.StringIO())
    return {user.username: user for user in get_user_model()._default_manager.all()}


@pytest.fixture
def viewer(
    new_context: Callable[..., BrowserContext], live_server: LiveServer
) -> Callable[..., Page]:
    """`viewer(user)`: a page in a fresh context, logged in as `user` (None: anonymous).

    The session cookie is made by the test client, so only the journey pays for the login form.
    """

    def _viewer(user: Any = None, **context_args: Any) -> Page:
        context = new_context(**{"viewport": DESKTOP, **context_args})
        context.set_default_timeout(5_000)
        if user is not None:
            client = Client()
            client.force_login(user, backend="community.backends.CommunityBackend")
            cookie = client.cookies[settings.SESSION_COOKIE_NAME]
            context.add_cookies(
                [
                    {
                        "name": settings.SESSION_COOKIE_NAME,
                        "value": cookie.value,
                        "url": live_server.url,
                        "httpOnly": True,
                        "sameSite": "Lax",
                        "secure": False,
                    }
                ]
            )
        return context.new_page()

    return _viewer


def login(page: Page, username: str, password: str = PASSWORD) -> None:
    """Log in through the form, as a person does."""
    page.goto("/accounts/login/")
    page.get_by_label("Benutzername").fill(username)
    page.get_by_label("Passwort").fill(password)
    page.get_by_role("button", name="Anmelden", exact=True).click()
    page.wait_for_url(re.compile(r"/$"))


def screenshot(
    page: Page, name: str, *, full_page: bool = True, section: Locator | None = None
) -> Path:
    """Write test-artifacts/screenshots/<name>.png (gitignored) and return its path.

    With `section`, a viewport-sized shot with that part of the page in the middle (the size
    used for the README); otherwise the full page.
    """
    path = SCREENSHOTS / f"{name}.png"
    path.parent.mkdir(parents=True, exist_ok=True)
    if section is not None:
        section.evaluate("element => element.scrollIntoView({block: 'center'})")
        full_page = False
    page.screenshot(path=path, full_page=full_page, animations="disabled", caret="hide")
    return path


# --- Content-Security-Policy violations ---------------------------------------------------------

# Runs before any page script in every document, and is not subject to the page's CSP.
# Besides reporting each violation to Python, it keeps count on <html>: `data-csp-directives`
# names the violations the page has seen, `data-csp-pending` how many of them Python has not
# received yet; so a test waits for reports with Playwright's `expect`, not with a sleep.
CSP_LISTENER = """
document.addEventListener("securitypolicyviolation", (event) => {
  const root = document.documentElement;
  const directive = event.effectiveDirective || event.violatedDirective;
  const count = (delta) => {
    root.dataset.cspPending = Number(root.dataset.cspPending || 0) + delta;
  };
  root.dataset.cspDirectives = `${root.dataset.cspDirectives || ""} ${directive}`.trim();
  count(+1);
  window.__reportCspViolation({
    directive: directive,
    blocked: event.blockedURI,
    source: event.sourceFile,
    line: event.lineNumber,
    sample: event.sample,
    page: document.location.pathname,
  }).then(() => count(-1));
}, true);
"""


class CspWatch:
    """Collects CSP violations of one page, from the DOM event and from the console."""

    def __init__(self, page: Page) -> None:
        self.page = page
        self.violations: list[dict] = []
        self.console: list[str] = []
        page.expose_function("__reportCspViolation", self._on_violation)
        page.add_init_script(CSP_LISTENER)
        page.on("console", self._on_console)

    def _on_violation(self, violation: dict) -> None:
        self.violations.append(violation)

    def _on_console(self, message: ConsoleMessage) -> None:
        if "Content Security Policy" in message.text or "Content-Security-Policy" in message.text:
            self.console.append(message.text)

    def settle(self) -> None:
        """Wait until every violation the current page has seen has reached Python."""
        expect(self.page.locator("html")).not_to_have_attribute(
            "data-csp-pending", re.compile(r"^[1-9]")
        )

    def clear(self) -> None:
        self.violations.clear()
        self.console.clear()

    def report(self) -> str:
        lines = [f"{v['page']}: {v['directive']} blocked {v['blocked']!r}" for v in self.violations]
        return "\n".join(lines + self.console)
