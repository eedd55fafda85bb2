"""A small HTTP client for the set-up steps: logging in through the real form, checking pages.

The load itself is generated elsewhere (`bench.load`); this only collects cookies and tokens.
Every request carries `X-Forwarded-Proto: https`, as the TLS-terminating proxy in front of
the production site would, so the site takes its HTTPS code paths (secure cookies, CSRF
referer checking, HSTS) without TLS on loopback.
"""

from __future__ import annotations

import http.client
import re
from dataclasses import dataclass, field
from http.cookies import CookieError, SimpleCookie
from urllib.parse import urlencode

PROXY_HEADERS = {"X-Forwarded-Proto": "https"}
CSRF_FIELD = re.compile(rb'name="csrfmiddlewaretoken"\s+value="([^"]+)"')
CSRF_COOKIES = ("__Host-csrftoken", "csrftoken")
SESSION_COOKIES = ("__Host-sessionid", "sessionid")


class BenchError(RuntimeError):
    """A set-up step failed; the message says which and why."""


@dataclass
class Response:
    status: int
    headers: list[tuple[str, str]]
    body: bytes

    def header(self, name: str) -> str | None:
        for key, value in self.headers:
            if key.lower() == name.lower():
                return value
        return None


@dataclass
class Browser:
    """One visitor: a cookie jar and the site's address."""

    host: str
    port: int
    cookies: dict[str, str] = field(default_factory=dict)

    @property
    def origin(self) -> str:
        return f"https://{self.host}:{self.port}"

    def cookie_header(self) -> str:
        return "; ".join(f"{name}={value}" for name, value in self.cookies.items())

    def request_headers(self, extra: dict[str, str] | None = None) -> dict[str, str]:
        headers = {"Host": f"{self.host}:{self.port}", **PROXY_HEADERS}
        if self.cookies:
            headers["Cookie"] = self.cookie_header()
        headers.update(extra or {})
        return headers

    def request(
        self,
        method: str,
        path: str,
        *,
        form: dict[str, str] | None = None,
        referer: str | None = None,
    ) -> Response:
        extra: dict[str, str] = {}
        body = None
        if form is not None:
            body = urlencode(form).encode()
            extra["Content-Type"] = "application/x-www-form-urlencoded"
        if referer:
            extra["Referer"] = f"{self.origin}{referer}"
        connection = http.client.HTTPConnection(self.host, self.port, timeout=30)
        try:
            connection.request(method, path, body=body, headers=self.request_headers(extra))
            raw = connection.getresponse()
            response = Response(raw.status, raw.getheaders(), raw.read())
        finally:
            connection.close()
        for name, value in response.headers:
            if name.lower() == "set-cookie":
                self._store_cookie(value)
        return response

    def _store_cookie(self, header: str) -> None:
        jar: SimpleCookie = SimpleCookie()
        try:
            jar.load(header)
        except CookieError:
            return
        for name, morsel in jar.items():
            if morsel["max-age"] in ("0", 0) or not morsel.value:
                self.cookies.pop(name, None)
            else:
                self.cookies[name] = morsel.value

    def cookie(self, names: tuple[str, ...]) -> str | None:
        return next((self.cookies[name] for name in names if name in self.cookies), None)

    def csrf_token(self, page: Response) -> str:
        """The form's token, else the cookie's secret (Django accepts both)."""
        match = CSRF_FIELD.search(page.body)
        if match:
            return match.group(1).decode()
        token = self.cookie(CSRF_COOKIES)
        if not token:
            raise BenchError("No CSRF token in the page or the cookies.")
        return token


def log_in(host: str, port: int, username: str, password: str) -> Browser:
    """Log in through the real login form; the browser keeps the session cookie."""
    browser = Browser(host, port)
    page = browser.request("GET", "/accounts/login/")
    if page.status != 200:
        raise BenchError(f"GET /accounts/login/ answered {page.status}, expected 200.")
    answer = browser.request(
        "POST",
        "/accounts/login/",
        form={
            "username": username,
            "password": password,
            "csrfmiddlewaretoken": browser.csrf_token(page),
        },
        referer="/accounts/login/",
    )
    if answer.status != 302 or not browser.cookie(SESSION_COOKIES):
        raise BenchError(
            f"Login as {username!r} failed: POST /accounts/login/ answered {answer.status} "
            f"(expected 302 with a session cookie)."
        )
    return browser
