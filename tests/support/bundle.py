"""The shipped process documents as one bundle (file name -> content), as a version holds
them: the diagrams and decision tables, the task forms and the scenarios."""
from __future__ import annotations

from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent.parent
PARTS = (("processes", ("*.bpmn", "*.dmn")),
         ("forms", ("*.schema.json", "*.uischema.json")),
         ("processes/scenarios", ("*.scenario.json",)))


def shipped_bundle() -> dict[str, bytes]:
    return {path.name: path.read_bytes()
            for folder, patterns in PARTS for pattern in patterns
            for path in sorted((ROOT / folder).glob(pattern))}


def replaced(files: dict[str, bytes], name: str, old: str, new: str) -> dict[str, bytes]:
    """The bundle with one change in one file (the text to change must be there)."""
    text = files[name].decode("utf-8")
    assert old in text, f"{old!r} is not in {name}"
    return {**files, name: text.replace(old, new, 1).encode("utf-8")}
