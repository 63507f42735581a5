"""Signing in and out of the pages (who is signed in is web/identity.py)."""
from __future__ import annotations

from flask import (
    Blueprint, flash, make_response, redirect, render_template, request, url_for,
)

from engine import sign_in

from .i18n import _
from .identity import end_session, start_session
from .rate_limit import client_address, with_retry_after
from .services import services

bp = Blueprint("auth", __name__)


@bp.route("/login", methods=["GET", "POST"])
def login():
    error = None
    username = ""
    if request.method == "POST":
        username = request.form.get("username", "").strip()
        password = request.form.get("password", "")
        outcome = sign_in.sign_in(services(), username, password, client_address())
        if not sign_in.acceptable_name(username):
            username = ""  # never echo what no account could be called
        if outcome.retry_after:
            error = _("Too many attempts. Wait %(minutes)s minutes and try again.",
                      minutes=max(1, -(-outcome.retry_after // 60)))
            return with_retry_after(make_response(render_template(
                "login.html", error=error, username=username), 429), outcome.retry_after)
        else:
            actor = outcome.actor
            if actor is None:
                error = _("Unknown user name or wrong password.")
            else:
                start_session(actor, outcome.generation)
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
    end_session()
    flash(_("You are signed out."))
    return redirect(url_for("auth.login"))
