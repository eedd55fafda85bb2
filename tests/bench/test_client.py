"""Cookies and CSRF tokens of the benchmark's visitors (no server: responses are built here)."""

import pytest
import requests

from bench.client import Visitor
from bench.load import BenchError


def page(html: str = "", url: str = "http://127.0.0.1:1/accounts/login/") -> requests.Response:
    response = requests.Response()
    response._content = html.encode()
    response.encoding = "utf-8"
    response.url = url
    return response


def test_visitor_sends_the_proxy_header_and_its_cookies():
    visitor = Visitor("http://127.0.0.1:8000", {"__Host-sessionid": "s", "__Host-csrftoken": "c"})

    assert visitor.origin == "https://127.0.0.1:8000"
    assert visitor.headers(Referer="r") == {
        "X-Forwarded-Proto": "https",
        "Cookie": "__Host-sessionid=s; __Host-csrftoken=c",
        "Referer": "r",
    }
    assert "Cookie" not in Visitor("http://127.0.0.1:8000").headers()


def test_csrf_token_comes_from_the_form_first():
    visitor = Visitor("http://x", {"__Host-csrftoken": "cookie-secret"})
    form = '<input type="hidden" name="csrfmiddlewaretoken" value="form-token">'

    assert visitor.csrf_token(page(form)) == "form-token"
    assert visitor.csrf_token(page("<p>no form</p>")) == "cookie-secret"


def test_missing_csrf_token_is_an_error():
    with pytest.raises(BenchError, match="No CSRF token"):
        Visitor("http://x").csrf_token(page())
