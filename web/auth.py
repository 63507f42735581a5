"""Signing in and out of the pages (who is signed in is web/identity.py)."""
from __future__ import annotations

from flask import (
    Blueprint, flash, make_response, redirect, render_template, request, url_for,
)

from engine import accounts, password_reset, sign_in

from .i18n import _, current_locale
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


def _wait_answer(template: str, seconds: int, **context):
    error = _("Too many attempts. Wait %(minutes)s minutes and try again.",
              minutes=max(1, -(-seconds // 60)))
    return with_retry_after(make_response(render_template(template, error=error, **context),
                                          429), seconds)


@bp.route("/password-reset", methods=["GET", "POST"])
def forgot_password():
    """Asks for a reset link; the answer is the same whether the account exists or not."""
    if request.method == "POST":
        outcome = password_reset.request_link(services(), request.form.get("identifier", ""),
                                              client_address(), current_locale())
        if outcome.retry_after:
            return _wait_answer("password_forgot.html", outcome.retry_after, sent=False)
        return render_template("password_forgot.html", sent=True)
    return render_template("password_forgot.html", sent=False)


def _reset_page(token: str, username: str, errors: dict, status: int = 200):
    response = make_response(render_template(
        "password_reset.html", token=token, username=username, errors=errors,
        min_length=accounts.MIN_PASSWORD), status)
    # The token is in the address: no other site is to see it in a Referer.
    response.headers["Referrer-Policy"] = "no-referrer"
    response.headers["Cache-Control"] = "no-store"
    return response


@bp.route("/password-reset/<token>", methods=["GET", "POST"])
def reset_with_link(token: str):
    try:
        username = password_reset.check_link(services(), token)
        if request.method == "POST":
            password_reset.use_link(services(), token, request.form.get("new", ""),
                                    request.form.get("confirm", ""))
            flash(_("Your password is set. Sign in with it."), "success")
            return redirect(url_for("auth.login"))
    except password_reset.LinkRefused as exc:
        return _reset_page("", "", {"link": exc.args[0]}, exc.status)
    except accounts.AccountInvalid as exc:
        return _reset_page(token, username, {exc.field: exc.args[0]}, 422)
    return _reset_page(token, username, {})
