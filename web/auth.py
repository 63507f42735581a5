"""Signing in and out of the pages (who is signed in is web/identity.py)."""
from __future__ import annotations

from typing import Optional

from flask import Blueprint, flash, redirect, render_template, request, session, url_for

from engine import audit
from engine.directory import Actor, actor_of, authenticate

from .i18n import _
from .rate_limit import too_many_attempts
from .services import services

bp = Blueprint("auth", __name__)


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
