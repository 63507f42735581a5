"""Which English strings the product shows, and which of them lack a Chinese translation.

Run `python -m engine.i18n_extract` to list the missing ones (as `.po` entries to fill in);
the test suite fails while any is missing. Strings come from:
- Python (`_()`, `gettext()`, `ngettext()`, `N_()`) in engine/ and web/,
- the Jinja templates (`_()` and `{% trans %}`),
- the forms (titles, descriptions, choice titles, the customer's stage texts),
- the BPMN task names shown as task titles, and the notices the diagrams send.
"""
from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Iterator

from babel.messages.extract import extract_from_dir
from lxml import etree

from .i18n import LOCALES, load_catalog, one_line

ROOT = Path(__file__).resolve().parent.parent
KEYWORDS = {"_": None, "gettext": None, "ngettext": (1, 2), "N_": None}
FORM_TEXT_KEYS = {"title", "description", "ui:placeholder", "ui:help", "ui:title"}
BPMN = "{http://www.omg.org/spec/BPMN/20100524/MODEL}"
SPIFF = "{http://spiffworkflow.org/bpmn/schema/1.0/core}"


def _code_messages() -> Iterator[str]:
    for folder, method in (("engine", "python"), ("web", "python")):
        found = extract_from_dir(
            ROOT / folder,
            method_map=[("**.py", method), ("**/templates/**.html", "jinja2")],
            options_map={"**/templates/**.html": {"extensions": "jinja2.ext.i18n"}},
            keywords=KEYWORDS)
        for _filename, _lineno, message, _comments, _context in found:
            for text in (message if isinstance(message, tuple) else (message,)):
                if text:
                    yield text


def _form_texts(node) -> Iterator[str]:
    if isinstance(node, dict):
        for key, value in node.items():
            if key in FORM_TEXT_KEYS and isinstance(value, str) and value.strip():
                yield value
            else:
                yield from _form_texts(value)
    elif isinstance(node, list):
        for item in node:
            yield from _form_texts(item)


def _form_messages() -> Iterator[str]:
    for path in sorted((ROOT / "forms").glob("*.json")):
        document = json.loads(path.read_text(encoding="utf-8"))
        if path.name == "customer_stages.json":
            for key, texts in document.items():
                if key == "_stepper":
                    yield from _form_texts(texts)
                elif not key.startswith("_") or key == "_default":
                    yield from (t for t in texts if isinstance(t, str))
            continue
        yield from _form_texts(document)


def _process_messages() -> Iterator[str]:
    parser = etree.XMLParser(resolve_entities=False, no_network=True)
    for path in sorted((ROOT / "processes").glob("*.bpmn")):
        tree = etree.parse(str(path), parser)
        for task in tree.iter(f"{BPMN}userTask", f"{BPMN}manualTask"):
            name = (task.get("name") or "").strip()
            if name:
                yield one_line(name)
        for prop in tree.iter(f"{SPIFF}property"):
            if prop.get("name") == "notifyMessage" and prop.get("value"):
                yield prop.get("value")


def messages() -> set[str]:
    return {*_code_messages(), *_form_messages(), *_process_messages()}


def missing(locale: str) -> list[str]:
    catalog = load_catalog(locale)
    return sorted(m for m in messages() if not catalog.get(m) or not catalog.get(m).string)


def main() -> int:
    gaps = 0
    for locale in LOCALES:
        if locale == "en":
            continue
        for message in missing(locale):
            gaps += 1
            print(f"msgid {json.dumps(message, ensure_ascii=False)}\nmsgstr \"\"\n")
    print(f"# {gaps} strings without a translation", file=sys.stderr)
    return 1 if gaps else 0


if __name__ == "__main__":
    sys.exit(main())
