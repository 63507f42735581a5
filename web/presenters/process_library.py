"""The process library as its pages show it: the engine's versions (engine/versions.py)
and the differences between two of them, shaped for the templates."""
from __future__ import annotations

from dataclasses import asdict, dataclass

from sqlalchemy.orm import Session

from engine import versions


def version_summary(session: Session, process_id: str, number: int) -> versions.VersionSummary:
    for process in versions.library(session):
        if process.process_id == process_id:
            for summary in process.versions:
                if summary.version == number:
                    return summary
    raise LookupError(f"no version {number} of the process {process_id!r}")


@dataclass(frozen=True)
class DiffView:
    process_id: str
    a: int
    b: int
    # File name -> {"added"|"removed"|"changed": [{"id", "kind", "name", "changes"}]},
    # for the files both versions have.
    files: dict[str, dict[str, list[dict]]]
    files_added: list[str]
    files_removed: list[str]


def diff(session: Session, process_id: str, a: int, b: int) -> DiffView:
    compared = versions.diff(session, process_id, a, b)
    files, added, removed = {}, [], []
    for name, file_diff in sorted(compared.files.items()):
        if file_diff.status == "added":
            added.append(name)
        elif file_diff.status == "removed":
            removed.append(name)
        else:
            files[name] = {what: [asdict(e) for e in getattr(file_diff, what)]
                           for what in ("added", "removed", "changed")}
    return DiffView(process_id, a, b, files, added, removed)
