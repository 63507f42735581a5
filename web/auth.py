"""Login, logout and who the current person is (session for pages, bearer for the API)."""
from __future__ import annotations

import functools
import time
from collections import defaultdict, deque
from typing import Optional

from flask import (
    Blueprint, current_app, flash, g, make_response, redirect, render_template, request,
    session, url_for,
)

from engine import audit
from engine.directory import Actor, actor_of, authenticate, get_user

from .i18n import _

bp = Blueprint("auth", __name__)

_attempts: dict[str, deque] = defaultdict(deque)


def services():
    return current_app.extensions["services"]


def too_many_attempts(key: str) -> bool:
    """A small in-process limiter: enough for one process; a shared store comes with scale-out."""
    now = time.monotonic()
    window = _attempts[key]
    while window and now - window[0] > 60:
        window.popleft()
    if len(window) >= current_app.config["LOGIN_ATTEMPTS_PER_MINUTE"]:
        return True
    window.append(now)
    return False


def current_actor() -> Optional[Actor]:
    if "actor" not in g:
        g.actor = None
        user_id = session.get("user_id")
        if user_id is not None:
            with services().db.read() as db:
                user = get_user(db, user_id)
                g.actor = actor_of(user) if user is not None else None
    return g.actor


def login_required(view):
    @functools.wraps(view)
    def wrapped(*args, **kwargs):
        if current_actor() is None:
            target = url_for("auth.login", next=request.full_path)
            if request.headers.get("HX-Request") == "true":
                # An in-place update would put the sign-in page inside the section it
                # meant to refresh: have htmx load it as the whole page instead.
                response = make_response("", 200)
                response.headers["HX-Redirect"] = target
                return response
            return redirect(target)
        return view(*args, **kwargs)
    return wrapped


def check_credentials(username: str, password: str) -> Optional[Actor]:
    with services().db.read() as db:
        user = authenticate(db, username, password)
        return actor_of(user) if user is not None else None


@bp.route("/login", methods=["GET", "POST"])
def login():
    error = None
    username = ""
    if request.method == "POST":
        username = request.form.get("username", "").strip()
        password = request.form.get("password", "")
        if too_many_attempts(f"{request.remote_addr}:{username}"):
            error = _("Too many attempts. Wait a minute and try again.")
        else:
            actor = check_credentials(username, password)
            if actor is None:
                error = _("Unknown user name or wrong password.")
            else:
                session.clear()
                session["user_id"] = actor.id
                with services().db.write() as db:
                    audit.record(db, "login", actor.username)
                target = request.args.get("next") or ""
                # Browsers drop tabs and line breaks from an address and read "\" as "/":
                # judge the target as they will follow it ("/\t/host" leaves the site).
                followed = "".join(c for c in target if c >= " ").replace("\\", "/")
                if not followed.startswith("/") or followed.startswith("//"):
                    target = url_for("inbox.index")
                return redirect(target)
    return render_template("login.html", error=error, username=username), (401 if error else 200)


@bp.post("/logout")
def logout():
    session.clear()
    flash(_("You are signed out."))
    return redirect(url_for("auth.login"))


@bp.app_context_processor
def inject_actor():
    return {"actor": current_actor()}
