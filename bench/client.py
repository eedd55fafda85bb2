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
from bench.names import COMMON_NAME_SEARCH, RARE_NAME_MEMBERS, RARE_NAME_SEARCH
from bench.seed import SEARCHED_CUSTOMER_NUMBER, SEARCHED_MOBILE

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
# The admin change list's table, which Django renders only when the list has rows.
ADMIN_LIST_SHOWN = (BodyCheck("the list shows rows", r'<table id="result_list"'),)
# As in profiles/views.py (DIRECTORY_PAGE_SIZE, DIRECTORY_MAX_PAGES; a test keeps them equal):
# the directory pages through at most 200 pages of 50, so page 200 is the deepest one.
DIRECTORY_PAGE_SIZE = 50
DIRECTORY_MAX_PAGES = 200
DEEPEST_DIRECTORY = f"/members/?page={DIRECTORY_MAX_PAGES}"
DEEPEST_SHOWN = (
    BodyCheck(
        "the deepest page is shown",
        rf'aria-current="page">Seite {DIRECTORY_MAX_PAGES} von {DIRECTORY_MAX_PAGES}<',
    ),
)
# A member's row in the directory (templates/profiles/directory.html).
MEMBER_ROW = r'class="member-link" href="/members/'


def name_search(term: str) -> str:
    """The directory searched for part of a name."""
    return "/members/?" + urlencode({"q": term})


def search_applied(term: str) -> BodyCheck:
    """The directory's search box shows the term: the search was not dropped as invalid."""
    return BodyCheck("the search is applied", rf'name="q" value="{re.escape(term)}"')


# A frequent last name finds members (a full page of 50 from 10,000 members up); the rare
# name finds exactly the members the data set gave it.
COMMON_NAME_FOUND = (
    search_applied(COMMON_NAME_SEARCH),
    BodyCheck("members found", MEMBER_ROW, count=1, at_least=True),
)
RARE_NAME_FOUND = (
    search_applied(RARE_NAME_SEARCH),
    BodyCheck("members found", MEMBER_ROW, count=RARE_NAME_MEMBERS),
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


def build_targets(
    base_url: str, owner: dict[str, str], password: str, *, members: int
) -> list[Target]:
    """Log in the viewers and describe every measured request (`members`: how many the data
    set has; with fewer than 200 pages' worth the deepest page is the last one there is)."""
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
    token = team.csrf_token(team.send("GET", CUSTOMER_DATA_ADMIN))
    search = {"csrfmiddlewaretoken": token, "q": SEARCHED_MOBILE}
    by_number = {"csrfmiddlewaretoken": token, "q": SEARCHED_CUSTOMER_NUMBER}
    searched = {
        "Content-Type": "application/x-www-form-urlencoded",
        "Referer": f"{team.origin}{CUSTOMER_DATA_ADMIN}",
    }
    profile, settings = f"/members/{owner['username']}/", "/settings/profile/"
    deepest = DEEPEST_SHOWN if members >= DIRECTORY_PAGE_SIZE * DIRECTORY_MAX_PAGES else ()
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
        Target(
            "directory_deep_expert", "/members/ p200 as Mitgestalter", "GET", DEEPEST_DIRECTORY,
            expert.headers(), checks=deepest,
        ),
        Target(
            "directory_deep_member", "/members/ p200 as member", "GET", DEEPEST_DIRECTORY,
            member.headers(), checks=deepest,
        ),
        Target(
            "name_search_common", f"/members/?q={COMMON_NAME_SEARCH} as member", "GET",
            name_search(COMMON_NAME_SEARCH), member.headers(), checks=COMMON_NAME_FOUND,
        ),
        Target(
            "name_search_rare", f"/members/?q={RARE_NAME_SEARCH} as member", "GET",
            name_search(RARE_NAME_SEARCH), member.headers(), checks=RARE_NAME_FOUND,
        ),
        Target("settings_get", "/settings/profile/ GET (owner)", "GET", settings, me.headers()),
        Target(
            "settings_post", "/settings/profile/ Speichern POST", "POST", settings,
            me.headers(**posted), urlencode(form), expect=302,
        ),
        Target(
            "admin_list_team", "/admin/ customer data list as THT", "GET", CUSTOMER_DATA_ADMIN,
            team.headers(), checks=ADMIN_LIST_SHOWN,
        ),
        Target(
            "phone_search_team", "/admin/ search by phone as THT", "POST",
            f"{CUSTOMER_DATA_ADMIN}search/", team.headers(**searched), urlencode(search),
            checks=ONE_MEMBER_FOUND,
        ),
        Target(
            "number_search_team", "/admin/ search by number as THT", "POST",
            f"{CUSTOMER_DATA_ADMIN}search/", team.headers(**searched), urlencode(by_number),
            checks=ONE_MEMBER_FOUND,
        ),
    ]  # fmt: skip


# The site answers 503 when a query outlasts DATABASE_STATEMENT_TIMEOUT. A page that slow
# gets this many tries (caches may be cold); if it never answers in time, that is what the
# load will measure too (its 503s count as `bad`), not a wrong page: the run goes on.
CHECK_TRIES = 3


def check_targets(base_url: str, targets: list[Target]) -> list[str]:
    """Send each measured request once: a wrong status, or an answer without what the row's
    checks look for, stops the run before any load. The errors never quote the answer.
    Returns warnings about rows slower than the site's statement timeout."""
    warnings = []
    for t in targets:
        for _ in range(CHECK_TRIES):
            answer = requests.request(
                t.method, base_url + t.path, headers=t.headers, data=t.body or None,
                allow_redirects=False, timeout=30,
            )  # fmt: skip
            if answer.status_code != 503:
                break
        if answer.status_code == 503 and t.expect != 503:
            warnings.append(
                f"{t.label}: {t.method} {t.path} answered 503 {CHECK_TRIES} times: slower than "
                "the site's statement timeout (DATABASE_STATEMENT_TIMEOUT); measured as it is, "
                "its 503s count as bad answers, its HTML is not checked."
            )
            continue
        if answer.status_code != t.expect:
            hint = " (the Profil form may have gained required fields; see bench/README.md)"
            raise BenchError(
                f"{t.label}: {t.method} {t.path} answered {answer.status_code}, expected "
                f"{t.expect}{hint if t.key == 'settings_post' else ''}."
            )
        for check in t.checks:
            found = len(re.findall(check.pattern, answer.text))
            if not check.passes(found):
                expected = f"at least {check.count}" if check.at_least else str(check.count)
                raise BenchError(
                    f"{t.label}: {t.method} {t.path}: {check.what}: {found} matches of "
                    f"{check.pattern!r} in the answer, expected {expected} (see bench/README.md)."
                )
    return warnings
