"""The language switcher in the page header: a plain form, so it works without JavaScript."""
from __future__ import annotations

from typing import Optional

from flask import Blueprint, redirect, request

from engine import i18n
from engine.directory import set_preferences
from engine.i18n import normalize_locale

from .i18n import LANG_COOKIE
from .identity import current_actor
from .services import services

# Named as before the switcher had a module of its own, so its endpoint stays "i18n.*".
bp = Blueprint("i18n", __name__)

COOKIE_MAX_AGE = 365 * 24 * 3600


@bp.post("/language")
def switch_language():
    chosen = normalize_locale(request.form.get("lang")) or i18n.DEFAULT_LOCALE
    target = _same_site_referrer() or "/"
    actor = current_actor()
    if actor is not None:
        with services().db.write() as db:
            set_preferences(db, actor.id, locale=chosen)
    response = redirect(target)
    response.set_cookie(LANG_COOKIE, chosen, max_age=COOKIE_MAX_AGE, samesite="Lax",
                        httponly=True, secure=request.is_secure)
    return response


def _same_site_referrer() -> Optional[str]:
    """Back to the page the switcher was on. Taken from the Referer (sent for same-origin
    requests under our Referrer-Policy) rather than a form field, so that no page, not even
    a 404 for a guessed link, has to echo its own address."""
    referrer = request.referrer or ""
    origin = request.host_url.rstrip("/")
    if not referrer.startswith(origin + "/"):
        return None
    path = referrer[len(origin):]
    # Judged as a browser follows it: tabs and line breaks dropped, "\\" read as "/".
    followed = "".join(c for c in path if c >= " ").replace("\\", "/")
    return None if followed.startswith("//") else path
