"""A staff member's own settings: the language of the pages and e-mails, the time zone
times are shown in, and their password."""
from __future__ import annotations

from flask import Blueprint, flash, g, redirect, render_template, request, url_for

from engine import accounts
from engine.directory import set_preferences
from engine.i18n import (
    COMPANY_ZONE_NAME, LOCALE_NAMES, N_, Message, normalize_locale, zone_choices, zone_or_none,
)

from .i18n import LANG_COOKIE, _
from .identity import current_actor, login_required, start_session
from .services import services

bp = Blueprint("settings", __name__)


def _page(locale: str, zone: str, errors: dict | None = None, status: int = 200):
    with services().db.read() as db:
        tokens = accounts.tokens(db, current_actor().username)
    return render_template("settings.html", chosen_locale=locale, chosen_zone=zone,
                           locale_names=LOCALE_NAMES, zones=zone_choices(),
                           company_zone=COMPANY_ZONE_NAME, errors=errors or {},
                           tokens=tokens), status


@bp.get("/settings")
@login_required
def edit():
    actor = current_actor()
    return _page(actor.locale or "", actor.timezone or "")


@bp.post("/settings")
@login_required
def save():
    raw_locale = request.form.get("locale", "")
    raw_zone = request.form.get("timezone", "").strip()
    errors = {}
    if raw_locale and not normalize_locale(raw_locale):
        errors["locale"] = Message(N_("Choose one of the offered languages."))
    if raw_zone and zone_or_none(raw_zone) is None:
        errors["timezone"] = Message(N_("Choose a time zone from the list."))
    if errors:
        return _page(raw_locale, raw_zone, errors, status=422)
    actor = current_actor()
    with services().db.write() as db:
        set_preferences(db, actor.id, locale=normalize_locale(raw_locale),
                        timezone=raw_zone or None)
    # The confirmation already speaks the language just chosen.
    for name in ("actor", "locale", "zone"):
        g.pop(name, None)
    flash(_("Your settings are saved."), "success")
    response = redirect(url_for("settings.edit"))
    if not raw_locale:
        # "Follow my browser": a language picked earlier with the switcher no longer applies.
        response.delete_cookie(LANG_COOKIE)
    return response


def _password_page(errors: dict | None = None, status: int = 200):
    return render_template("settings_password.html", errors=errors or {},
                           min_length=accounts.MIN_PASSWORD), status


@bp.get("/settings/password")
@login_required
def password_form():
    return _password_page()


@bp.post("/settings/password")
@login_required
def change_password():
    actor = current_actor()
    try:
        generation = accounts.change_own_password(
            services(), actor, request.form.get("current", ""), request.form.get("new", ""),
            request.form.get("confirm", ""))
    except accounts.AccountInvalid as exc:
        return _password_page({exc.field: exc.args[0]}, status=422)
    # Every other session of the account ended with the old password; this one goes on.
    start_session(actor, generation)
    g.pop("actor", None)
    flash(_("Your password is changed. Your other sessions and API tokens have ended."),
          "success")
    return redirect(url_for("settings.edit"))


@bp.post("/settings/tokens/<key>/revoke")
@login_required
def revoke_token(key: str):
    actor = current_actor()
    accounts.revoke_token(services(), actor, actor.username, key)
    flash(_("The API token is revoked."), "success")
    return redirect(url_for("settings.edit"))
