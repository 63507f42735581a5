"""Two languages (Simplified Chinese and English) and the user's time zone.

English strings are the message ids; the Chinese catalogs are the `.po` files under
`engine/translations/zh/` (one per area, so that they stay readable). They are read with
Babel at start-up and compiled in memory: there is no build step and no compiled file to
forget, and a catalog edit shows after a restart.

The engine renders e-mails with `translator(locale)`; the web layer picks the locale per
request (web/i18n.py) and uses the same catalogs.
"""
from __future__ import annotations

import datetime as dt
import functools
import io
from pathlib import Path
from typing import Callable, Optional
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError, available_timezones

from babel.messages.catalog import Catalog
from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po
from babel.support import NullTranslations, Translations

LOCALES = ("zh", "en")
LOCALE_NAMES = {"zh": "中文", "en": "English"}
DEFAULT_LOCALE = "en"
COMPANY_ZONE_NAME = "Asia/Shanghai"
COMPANY_ZONE = ZoneInfo(COMPANY_ZONE_NAME)
CATALOG_DIR = Path(__file__).parent / "translations"


def N_(message: str) -> str:
    """Marks a string for the catalog where it is defined; it is translated where shown."""
    return message


def one_line(text: str) -> str:
    """A diagram name as the catalog has it: names may wrap in the diagram."""
    return " ".join(text.split())


def normalize_locale(value: Optional[str]) -> Optional[str]:
    """'zh-CN', 'zh_Hans', 'ZH' -> 'zh'; 'en-GB' -> 'en'; anything else -> None."""
    if not value:
        return None
    language = value.strip().replace("_", "-").split("-")[0].lower()
    return language if language in LOCALES else None


def zone_or_none(name: Optional[str]) -> Optional[ZoneInfo]:
    if not name or name not in _zone_names():
        return None
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        return None


@functools.cache
def _zone_names() -> frozenset[str]:
    return frozenset(available_timezones())


def zone_choices() -> list[str]:
    return sorted(_zone_names())


def load_catalog(locale: str) -> Catalog:
    """All `.po` files of a locale merged into one catalog (fuzzy entries left out)."""
    merged = Catalog(locale=locale)
    for po_file in sorted((CATALOG_DIR / locale).glob("*.po")):
        with po_file.open("rb") as handle:
            catalog = read_po(handle, locale=locale)
        for message in catalog:
            if message.id and message.string and not message.fuzzy:
                merged.add(message.id, message.string, context=message.context)
    return merged


@functools.cache
def translations(locale: str) -> NullTranslations:
    if locale not in LOCALES or not (CATALOG_DIR / locale).is_dir():
        return NullTranslations()
    buffer = io.BytesIO()
    write_mo(buffer, load_catalog(locale))
    buffer.seek(0)
    return Translations(fp=buffer)


def translator(locale: Optional[str]) -> Callable[..., str]:
    """gettext for one locale, with %(name)s placeholders filled from keyword arguments."""
    catalog = translations(normalize_locale(locale) or DEFAULT_LOCALE)

    def translate(message: str, **values) -> str:
        text = catalog.gettext(message)
        return text % values if values else text
    return translate


def parse_time(value) -> Optional[dt.datetime]:
    """A moment given as a datetime or as ISO 8601 text (how case data stores times);
    None for anything else."""
    if isinstance(value, dt.datetime):
        return value
    if isinstance(value, str) and len(value) >= 16 and value[4:5] == "-" and value[10:11] in "Tt ":
        try:
            return dt.datetime.fromisoformat(value.replace("Z", "+00:00").replace("z", "+00:00"))
        except ValueError:
            return None
    return None


def local_time(value, zone: Optional[ZoneInfo] = None) -> str:
    """YYYY-MM-DD HH:MM in the given zone (the company's by default); '' for nothing.
    Text that is not a time is returned as it is; a time without zone is taken as UTC,
    as the database stores it."""
    if value is None or value == "":
        return ""
    moment = parse_time(value)
    if moment is None:
        return str(value)
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=dt.timezone.utc)
    return moment.astimezone(zone or COMPANY_ZONE).strftime("%Y-%m-%d %H:%M")


def relative_time(value, now: dt.datetime, gettext: Callable[..., str],
                  zone: Optional[ZoneInfo] = None) -> str:
    """'5 min ago', 'in 3 h', '2 days ago' for times within two weeks of `now`, the local
    time beyond; `gettext` (with %(name)s values) gives the reader's language."""
    moment = parse_time(value)
    if moment is None:
        return local_time(value, zone)
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=dt.timezone.utc)
    seconds = (now - moment).total_seconds()
    future = seconds < 0
    seconds = abs(seconds)
    if seconds < 60:
        return gettext(N_("in under a minute") if future else N_("just now"))
    for unit, limit, ahead, ago in _RELATIVE_UNITS:
        if seconds < limit:
            return gettext(ahead if future else ago, count=int(seconds // unit))
    return local_time(moment, zone)


# Seconds per unit, the distance up to which the unit is used, and its wording.
_RELATIVE_UNITS = (
    (60, 3600, N_("in %(count)s min"), N_("%(count)s min ago")),
    (3600, 48 * 3600, N_("in %(count)s h"), N_("%(count)s h ago")),
    (86400, 14 * 86400, N_("in %(count)s days"), N_("%(count)s days ago")),
)


def zone_label(zone: Optional[ZoneInfo], now: Optional[dt.datetime] = None) -> str:
    """'Asia/Shanghai (UTC+08:00)' for page footers and e-mails."""
    zone = zone or COMPANY_ZONE
    offset = (now or dt.datetime.now(dt.timezone.utc)).astimezone(zone).strftime("%z")
    return f"{zone.key} (UTC{offset[:3]}:{offset[3:]})"


class Message(str):
    """English text that keeps its catalog id and values.

    Engine code raises and returns these where a person will read the text: the API and
    the logs get the English string, a page shows the same message in the reader's
    language (`localize`). Values that are themselves Messages are translated too.
    """

    msgid: str
    values: dict

    def __new__(cls, msgid: str, **values) -> "Message":
        text = super().__new__(cls, msgid % values if values else msgid)
        text.msgid = msgid
        text.values = values
        return text

    def __reduce__(self):
        return (_rebuild_message, (self.msgid, self.values))


def _rebuild_message(msgid: str, values: dict) -> Message:
    return Message(msgid, **values)


def localize(text, gettext: Callable[[str], str]) -> str:
    """A message (plain English or a `Message`) in the language of `gettext`."""
    if isinstance(text, BaseException):  # a service error: its message, not its str()
        text = text.args[0] if text.args else ""
    if text is None:
        return ""
    if isinstance(text, Message):
        values = {name: localize(value, gettext) if isinstance(value, Message) else value
                  for name, value in text.values.items()}
        translated = gettext(text.msgid)
        return translated % values if values else translated
    return gettext(str(text)) if text else ""
