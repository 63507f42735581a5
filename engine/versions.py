"""Process versions as process owners handle them: deploy a bundle of files (refused,
with every problem named, when it does not parse, fails the engine's checks or a dry-run
scenario), roll back to an earlier version, list the library, compare two versions.

Running cases stay on their version; new cases start on the newest. A version holds the
files its process uses (engine/bundles.py), forms included, so that a case keeps the
forms it started with.
"""
from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass, field
from typing import Callable, Optional

from sqlalchemy import case, func, select
from sqlalchemy.orm import Session

from . import bundles, specs, version_diff
from .forms import is_form_file
from .models import ProcessInstance, ProcessVersion
from .problems import DeployRefused, Problem
from .services import COMPLAINT_PROCESS, Services
from .version_diff import VersionDiff

CLOSED_STATUSES = ("closed", "cancelled")
SHIPPED_NOTE = "Shipped processes"
MAX_NOTE = 2000

Checks = Callable[[dict[str, bytes]], list]
Scenarios = Callable[[dict[str, bytes]], list]


@dataclass
class VersionSummary:
    process_id: str
    version: int
    author: Optional[str]
    deployed_at: dt.datetime
    content_hash: str
    note: Optional[str]
    open_cases: int = 0
    closed_cases: int = 0


@dataclass
class ProcessSummary:
    process_id: str
    name: str
    startable: bool
    versions: list[VersionSummary] = field(default_factory=list)


@dataclass
class DeployOutcome:
    versions: list[VersionSummary]
    scenarios: list
    dry_run: bool
    # Process id -> what changed against its newest version (VersionDiff.summary()).
    changes: dict[str, dict] = field(default_factory=dict)


def _default_checks() -> Optional[Checks]:
    try:
        from . import diagram_checks
    except ImportError:
        return None
    return diagram_checks.check_bundle


def _default_scenarios() -> Optional[Scenarios]:
    try:
        from . import scenarios
    except ImportError:
        return None
    return scenarios.run_all


def _scenario_problem(result) -> Problem:
    """A failed scenario as a refusal lists it: which scenario, then where and why."""
    if result.failure is None:
        return Problem(result.file, f"The scenario “{result.name}” failed.")
    return Problem(result.failure.file, f"Scenario “{result.name}”: {result.failure.message}",
                   result.failure.element, result.failure.line)


def deploy_bundle(services: Services, files: dict[str, bytes], *, note: str, actor: str,
                  dry_run: bool = False, merge: bool = True,
                  checks: Optional[Checks] = None,
                  scenarios: Optional[Scenarios] = None) -> DeployOutcome:
    """Deploy a new version of each startable process whose files changed.

    With `merge`, files not given are those of the newest deployed versions (a process
    owner uploads what they changed); without, `files` is the whole bundle. `checks` and
    `scenarios` default to engine.diagram_checks.check_bundle and engine.scenarios.run_all.
    Raises DeployRefused, with nothing written, for any problem; `dry_run` checks
    everything and writes nothing."""
    note = (note or "").strip()[:MAX_NOTE]
    checks = checks or _default_checks()
    scenarios = scenarios or _default_scenarios()
    given = {name: bytes(content) for name, content in files.items()}
    refused = bundles.name_problems(given) + bundles.json_problems(given)
    if refused:
        raise DeployRefused(refused)
    with services.db.read() as session:
        bundle = {**deployed_bundle(session), **given} if merge else given
        plan = _plan(session, bundle)
    if not plan and not dry_run:
        return DeployOutcome([], [], False)
    problems = list(checks(bundle)) if checks else []
    if problems:
        raise DeployRefused(problems)
    compiled = {}
    for process_id, (used, _latest, _diff) in plan.items():
        try:
            compiled[process_id] = specs.compile_process(used, process_id)
        except specs.SpecError as exc:
            problems.append(problem_of(exc, used))
    if problems:
        raise DeployRefused(problems)
    results = list(scenarios(bundle)) if scenarios else []
    failed = [r for r in results if not r.passed]
    if failed:
        raise DeployRefused([_scenario_problem(r) for r in failed],
                            error="A scenario fails: nothing was deployed.")
    changes = {pid: diff.summary() if diff else {} for pid, (_u, _l, diff) in plan.items()}
    if dry_run:
        now = services.now()
        return DeployOutcome([VersionSummary(pid, (latest.version if latest else 0) + 1,
                                             actor, now, specs.content_hash(used), note)
                              for pid, (used, latest, _d) in plan.items()],
                             results, True, changes)
    created = []
    with services.db.write() as session:
        for process_id, (used, _latest, _diff) in plan.items():
            version, new = specs.deploy(session, used, process_id, actor, note=note or None,
                                        compiled=compiled[process_id],
                                        changes=changes[process_id])
            if new:
                created.append(_summary(version))
    return DeployOutcome(created, results, False, changes)


def _plan(session: Session, bundle: dict[str, bytes]) -> dict[str, tuple]:
    """Startable process -> (the files it uses, its newest version, the diff to it), for
    the processes whose files changed."""
    try:
        found = bundles.analyse(bundle)
    except specs.SpecError as exc:
        raise DeployRefused([problem_of(exc, bundle)]) from None
    plan = {}
    for process_id in found.startable():
        used = found.files_of(bundle, process_id)
        latest = specs.latest_version(session, process_id)
        if latest is not None and latest.content_hash == specs.content_hash(used):
            continue
        diff = None
        if latest is not None:
            diff = version_diff.compare(process_id, latest.version, latest.version + 1,
                                        latest.sources, _texts(used))
        plan[process_id] = (used, latest, diff)
    return plan


def problem_of(exc: specs.SpecError, files) -> Problem:
    """A refusal of engine/specs.py as a problem: its message names the file, the
    element and the line in words; the problem names them for the modeler too."""
    message = str(exc)
    filename = next((name for name in sorted(files, key=len, reverse=True)
                     if message.startswith(name)), "")
    element = re.search(r"\b(?:element|sequence flow) ([\w.:-]+)", message)
    line = re.search(r"\bline (\d+)", message)
    return Problem(filename, message, element.group(1) if element else None,
                   int(line.group(1)) if line else None)


def editable_files(services: Services, session: Session, process_id: str) -> dict[str, str]:
    """The newest version's files, as the modeler opens them. A version deployed before
    forms travelled with their diagram carries none: the forms folder's stand in."""
    newest = specs.latest_version(session, process_id)
    if newest is None:
        raise LookupError(f"the process {process_id!r} is not deployed")
    files = dict(newest.sources or {})
    if not any(is_form_file(name) for name in files):
        for name in services.forms.names():
            files[name] = services.forms.text(name)
    return dict(sorted(files.items()))


def deployed_bundle(session: Session) -> dict[str, bytes]:
    """The files of the newest version of every process (the most recent deploy wins
    where two name the same file)."""
    newest = (select(func.max(ProcessVersion.id)).group_by(ProcessVersion.process_id)
              .scalar_subquery())
    files: dict[str, bytes] = {}
    for sources in session.execute(select(ProcessVersion.sources).where(
            ProcessVersion.id.in_(newest)).order_by(ProcessVersion.id)).scalars():
        files.update({name: text.encode() for name, text in (sources or {}).items()})
    return files


def rollback(services: Services, process_id: str, version: int, *, actor: str,
             note: str = "") -> VersionSummary:
    """Deploy an earlier version's files as the newest version of the process. Its
    content was deployed and ran before, so it is not checked again."""
    with services.db.write() as session:
        old = _version(session, process_id, version)
        files = {name: text.encode() for name, text in old.sources.items()}
        latest = specs.latest_version(session, process_id)
        diff = version_diff.compare(process_id, latest.version, latest.version + 1,
                                    latest.sources, old.sources)
        text = f"Rollback to version {version}" + (f": {note.strip()}" if note and
                                                   note.strip() else "")
        deployed, _new = specs.deploy(session, files, process_id, actor,
                                      note=text[:MAX_NOTE], changes=diff.summary(),
                                      rollback_to=version)
        return _summary(deployed)


def library(session: Session) -> list[ProcessSummary]:
    """Every deployed process with its versions, newest first, and how many cases run or
    ran on each."""
    counts: dict[int, tuple[int, int]] = {}
    closed = case((ProcessInstance.status.in_(CLOSED_STATUSES), 1), else_=0)
    for version_id, total, done in session.execute(
            select(ProcessInstance.version_id, func.count(), func.sum(closed))
            .group_by(ProcessInstance.version_id)):
        counts[version_id] = (total - (done or 0), done or 0)
    processes: dict[str, ProcessSummary] = {}
    newest: dict[str, tuple[int, str]] = {}
    for row in session.execute(select(
            ProcessVersion.id, ProcessVersion.process_id, ProcessVersion.version,
            ProcessVersion.deployed_by, ProcessVersion.deployed_at,
            ProcessVersion.content_hash, ProcessVersion.note)
            .order_by(ProcessVersion.process_id, ProcessVersion.version.desc())):
        summary = processes.setdefault(row.process_id, ProcessSummary(
            row.process_id, row.process_id, True))
        newest.setdefault(row.process_id, (row.id, row.content_hash))
        open_cases, closed_cases = counts.get(row.id, (0, 0))
        summary.versions.append(VersionSummary(
            row.process_id, row.version, row.deployed_by, row.deployed_at, row.content_hash,
            row.note, open_cases, closed_cases))
    for process_id, summary in processes.items():
        summary.name = _name(session, *newest[process_id], process_id)
    return [processes[p] for p in sorted(processes)]


# (process id, content hash) -> the process's name: the same files name it the same in
# any database this process reads.
_NAMES: dict[tuple[str, str], str] = {}


def _name(session: Session, version_id: int, content_hash: str, process_id: str) -> str:
    key = (process_id, content_hash)
    if key not in _NAMES:
        sources = session.execute(select(ProcessVersion.sources).where(
            ProcessVersion.id == version_id)).scalar_one()
        _NAMES[key] = bundles.process_name(sources or {}, process_id)
    return _NAMES[key]


def version_files(session: Session, process_id: str, version: int) -> dict[str, str]:
    return dict(_version(session, process_id, version).sources or {})


def diff(session: Session, process_id: str, a: int, b: int) -> VersionDiff:
    """What changed from version `a` to version `b` of the process."""
    return version_diff.compare(process_id, a, b, version_files(session, process_id, a),
                                version_files(session, process_id, b))


def _version(session: Session, process_id: str, version: int) -> ProcessVersion:
    found = session.execute(select(ProcessVersion).where(
        ProcessVersion.process_id == process_id,
        ProcessVersion.version == version)).scalar_one_or_none()
    if found is None:
        raise LookupError(f"no version {version} of the process {process_id!r}")
    return found


def _summary(version: ProcessVersion) -> VersionSummary:
    return VersionSummary(version.process_id, version.version, version.deployed_by,
                          version.deployed_at, version.content_hash, version.note)


def _texts(files: dict[str, bytes]) -> dict[str, str]:
    return {name: content.decode("utf-8") for name, content in files.items()}


def deploy_shipped(services: Services, actor: str = "system") -> tuple[int, bool]:
    """Deploy the shipped bundle (`processes/`, the task forms in `forms/`, the scenarios)
    as new versions of the processes whose files changed, through the same checks as a
    process owner's deploy.

    Returns the complaint process's version number and whether anything was deployed."""
    files = bundles.read_shipped(services.processes_dir, services.forms.directory)
    outcome = deploy_bundle(services, files, note=SHIPPED_NOTE, actor=actor, merge=False)
    with services.db.read() as session:
        latest = specs.latest_version(session, COMPLAINT_PROCESS)
    return (latest.version if latest else 0), bool(outcome.versions)
