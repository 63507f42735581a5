"""Where the modeler page meets the engine's workbench services: the files of the newest
version, their checks, the dry-run scenarios and the deploy.

Each function calls the engine module that owns the job when that module is installed
(engine.diagram_checks, engine.scenarios, engine.versions) and otherwise does the least
that is still true: checks fall back to compiling the processes, scenarios and deploy
answer that the server cannot do them yet. Nothing else in web/ knows the difference.
"""
from __future__ import annotations

import importlib
import re
from typing import Optional

from sqlalchemy.orm import Session

from engine import specs
from engine.errors import NotFound
from engine.i18n import N_
from engine.problems import Problem
from engine.services import Services

FORM_SUFFIXES = (".schema.json", ".uischema.json")
DIAGRAM_SUFFIXES = (".bpmn", ".dmn")
BUNDLE_SUFFIXES = DIAGRAM_SUFFIXES + FORM_SUFFIXES + (".scenario.json",)
NO_SUCH_PROCESS = N_("No such process.")


class Unavailable(RuntimeError):
    """This server has no engine support for the request (yet)."""


def _engine_module(name: str):
    try:
        return importlib.import_module(f"engine.{name}")
    except ModuleNotFoundError as exc:
        if exc.name != f"engine.{name}":
            raise
        return None


def bundle_files(services: Services, session: Session, process_id: str) -> dict[str, str]:
    """The newest version's files: its diagrams and decision tables, and the task forms
    (from the version where it keeps them, else from the forms folder)."""
    version = specs.latest_version(session, process_id)
    if version is None:
        raise NotFound(NO_SUCH_PROCESS)
    files = {name: text for name, text in sorted((version.sources or {}).items())
             if name.endswith(BUNDLE_SUFFIXES)}
    if not any(name.endswith(FORM_SUFFIXES) for name in files):
        for suffix in FORM_SUFFIXES:
            for path in sorted(services.forms.directory.glob(f"*{suffix}")):
                files.setdefault(path.name, path.read_text(encoding="utf-8"))
    return dict(sorted(files.items()))


# "complaint.bpmn: element gw_1 (...), ..." (expression checks) and
# "complaint.bpmn, element Task_1 (bpmn:userTask), line 12: ..." (parser errors).
_WHERE = re.compile(r"^(?P<file>[^\s:,]+\.(?:bpmn|dmn))[:,] ?(?:element (?P<element>[\w.-]+))?")


def _problem_of(error: specs.SpecError) -> Problem:
    """A refusal from the spec compiler, with the file and element its message names."""
    text = str(error)
    found = _WHERE.match(text)
    if not found:
        return Problem(file="", message=text)
    return Problem(file=found["file"], message=text, element=found["element"])


def check(files: dict[str, bytes]) -> list[Problem]:
    checks = _engine_module("diagram_checks")
    if checks is not None:
        return list(checks.check_bundle(files))
    documents = {n: c for n, c in files.items() if n.endswith(DIAGRAM_SUFFIXES)}
    try:
        for process_id in sorted(specs.process_ids(documents)):
            specs.compile_process(documents, process_id)
    except specs.SpecError as exc:
        return [_problem_of(exc)]
    return []


def run_scenarios(files: dict[str, bytes]) -> list:
    scenarios = _engine_module("scenarios")
    if scenarios is None:
        raise Unavailable(N_("This server cannot run scenarios yet: its engine has no "
                             "scenario runner."))
    return scenarios.run_all(files)


def deploy(services: Services, files: dict[str, bytes], note: str, actor: str,
           dry_run: bool = False):
    """The engine's deploy outcome; raises engine.problems.DeployRefused when refused."""
    versions = _engine_module("versions")
    if versions is None:
        raise Unavailable(N_("This server cannot deploy from the modeler yet: its engine "
                             "has no versioned deploy."))
    return versions.deploy_bundle(services, files, note=note, actor=actor, dry_run=dry_run)


def problem_dict(problem: Optional[Problem]) -> Optional[dict]:
    return problem.as_dict() if problem is not None else None


def scenario_dict(result) -> dict:
    return {"file": result.file, "name": result.name, "passed": bool(result.passed),
            "path": list(result.path or []), "failure": problem_dict(result.failure)}


def version_dict(summary) -> dict:
    return {"process_id": summary.process_id, "version": summary.version,
            "note": getattr(summary, "note", None)}
