"""Driving the web pages from a test as a browser would: CSRF tokens taken from the page
the form is on, staff signed in through the login form, htmx requests by header."""
from __future__ import annotations

import re
from typing import Optional

CSRF_FIELD = re.compile(r'name="csrf_token" value="([^"]+)"')
HTMX = {"HX-Request": "true"}


def csrf(page: str) -> str:
    match = CSRF_FIELD.search(page)
    assert match, "page has no CSRF token"
    return match.group(1)


def signed_in(app, username: Optional[str]):
    """A test client signed in as the demo user (anonymous for None)."""
    client = app.test_client()
    if username:
        token = csrf(client.get("/login").get_data(as_text=True))
        response = client.post("/login", data={"username": username, "password": "demo",
                                               "csrf_token": token})
        assert response.status_code == 302
    return client


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

    def sign_in(self, username: str) -> "Visitor":
        response = self.post("/login", {"username": username, "password": "demo"}, "/login")
        assert response.status_code == 302
        return self

    def get(self, path: str, htmx: bool = False):
        return self.client.get(path, headers=HTMX if htmx else {})

    def post(self, path: str, data: dict, token_from: str, htmx: bool = False, **kwargs):
        page = self.client.get(token_from).get_data(as_text=True)
        headers = {**(HTMX if htmx else {}), **kwargs.pop("headers", {})}
        return self.client.post(path, data={**data, "csrf_token": csrf(page)},
                                headers=headers, **kwargs)


def filed(page: str) -> tuple[str, str]:
    """The ticket and the status link's token shown after a complaint is filed online."""
    ticket = re.search(r'id="ticket">(\d{10})<', page).group(1)
    link = re.search(r'id="status-link" href="([^"]+)"', page).group(1)
    return ticket, link.split("/status/", 1)[1]
