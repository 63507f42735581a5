"""Driving the web pages from a test as a browser would: CSRF tokens taken from the page
the form is on, staff signed in through the login form, htmx requests by header, files
sent the way a file input sends them."""
from __future__ import annotations

import io
import re
from typing import Optional

from support.desk import RECORD

CSRF_FIELD = re.compile(r'name="csrf_token" value="([^"]+)"')
HTMX = {"HX-Request": "true"}

# The public intake form filled in with the usual record.
CUSTOMER_FORM = {k: str(v) for k, v in RECORD.items()
                 if k in ("customer_name", "customer_phone", "customer_email", "product",
                          "order_number", "description", "demand", "amount")}


def csrf(page: str) -> str:
    match = CSRF_FIELD.search(page)
    assert match, "page has no CSRF token"
    return match.group(1)


def post(client, path: str, data: dict, token_from: str, htmx: bool = False, **kwargs):
    """Submit a form to `path` with the CSRF token of the page `token_from`, where the
    form is shown."""
    page = client.get(token_from).get_data(as_text=True)
    headers = {**(HTMX if htmx else {}), **kwargs.pop("headers", {})}
    return client.post(path, data={**data, "csrf_token": csrf(page)}, headers=headers,
                       **kwargs)


def uploads(*pairs: tuple[str, bytes]) -> list:
    """(file name, content) pairs as a file input sends them."""
    return [(io.BytesIO(content), name) for name, content in pairs]


def send_form(client, path: str, data: dict, token_from: str, evidence=()):
    """Submit a form that carries evidence files, as multipart like the browser does."""
    return post(client, path, {**data, "evidence": uploads(*evidence)}, token_from,
                content_type="multipart/form-data")


def log_in(client, username: str, password: str = "demo"):
    """Submit the sign-in form; the response, whether it let the user in or not."""
    return post(client, "/login", {"username": username, "password": password}, "/login")


def signed_in(app, username: Optional[str], password: str = "demo"):
    """A test client signed in as this user (anonymous for None)."""
    client = app.test_client()
    if username:
        response = log_in(client, username, password)
        assert response.status_code == 302, (username, response.status_code)
    return client


def filed(page: str) -> tuple[str, str]:
    """The ticket and the status link's token shown after a complaint is filed online."""
    ticket = re.search(r'id="ticket">(\d{10})<', page).group(1)
    link = re.search(r'id="status-link" href="([^"]+)"', page).group(1)
    return ticket, link.split("/status/", 1)[1]


def file_online(client, *evidence: tuple[str, bytes], **fields) -> tuple[str, str]:
    """A complaint filed on the public form with the usual record (and `fields` changed),
    with these evidence files: its ticket and the status link's token."""
    response = send_form(client, "/complaint", {**CUSTOMER_FORM, **fields}, "/complaint",
                         evidence)
    assert response.status_code == 302, response.get_data(as_text=True)[:3000]
    page = client.get(response.headers["Location"]).get_data(as_text=True)
    return filed(page)


class Visitor:
    """A browser: anonymous (a customer) or signed in as staff, with a language
    preference if given, posting forms with their CSRF token, with or without htmx."""

    def __init__(self, app, username: Optional[str] = None,
                 accept_language: Optional[str] = None):
        self.client = app.test_client()
        if accept_language:
            self.client.environ_base["HTTP_ACCEPT_LANGUAGE"] = accept_language
        if username:
            self.sign_in(username)

    def log_in(self, username: str, password: str = "demo"):
        return log_in(self.client, username, password)

    def sign_in(self, username: str, password: str = "demo") -> "Visitor":
        response = self.log_in(username, password)
        assert response.status_code == 302, (username, response.status_code)
        return self

    def get(self, path: str, htmx: bool = False):
        return self.client.get(path, headers=HTMX if htmx else {})

    def post(self, path: str, data: dict, token_from: str = "/", htmx: bool = False,
             **kwargs):
        """Submit a form; its token comes from `token_from`, the inbox unless said."""
        return post(self.client, path, data, token_from, htmx, **kwargs)

    def file_online(self, *evidence: tuple[str, bytes], **fields) -> tuple[str, str]:
        return file_online(self.client, *evidence, **fields)
