"""A minimal browser for the load: its own cookie jar, one connection per request, hard timeouts.

The site runs with production settings, so its cookies are `__Host-…` with the Secure flag.
Behind the run's nginx, nginx tells the app `X-Forwarded-Proto: https`, as the TLS-terminating
proxy does in production; talking to gunicorn directly (`says_forwarded_proto`), every request
says so itself. The jar sends the cookies back over the plain loopback connection itself.
Errors never raise: an answer is a status, or an error word: "refused" and "connect-timeout"
(nothing was sent), "timeout" and "reset" (sent, but no answer came).
"""

from __future__ import annotations

import http.client
import re
import time
from dataclasses import dataclass, field
from http.cookies import CookieError, SimpleCookie
from urllib.parse import urlencode

PROXY_HEADERS = {"X-Forwarded-Proto": "https"}
CSRF_FIELD = re.compile(rb'name="csrfmiddlewaretoken"\s+value="([^"]+)"')
CSRF_COOKIES = ("__Host-csrftoken", "csrftoken")
SESSION_COOKIES = ("__Host-sessionid", "sessionid")


@dataclass
class Answer:
    """The result of one request: `status` and `body`, or `error` when there was no answer."""

    started: float
    ended: float
    status: int | None = None
    location: str | None = None
    body: bytes = b""
    error: str | None = None


@dataclass
class Browser:
    """One visitor: a cookie jar, the site's address and a per-request timeout."""

    host: str
    port: int
    timeout: float = 10.0
    cookies: dict[str, str] = field(default_factory=dict)
    # Without a proxy in front, the client sends what the proxy would (X-Forwarded-Proto).
    says_forwarded_proto: bool = True

    @property
    def origin(self) -> str:
        return f"https://{self.host}:{self.port}"

    def request(
        self,
        method: str,
        path: str,
        *,
        form: dict[str, str] | None = None,
        referer: str | None = None,
    ) -> Answer:
        headers = {"Host": f"{self.host}:{self.port}", "Connection": "close"}
        if self.says_forwarded_proto:
            headers.update(PROXY_HEADERS)
        if self.cookies:
            headers["Cookie"] = "; ".join(f"{name}={value}" for name, value in self.cookies.items())
        body = None
        if form is not None:
            body = urlencode(form).encode()
            headers["Content-Type"] = "application/x-www-form-urlencoded"
        if referer:
            headers["Referer"] = f"{self.origin}{referer}"
        started = time.time()
        connection = http.client.HTTPConnection(self.host, self.port, timeout=self.timeout)
        try:
            try:
                connection.connect()
            except TimeoutError:
                return Answer(started, time.time(), error="connect-timeout")
            except OSError:
                return Answer(started, time.time(), error="refused")
            deadline = started + self.timeout
            try:
                connection.request(method, path, body=body, headers=headers)
                raw = connection.getresponse()
                data = raw.read()
            except TimeoutError:
                return Answer(started, time.time(), error="timeout")
            except (OSError, http.client.HTTPException):
                return Answer(started, time.time(), error="reset")
            if time.time() > deadline + 1.0:
                # Trickled in past the timeout: the client had given up by then.
                return Answer(started, time.time(), error="timeout")
            answer = Answer(
                started,
                time.time(),
                status=raw.status,
                location=raw.getheader("Location"),
                body=data,
            )
            for name, value in raw.getheaders():
                if name.lower() == "set-cookie":
                    self._store_cookie(value)
            return answer
        finally:
            connection.close()

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

    def csrf_token(self, page: bytes = b"") -> str | None:
        """The form's token from `page`, else the cookie's secret (Django accepts both)."""
        match = CSRF_FIELD.search(page)
        if match:
            return match.group(1).decode()
        return self.cookie(CSRF_COOKIES)

    def forget_session(self) -> None:
        for name in SESSION_COOKIES:
            self.cookies.pop(name, None)
