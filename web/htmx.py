"""Answering htmx: a request that swaps one part of a page gets that part alone; every
other request gets the whole page, so everything works without JavaScript."""
from __future__ import annotations

from typing import Container, Optional

from flask import render_template, request


def is_htmx() -> bool:
    return request.headers.get("HX-Request") == "true"


def partial(template: str, status: int = 200, **context):
    """A section alone, for htmx to swap in; caches must not mix it up with the page."""
    return render_template(template, **context), status, {"Vary": "HX-Request"}


def swap_target(regions: Container[str], default: str) -> Optional[str]:
    """The id of the page part htmx asks for (`default` for one the page does not know),
    or None when the whole page is wanted: a plain request, a boosted link, or htmx
    restoring a page from its history."""
    headers = request.headers
    if headers.get("HX-Request") != "true" or headers.get("HX-Boosted") or \
            headers.get("HX-History-Restore-Request") == "true":
        return None
    target = headers.get("HX-Target")
    return target if target in regions else default
