"""The process library as the pages and the API read it: every process with its deployed
versions (who, when, content hash, note, cases open and closed on each), a version's
files, the elements two versions differ in, rollback and deploy.

It keeps the shape of the engine's version service (`library`, `version_files`, `diff`,
`rollback`, `deploy_bundle`), computed from the stored versions until that service is
part of the engine; the routes call only these names.
"""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Optional

from lxml import etree
from sqlalchemy import case, func, select
from sqlalchemy.orm import Session, undefer

from engine import audit, specs
from engine.bootstrap import STARTABLE_PROCESSES
from engine.models import AuditEvent, ProcessInstance, ProcessVersion
from engine.problems import DeployRefused, Problem
from engine.services import Services

OPEN_STATUSES = ("open", "error")
# Diagram layout (shapes, edges, positions): moving a shape changes no behaviour.
LAYOUT_NAMESPACES = {
    "http://www.omg.org/spec/BPMN/20100524/DI", "http://www.omg.org/spec/DD/20100524/DC",
    "http://www.omg.org/spec/DD/20100524/DI", "https://www.omg.org/spec/DMN/20191111/DMNDI/",
    "http://www.omg.org/spec/DMN/20180521/DMNDI/", "http://www.omg.org/spec/DMN/20180521/DC/",
    "http://www.omg.org/spec/DMN/20180521/DI/",
}


@dataclass(frozen=True)
class VersionSummary:
    process_id: str
    version: int
    author: Optional[str]
    deployed_at: dt.datetime
    content_hash: str
    note: Optional[str]
    open_cases: int
    closed_cases: int


@dataclass(frozen=True)
class ProcessSummary:
    process_id: str
    name: str
    startable: bool
    versions: list[VersionSummary]  # newest first


@dataclass(frozen=True)
class DeployOutcome:
    versions: list[VersionSummary]
    scenarios: list = field(default_factory=list)
    dry_run: bool = False


@dataclass(frozen=True)
class VersionDiff:
    process_id: str
    a: int
    b: int
    # file name -> {"added": [...], "removed": [...], "changed": [...]}, each entry
    # {"id", "kind", "name", "changes": [str]}; files only one version has are in
    # `files_added` / `files_removed`.
    files: dict[str, dict[str, list[dict]]]
    files_added: list[str]
    files_removed: list[str]


def _counts(session: Session) -> dict[int, tuple[int, int]]:
    is_open = case((ProcessInstance.status.in_(OPEN_STATUSES), 1), else_=0)
    rows = session.execute(
        select(ProcessInstance.version_id, func.sum(is_open), func.count())
        .group_by(ProcessInstance.version_id))
    return {version_id: (int(opened or 0), int(total) - int(opened or 0))
            for version_id, opened, total in rows}


NOTE_EVENTS = ("process_note", "process_rolled_back")


def _notes(session: Session) -> dict[tuple[str, int], str]:
    """Change notes, as the deploy and rollback events recorded them."""
    notes = {}
    for detail in session.execute(select(AuditEvent.detail).where(
            AuditEvent.kind.in_(NOTE_EVENTS)).order_by(AuditEvent.id)).scalars():
        if detail.get("note"):
            notes[(detail.get("process_id"), detail.get("version"))] = detail["note"]
    return notes


def _summary(row: ProcessVersion, counts: dict[int, tuple[int, int]],
             notes: Optional[dict] = None) -> VersionSummary:
    opened, closed = counts.get(row.id, (0, 0))
    return VersionSummary(process_id=row.process_id, version=row.version,
                          author=row.deployed_by, deployed_at=row.deployed_at,
                          content_hash=row.content_hash,
                          note=(notes or {}).get((row.process_id, row.version)),
                          open_cases=opened, closed_cases=closed)


def process_name(files: dict[str, str], process_id: str) -> str:
    """The name the diagram gives the process (its id when it gives none)."""
    for name, text in files.items():
        if not name.endswith(".bpmn"):
            continue
        root = specs.parse_xml(text.encode("utf-8"), name)
        for process in root.iter(f"{{{specs.BPMN_NS}}}process"):
            if process.get("id") == process_id and process.get("name"):
                return " ".join(process.get("name").split())
    return process_id


def library(session: Session) -> list[ProcessSummary]:
    counts, notes = _counts(session), _notes(session)
    rows = session.execute(select(ProcessVersion).order_by(
        ProcessVersion.process_id, ProcessVersion.version.desc())).scalars().all()
    by_process: dict[str, list[ProcessVersion]] = {}
    for row in rows:
        by_process.setdefault(row.process_id, []).append(row)
    ordered = sorted(by_process, key=lambda p: (p not in STARTABLE_PROCESSES,
                                                STARTABLE_PROCESSES.index(p)
                                                if p in STARTABLE_PROCESSES else 0, p))
    return [ProcessSummary(
        process_id=process_id,
        name=process_name(version_files(session, process_id, versions[0].version), process_id),
        startable=process_id in STARTABLE_PROCESSES,
        versions=[_summary(v, counts, notes) for v in versions]) for process_id, versions in
        ((p, by_process[p]) for p in ordered)]


def _row(session: Session, process_id: str, version: int) -> ProcessVersion:
    row = session.execute(select(ProcessVersion).options(undefer(ProcessVersion.sources))
                          .where(ProcessVersion.process_id == process_id,
                                 ProcessVersion.version == version)).scalar_one_or_none()
    if row is None:
        raise LookupError(f"{process_id} has no version {version}")
    return row


def version_summary(session: Session, process_id: str, version: int) -> VersionSummary:
    return _summary(_row(session, process_id, version), _counts(session), _notes(session))


def version_files(session: Session, process_id: str, version: int) -> dict[str, str]:
    return dict(_row(session, process_id, version).sources)


# --------------------------------------------------------------------------- diff

def _own_content(element) -> list[tuple[str, str]]:
    """What an element says besides its attributes and its own identified children."""
    parts = []
    for child in element:
        if not isinstance(child.tag, str) or child.get("id"):
            continue
        text = etree.tostring(child, encoding="unicode", with_tail=False)
        parts.append((etree.QName(child).localname, " ".join(text.split())))
    if element.text and element.text.strip():
        parts.append(("text", " ".join(element.text.split())))
    return parts


def _elements(name: str, text: str) -> dict[str, tuple[str, str, dict, list]]:
    root = specs.parse_xml(text.encode("utf-8"), name)
    found = {}
    for element in root.iter():
        if not isinstance(element.tag, str) or not element.get("id"):
            continue
        qname = etree.QName(element)
        if qname.namespace in LAYOUT_NAMESPACES:
            continue
        attributes = {etree.QName(k).localname: v for k, v in element.attrib.items()
                      if k != "id"}
        found[element.get("id")] = (qname.localname, element.get("name") or "", attributes,
                                    _own_content(element))
    return found


def _changes(before, after) -> list[str]:
    changes = []
    for key in sorted(set(before[2]) | set(after[2])):
        old, new = before[2].get(key), after[2].get(key)
        if old != new:
            changes.append(f"{key}: {old or '—'} → {new or '—'}")
    old_parts, new_parts = dict(), dict()
    for kind, text in before[3]:
        old_parts.setdefault(kind, []).append(text)
    for kind, text in after[3]:
        new_parts.setdefault(kind, []).append(text)
    for kind in sorted(set(old_parts) | set(new_parts)):
        if old_parts.get(kind) != new_parts.get(kind):
            changes.append(f"{kind} changed")
    return changes


def _entry(element_id: str, element, changes=()) -> dict:
    return {"id": element_id, "kind": element[0], "name": element[1], "changes": list(changes)}


def diff(session: Session, process_id: str, a: int, b: int) -> VersionDiff:
    old, new = version_files(session, process_id, a), version_files(session, process_id, b)
    files = {}
    for name in sorted(set(old) & set(new)):
        if not name.endswith((".bpmn", ".dmn")):
            continue
        before, after = _elements(name, old[name]), _elements(name, new[name])
        files[name] = {
            "added": [_entry(i, after[i]) for i in after if i not in before],
            "removed": [_entry(i, before[i]) for i in before if i not in after],
            "changed": [_entry(i, after[i], _changes(before[i], after[i]))
                        for i in after if i in before and _changes(before[i], after[i])],
        }
    return VersionDiff(process_id=process_id, a=a, b=b, files=files,
                       files_added=sorted(set(new) - set(old)),
                       files_removed=sorted(set(old) - set(new)))


# --------------------------------------------------------------------------- deploying

def _problem(exc: specs.SpecError, files: dict) -> Problem:
    message = str(exc)
    name, _sep, rest = message.partition(": ")
    if name in files:
        return Problem(file=name, message=rest)
    return Problem(file="", message=message)


def deploy_bundle(services: Services, files: dict[str, bytes], *, note: str, actor: str,
                  dry_run: bool = False) -> DeployOutcome:
    sources = {name: content for name, content in files.items()
               if name.endswith((".bpmn", ".dmn"))}
    try:
        startable = [p for p in STARTABLE_PROCESSES if p in specs.process_ids(sources)]
        if not startable:
            raise DeployRefused([Problem(file="", message=(
                "None of the documents defines a process that can be started ("
                + ", ".join(STARTABLE_PROCESSES) + ")."))])
        if dry_run:
            for process_id in startable:
                specs.compile_process(sources, process_id)
            return DeployOutcome(versions=[], dry_run=True)
        deployed = []
        with services.db.write() as session:
            for process_id in startable:
                row, created = specs.deploy(session, sources, process_id, actor)
                if created:
                    if note:
                        audit.record(session, "process_note", actor, process_id=process_id,
                                     version=row.version, note=note)
                    deployed.append(row)
            counts = _counts(session)
            return DeployOutcome(versions=[_summary(r, counts) for r in deployed])
    except specs.SpecError as exc:
        raise DeployRefused([_problem(exc, files)]) from None


def rollback(services: Services, process_id: str, version: int, *, actor: str,
             note: str) -> VersionSummary:
    with services.db.write() as session:
        files = version_files(session, process_id, version)
        sources = {name: text.encode("utf-8") for name, text in files.items()}
        row, _created = specs.deploy(session, sources, process_id, actor)
        audit.record(session, "process_rolled_back", actor, process_id=process_id,
                     restored=version, version=row.version, note=note)
        return _summary(row, _counts(session), _notes(session))
