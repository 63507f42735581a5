"""Per-request language and time zone (the switcher in the page header is web/language.py).

Language: the signed-in user's setting, else the `lang` cookie set by the switcher, else
the browser's Accept-Language, else English. Time zone: the user's setting, else the
`tz` cookie (set from the browser's own zone by static/app.js), else the company's zone.
"""
from __future__ import annotations

from typing import Optional
from zoneinfo import ZoneInfo

from flask import Flask, g, has_request_context, request
from markupsafe import Markup

from engine import i18n
from engine.i18n import COMPANY_ZONE, LOCALE_NAMES, LOCALES, normalize_locale, zone_or_none

from .identity import current_actor

LANG_COOKIE = "lang"
ZONE_COOKIE = "tz"


def current_locale() -> str:
    if not has_request_context():
        return i18n.DEFAULT_LOCALE  # CLI commands and background jobs
    if "locale" not in g:
        g.locale = _choose_locale()
    return g.locale


def _choose_locale() -> str:
    actor = current_actor()
    return (normalize_locale(actor.locale if actor else None)
            or normalize_locale(request.cookies.get(LANG_COOKIE))
            or normalize_locale(request.accept_languages.best_match(
                [*LOCALES, "zh-CN", "zh-Hans", "en-US", "en-GB"]))
            or i18n.DEFAULT_LOCALE)


def current_zone() -> ZoneInfo:
    if not has_request_context():
        return COMPANY_ZONE  # CLI commands and background jobs
    if "zone" not in g:
        actor = current_actor()
        g.zone = (zone_or_none(actor.timezone if actor else None)
                  or zone_or_none(request.cookies.get(ZONE_COOKIE))
                  or COMPANY_ZONE)
    return g.zone


def use_customer_preferences(locale: Optional[str], zone_name: Optional[str]) -> None:
    """On a customer's status page the case's recorded language and zone apply, unless the
    visitor chose a language with the switcher."""
    if not request.cookies.get(LANG_COOKIE) and normalize_locale(locale):
        g.locale = normalize_locale(locale)
    if not request.cookies.get(ZONE_COOKIE) and zone_or_none(zone_name):
        g.zone = zone_or_none(zone_name)


def gettext(message: str, **values) -> str:
    text = i18n.translations(current_locale()).gettext(message)
    return text % values if values else text


_ = gettext


def translate(text) -> str:
    """Text that is not written in this code but known to the catalogs (task titles from
    the diagrams, form labels, stage texts, the engine's messages) in the reader's
    language. Returns a plain string, so a template still escapes it."""
    return i18n.localize(text, i18n.translations(current_locale()).gettext)


def local_time(value) -> str:
    """A moment as the reader sees it: YYYY-MM-DD HH:MM in their zone."""
    return i18n.local_time(value, current_zone())


def relative_time(value, now) -> str:
    """'5 min ago', 'in 3 h' in the reader's language; their local time further away."""
    return i18n.relative_time(value, now, gettext, current_zone())


def ngettext(singular: str, plural: str, n: int, **values) -> str:
    text = i18n.translations(current_locale()).ngettext(singular, plural, n)
    values.setdefault("num", n)
    return text % values


def time_tag(value) -> Markup:
    """A moment as `<time>` in the viewer's zone, to place inside a translated sentence."""
    return Markup('<time datetime="{}">{}</time>').format(value.isoformat(), local_time(value))


def ticket_tag(ticket: str) -> Markup:
    return Markup('<span class="ticket">{}</span>').format(ticket)


def init_app(app: Flask) -> None:
    app.jinja_env.add_extension("jinja2.ext.i18n")
    app.jinja_env.install_gettext_callables(gettext, ngettext, newstyle=True)
    # `_()` marks the template's own (trusted) text; data goes through `|translate`.
    app.jinja_env.filters["translate"] = translate

    @app.context_processor
    def language_helpers():
        return {
            "current_locale": current_locale,
            "locale_names": LOCALE_NAMES,
            "current_zone": current_zone,
            "zone_label": i18n.zone_label,
            "html_lang": lambda: "zh-CN" if current_locale() == "zh" else "en",
            "time_tag": time_tag,
            "ticket_tag": ticket_tag,
        }

    @app.after_request
    def vary_on_language(response):
        response.vary.add("Accept-Language")
        response.vary.add("Cookie")
        return response


__all__ = ["_", "gettext", "ngettext", "translate", "current_locale", "current_zone",
           "local_time", "relative_time", "Markup"]
