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

from bench.load import BenchError, BodyCheck, Target
from bench.seed import SEARCHED_MOBILE

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
# The directory as a ring viewer, filtered to "Profildaten: unvollständig (0–67 %)" and sorted
# by fill level, fullest first (for viewers without rings both parameters would be dropped).
FILLED_DIRECTORY = "/members/?fill=incomplete&sort=-fill"
FILL_APPLIED = (
    BodyCheck("the fill filter is applied", r'<option value="incomplete"\s+selected'),
    BodyCheck("the sort by fill level is applied", r'<option value="-fill"\s+selected'),
)
CUSTOMER_DATA_ADMIN = "/admin/customer_data/customerdata/"
# One result row of the staff search (search_results.html): a link to the member's change view.
ONE_MEMBER_FOUND = (
    BodyCheck("members found", rf'href="{CUSTOMER_DATA_ADMIN}\d+/change/"', count=1),
)


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
    # The admin search box posts from the change list, with the token of that page.
    search = {
        "csrfmiddlewaretoken": team.csrf_token(team.send("GET", CUSTOMER_DATA_ADMIN)),
        "q": SEARCHED_MOBILE,
    }
    searched = {
        "Content-Type": "application/x-www-form-urlencoded",
        "Referer": f"{team.origin}{CUSTOMER_DATA_ADMIN}",
    }
    profile, settings = f"/members/{owner['username']}/", "/settings/profile/"
    return [
        Target("healthz", "/healthz", "GET", "/healthz", dict(PROXY_HEADERS)),
        # The signed-in floor: the home page is the site shell with a greeting and two links,
        # what every signed-in page pays before its own content.
        Target("signed_in_shell", "/ signed-in empty page (member)", "GET", "/", member.headers()),
        Target("profile_owner", "/members/<owner>/ as owner", "GET", profile, me.headers()),
        Target("profile_expert", "/members/<owner>/ as Mitgestalter", "GET", profile, expert.headers()),
        Target("profile_team", "/members/<owner>/ as THT", "GET", profile, team.headers()),
        Target("directory_expert", "/members/ p1 as Mitgestalter", "GET", "/members/", expert.headers()),
        Target("directory_member", "/members/ p1 as member", "GET", "/members/", member.headers()),
        Target(
            "directory_fill_expert", "/members/ by fill as Mitgestalter", "GET", FILLED_DIRECTORY,
            expert.headers(), checks=FILL_APPLIED,
        ),
        Target("settings_get", "/settings/profile/ GET (owner)", "GET", settings, me.headers()),
        Target(
            "settings_post", "/settings/profile/ Speichern POST", "POST", settings,
            me.headers(**posted), urlencode(form), expect=302,
        ),
        Target(
            "phone_search_team", "/admin/ search by phone as THT", "POST",
            f"{CUSTOMER_DATA_ADMIN}search/", team.headers(**searched), urlencode(search),
            checks=ONE_MEMBER_FOUND,
        ),
    ]  # fmt: skip


def check_targets(base_url: str, targets: list[Target]) -> None:
    """Send each measured request once: a wrong status, or an answer without what the row's
    checks look for, stops the run before any load. The errors never quote the answer."""
    for t in targets:
        answer = requests.request(
            t.method, base_url + t.path, headers=t.headers, data=t.body or None,
            allow_redirects=False, timeout=30,
        )  # fmt: skip
        if answer.status_code != t.expect:
            hint = " (the Profil form may have gained required fields; see bench/README.md)"
            raise BenchError(
                f"{t.label}: {t.method} {t.path} answered {answer.status_code}, expected "
                f"{t.expect}{hint if t.key == 'settings_post' else ''}."
            )
        for check in t.checks:
            found = len(re.findall(check.pattern, answer.text))
            if found != check.count:
                raise BenchError(
                    f"{t.label}: {t.method} {t.path}: {check.what}: {found} matches of "
                    f"{check.pattern!r} in the answer, expected {check.count} (see bench/README.md)."
                )
