"""Log-ins, cookies and CSRF tokens through `requests`, and the measured requests built from them.

Every request carries `X-Forwarded-Proto: https`, as the TLS-terminating proxy in front of the
production site would, so the site takes its HTTPS code paths (`__Host-` Secure cookies, the
CSRF referer check, HSTS) on plain loopback HTTP. A cookie jar would never send a Secure
cookie over HTTP, so each visitor keeps the cookies of the responses itself and sends them as
a `Cookie` header; wrk gets the same header.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlencode

import requests

from bench.load import BenchError, Target

PROXY_HEADERS = {"X-Forwarded-Proto": "https"}
CSRF_FIELD = re.compile(r'name="csrfmiddlewaretoken"\s+value="([^"]+)"')
CSRF_COOKIES = ("__Host-csrftoken", "csrftoken")
SESSION_COOKIES = ("__Host-sessionid", "sessionid")
# What the owner saves with "Speichern" (all three customer-data fields filled).
SAVED_CUSTOMER_DATA = {
    "customer-consent": "on",
    "customer-customer_number": "4711 0815 42",
    "customer-mobile_number": "0171 1234567",
    "customer-further_info": "Auftrag 12345678, erreichbar werktags ab 17 Uhr",
}


@dataclass
class Visitor:
    """One browser: the site's address and the cookies the site has set so far."""

    base_url: str
    cookies: dict[str, str] = field(default_factory=dict)

    @property
    def origin(self) -> str:
        """The address as the browser sees it, behind the TLS proxy."""
        return self.base_url.replace("http://", "https://", 1)

    def headers(self, **extra: str) -> dict[str, str]:
        cookie = "; ".join(f"{name}={value}" for name, value in self.cookies.items())
        return {**PROXY_HEADERS, **({"Cookie": cookie} if cookie else {}), **extra}

    def send(self, method: str, path: str, **kwargs: Any) -> requests.Response:
        """One request with this visitor's cookies; the cookies it sets are kept."""
        headers = self.headers(**kwargs.pop("headers", {}))
        url = self.base_url + path
        response = requests.request(
            method, url, headers=headers, allow_redirects=False, timeout=30, **kwargs
        )
        self.cookies.update((c.name, c.value) for c in response.cookies if c.value is not None)
        return response

    def csrf_token(self, page: requests.Response) -> str:
        """The form's token, else the cookie's secret (Django accepts both)."""
        match = CSRF_FIELD.search(page.text)
        cookie = next((self.cookies[name] for name in CSRF_COOKIES if name in self.cookies), "")
        if not (match or cookie):
            raise BenchError(f"No CSRF token in {page.url} ({page.status_code}) or its cookies.")
        return match.group(1) if match else cookie


def log_in(base_url: str, username: str, password: str) -> Visitor:
    """Log in through the real login form; the visitor keeps the session cookie."""
    visitor = Visitor(base_url)
    token = visitor.csrf_token(visitor.send("GET", "/accounts/login/"))
    form = {"username": username, "password": password, "csrfmiddlewaretoken": token}
    referer = {"Referer": f"{visitor.origin}/accounts/login/"}
    answer = visitor.send("POST", "/accounts/login/", data=form, headers=referer)
    if answer.status_code != 302 or not visitor.cookies.keys() & set(SESSION_COOKIES):
        raise BenchError(
            f"Login as {username!r} failed: POST /accounts/login/ answered {answer.status_code} "
            "(expected 302 with a session cookie)."
        )
    return visitor


def build_targets(base_url: str, owner: dict[str, str], password: str) -> list[Target]:
    """Log in the viewers and describe every measured request."""
    me, member, expert, team = (
        log_in(base_url, name, password) for name in (owner["username"], "member", "expert", "team")
    )
    form = {
        "csrfmiddlewaretoken": me.csrf_token(me.send("GET", "/settings/profile/")),
        "profile-display_name": owner["display_name"],
        "profile-about": owner["about"] or "Glasfaser-Neukunde.",
        "profile-location": owner["location"] or "Bonn",
        **SAVED_CUSTOMER_DATA,
    }
    posted = {
        "Content-Type": "application/x-www-form-urlencoded",
        "Referer": f"{me.origin}/settings/profile/",
    }
    profile, settings = f"/members/{owner['username']}/", "/settings/profile/"
    return [
        Target("healthz", "/healthz", "GET", "/healthz", dict(PROXY_HEADERS)),
        Target("profile_owner", "/members/<owner>/ as owner", "GET", profile, me.headers()),
        Target("profile_expert", "/members/<owner>/ as Mitgestalter", "GET", profile, expert.headers()),
        Target("profile_team", "/members/<owner>/ as THT", "GET", profile, team.headers()),
        Target("directory_expert", "/members/ p1 as Mitgestalter", "GET", "/members/", expert.headers()),
        Target("directory_member", "/members/ p1 as member", "GET", "/members/", member.headers()),
        Target("settings_get", "/settings/profile/ GET (owner)", "GET", settings, me.headers()),
        Target(
            "settings_post", "/settings/profile/ Speichern POST", "POST", settings,
            me.headers(**posted), urlencode(form), expect=302,
        ),
    ]  # fmt: skip


def check_targets(base_url: str, targets: list[Target]) -> None:
    """Send each measured request once: a wrong status stops the run before any load."""
    for t in targets:
        status = requests.request(
            t.method, base_url + t.path, headers=t.headers, data=t.body or None,
            allow_redirects=False, timeout=30,
        ).status_code  # fmt: skip
        if status != t.expect:
            hint = " (the Profil form may have gained required fields; see bench/README.md)"
            raise BenchError(
                f"{t.label}: {t.method} {t.path} answered {status}, expected {t.expect}"
                f"{hint if t.method == 'POST' else ''}."
            )
