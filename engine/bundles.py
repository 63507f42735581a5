"""The files a process version is made of, and which of them each process uses.

A bundle maps flat file names to their content: BPMN and DMN documents, task forms
(`*.schema.json`, `*.uischema.json`) and dry-run scenarios (`*.scenario.json`). A
startable process uses its own diagram, the diagrams of the processes it calls, the
decision tables they name, the forms their elements name and the scenarios written for
it; a change to any other file leaves its version alone.
"""
from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Optional

from lxml import etree

from . import specs
from .forms import RESERVED_FIELDS, is_form_file
from .problems import Problem
from .schema_check import SchemaError, check_schema

SCENARIO_SUFFIX = ".scenario.json"
# Properties that name a form file: the task's own, and the short one customers answer.
FORM_PROPERTIES = ("formJsonSchemaFilename", "formUiSchemaFilename",
                   "customerFormJsonSchemaFilename", "customerFormUiSchemaFilename")
MAX_NAME = 128


def kind_of(filename: str) -> str:
    if filename.endswith(SCENARIO_SUFFIX):
        return "scenario"
    if filename.endswith(".uischema.json"):
        return "ui"
    if filename.endswith(".schema.json"):
        return "form"
    if filename.endswith(".dmn"):
        return "dmn"
    if filename.endswith(".json"):
        return "json"
    return "bpmn"


def read_shipped(processes_dir: Path, forms_dir: Path) -> dict[str, bytes]:
    """The shipped bundle: `processes/`, the task forms in `forms/` (not its other files,
    such as the reply templates) and `processes/scenarios/`."""
    files = specs.read_directory(processes_dir)
    for path in sorted(Path(forms_dir).iterdir()):
        if is_form_file(path.name):
            files[path.name] = path.read_bytes()
    files.update(specs.read_directory(Path(processes_dir) / "scenarios",
                                      ("*" + SCENARIO_SUFFIX,)))
    return files


def name_problems(files: dict[str, bytes]) -> list[Problem]:
    """File names a version can hold: flat, short, of a kind the engine knows."""
    problems = []
    for name in sorted(files):
        if not name or "/" in name or "\\" in name or name.startswith(".") \
                or len(name) > MAX_NAME:
            problems.append(Problem(name or "(no name)", "A file name must be a plain name "
                                    f"of at most {MAX_NAME} characters, without folders."))
        elif kind_of(name) == "json":
            problems.append(Problem(name, "Only forms (.schema.json, .uischema.json) and "
                                    "scenarios (.scenario.json) are deployed as JSON files."))
    return problems


def json_problems(files: dict[str, bytes]) -> list[Problem]:
    """Forms and scenarios that are no JSON object, and forms that are no JSON Schema."""
    problems = []
    for name in sorted(files):
        kind = kind_of(name)
        if kind not in ("form", "ui", "scenario"):
            continue
        try:
            document = json.loads(files[name])
        except (ValueError, UnicodeDecodeError) as exc:
            problems.append(Problem(name, f"Not valid JSON: {exc}."))
            continue
        if not isinstance(document, dict):
            problems.append(Problem(name, "The file must hold a JSON object."))
            continue
        if kind == "form":
            try:
                check_schema(document)
            except SchemaError as exc:
                problems.append(Problem(name, f"Not a valid JSON Schema: {exc.message}."))
                continue
            bad = sorted(RESERVED_FIELDS & set(document.get("properties") or {}))
            if bad:
                problems.append(Problem(name, f"The field name {bad[0]!r} is reserved by "
                                        "the engine; rename the field."))
    return problems


@dataclass
class BundleMap:
    """What defines and names what across the documents of a bundle."""
    process_files: dict[str, str] = field(default_factory=dict)  # process id -> file
    process_names: dict[str, str] = field(default_factory=dict)
    executable: set[str] = field(default_factory=set)
    decision_files: dict[str, str] = field(default_factory=dict)  # decision id -> file
    calls: dict[str, set[str]] = field(default_factory=dict)  # file -> called processes
    decisions: dict[str, set[str]] = field(default_factory=dict)  # file -> decisions used
    forms: dict[str, set[str]] = field(default_factory=dict)  # file -> form files named
    scenarios: dict[str, str] = field(default_factory=dict)  # scenario file -> process id

    def startable(self) -> list[str]:
        """Executable processes no call activity of the bundle calls."""
        called = set().union(*self.calls.values()) if self.calls else set()
        return sorted(self.executable - called)

    def files_of(self, files: dict[str, bytes], process_id: str) -> dict[str, bytes]:
        """The files the process uses, as the version of it holds them."""
        used: set[str] = set()
        pending = [process_id]
        while pending:
            document = self.process_files.get(pending.pop())
            if document is None or document in used:
                continue
            used.add(document)
            pending.extend(self.calls.get(document, ()))
        diagrams = set(used)
        for document in diagrams:
            used |= {self.decision_files[d] for d in self.decisions.get(document, ())
                     if d in self.decision_files}
            used |= {name for name in self.forms.get(document, ()) if name in files}
        used |= {name for name, process in self.scenarios.items() if process == process_id}
        return {name: files[name] for name in sorted(used)}


def analyse(files: dict[str, bytes]) -> BundleMap:
    """Read the bundle's documents (safely, see engine/specs.py); SpecError for one that
    is no BPMN or DMN document."""
    found = BundleMap()
    for name in sorted(files):
        kind = kind_of(name)
        if kind == "scenario":
            process = _scenario_process(files[name])
            if process:
                found.scenarios[name] = process
            continue
        if kind in ("form", "ui", "json"):
            continue
        root = specs.parse_xml(files[name], name)
        if specs.document_kind(root, name) == "dmn":
            for decision in root.iter("{*}decision"):
                found.decision_files.setdefault(decision.get("id"), name)
            continue
        _read_bpmn(found, name, root)
    return found


def _read_bpmn(found: BundleMap, name: str, root: etree._Element) -> None:
    ns = specs.BPMN_NS
    for process in root.iter(f"{{{ns}}}process"):
        pid = process.get("id")
        found.process_files.setdefault(pid, name)
        if process.get("name"):
            found.process_names.setdefault(pid, process.get("name"))
        if process.get("isExecutable") == "true":
            found.executable.add(pid)
    for participant in root.iter(f"{{{ns}}}participant"):
        if participant.get("processRef") and participant.get("name"):
            found.process_names.setdefault(participant.get("processRef"), participant.get("name"))
    found.calls[name] = {c.get("calledElement") for c in root.iter(f"{{{ns}}}callActivity")
                         if c.get("calledElement")}
    found.decisions[name] = {(r.text or "").strip()
                             for r in root.iter(f"{{{specs.SPIFF_NS}}}calledDecisionId")
                             if (r.text or "").strip()}
    found.forms[name] = {p.get("value") for p in root.iter(f"{{{specs.SPIFF_NS}}}property")
                         if p.get("name") in FORM_PROPERTIES and p.get("value")}


def _scenario_process(content: bytes) -> Optional[str]:
    try:
        document = json.loads(content)
    except (ValueError, UnicodeDecodeError):
        return None
    process = document.get("process") if isinstance(document, dict) else None
    return process if isinstance(process, str) else None


def process_name(sources: dict[str, str], process_id: str) -> str:
    """The name a process's diagram gives it (its id if none)."""
    for name, text in sorted(sources.items()):
        if kind_of(name) != "bpmn":
            continue
        try:
            found = BundleMap()
            _read_bpmn(found, name, specs.parse_xml(text.encode(), name))
        except specs.SpecError:
            continue
        if process_id in found.process_names:
            return found.process_names[process_id]
    return process_id
