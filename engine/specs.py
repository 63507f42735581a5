"""Process specs: safe parsing, XSD validation, deployment as numbered versions.

What a version holds and when one is made is engine/versions.py's; this module turns
documents into specs and stores one version.

Every BPMN/DMN document goes through our own hardened lxml parser first (no DTD, no
entities, no network, size cap); only the resulting element tree reaches SpiffWorkflow.
"""
from __future__ import annotations

import ast
import hashlib
import json
import re
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Iterable, Optional

from lxml import etree
from sqlalchemy import func, select
from sqlalchemy.orm import Session
from SpiffWorkflow.bpmn.parser.ValidationException import ValidationException
from SpiffWorkflow.bpmn.specs.event_definitions.timer import TimerEventDefinition
from SpiffWorkflow.spiff.parser.process import BpmnValidator, SpiffBpmnParser

from . import audit
from .models import ProcessVersion
from .extensions import task_property
from .scripting import compile_restricted_code, refusals
from .serialization import registry

MAX_DOCUMENT_BYTES = 2 * 1024 * 1024
BPMN_NS = "http://www.omg.org/spec/BPMN/20100524/MODEL"
DMN_NAMESPACES = {
    "https://www.omg.org/spec/DMN/20191111/MODEL/",
    "http://www.omg.org/spec/DMN/20180521/MODEL/",
    "http://www.omg.org/spec/DMN/20151101/dmn.xsd",
}


class SpecError(ValueError):
    """A process document was refused; the message says why, for the uploader."""


# What Python prints for objects (`<Element {ns}task at 0x7f...>`): never for uploaders.
_OBJECT_REPR = re.compile(r"<[^<>]*? at 0x[0-9a-fA-F]+>")


def plain(text: str) -> str:
    text = _OBJECT_REPR.sub("an element", str(text)).replace("{%s}" % BPMN_NS, "bpmn:")
    return text.strip().rstrip(".") + "."


def describe(exc: ValidationException, filename: Optional[str] = None) -> str:
    """A SpiffWorkflow validation error as the uploader needs it: the file, the element
    (id, kind, line) and the reason."""
    where = [getattr(exc, "file_name", "") or filename or ""]
    element = getattr(exc, "id", "") or ""
    if element:
        kind = getattr(exc, "tag", "") or ""
        where.append(f"element {element}" + (f" ({kind})" if kind else ""))
    line = getattr(exc, "line_number", "")
    if line:
        where.append(f"line {line}")
    prefix = ", ".join(w for w in where if w)
    return (f"{prefix}: " if prefix else "") + plain(exc)


FLOW_REFERENCES = ("sourceRef", "targetRef")


def check_references(root: etree._Element, filename: str) -> None:
    """Every sequence flow joins two elements of its process: SpiffWorkflow reports a
    dangling one in words that point nowhere near the cause."""
    ids = {element.get("id") for element in root.iter() if element.get("id")}
    for flow in root.iter(f"{{{BPMN_NS}}}sequenceFlow"):
        for reference in FLOW_REFERENCES:
            target = flow.get(reference)
            if target and target not in ids:
                raise SpecError(
                    f"{filename}: sequence flow {flow.get('id')}, line {flow.sourceline}: its "
                    f"{reference} names {target!r}, which is no element of the diagram; "
                    "connect the flow to an existing element or remove it.")
    for node in root.iter(f"{{{BPMN_NS}}}incoming", f"{{{BPMN_NS}}}outgoing"):
        if node.text and node.text.strip() not in ids:
            owner = node.getparent()
            raise SpecError(
                f"{filename}: element {owner.get('id')}, line {node.sourceline}: it names "
                f"the flow {node.text.strip()!r}, which does not exist; draw the flow or "
                "remove the reference.")


# libxml2 refuses deeper documents unless told to parse "huge" ones, which we never do.
MAX_XML_DEPTH = 256
_DOCTYPE_IN_PROLOG = re.compile(
    rb"\A(?:\xef\xbb\xbf)?\s*(?:<\?xml[^>]*\?>)?(?:\s+|<!--.*?-->|<\?.*?\?>)*<!DOCTYPE", re.S)
_SAFE_PARSER = etree.XMLParser(
    resolve_entities=False,
    no_network=True,
    load_dtd=False,
    dtd_validation=False,
    huge_tree=False,
    remove_comments=False,
)


def parse_xml(content: bytes, filename: str) -> etree._Element:
    if len(content) > MAX_DOCUMENT_BYTES:
        raise SpecError(
            f"{filename}: {len(content):,} bytes is over the limit of {MAX_DOCUMENT_BYTES:,} bytes"
        )
    try:
        tree = etree.fromstring(content, parser=_SAFE_PARSER).getroottree()
    except etree.XMLSyntaxError as exc:
        # An entity used where the parser cannot leave it unexpanded (an attribute) fails
        # the parse before the DOCTYPE check below: say what the process owner must remove.
        if _DOCTYPE_IN_PROLOG.match(content):
            raise SpecError(f"{filename}: a DOCTYPE declaration is not allowed") from None
        if "Excessive depth" in exc.msg:
            raise SpecError(f"{filename}: elements are nested more than {MAX_XML_DEPTH} deep "
                            f"(line {exc.lineno}); no diagram or table needs that") from None
        raise SpecError(f"{filename}: not well-formed XML ({exc.msg})") from None
    # A DOCTYPE is never needed in BPMN or DMN and is how entity attacks start.
    if tree.docinfo.doctype or tree.docinfo.internalDTD is not None:
        raise SpecError(f"{filename}: a DOCTYPE declaration is not allowed")
    root = tree.getroot()
    if any(isinstance(node, etree._Entity) for node in root.iter()):
        raise SpecError(f"{filename}: XML entities are not allowed")
    return root


def document_kind(root: etree._Element, filename: str) -> str:
    namespace = etree.QName(root).namespace
    local = etree.QName(root).localname
    if namespace == BPMN_NS and local == "definitions":
        return "bpmn"
    if namespace in DMN_NAMESPACES and local == "definitions":
        return "dmn"
    raise SpecError(f"{filename}: not a BPMN 2.0 or DMN document (root element {root.tag})")


@dataclass
class LoadedSpec:
    version_id: int
    process_id: str
    version: int
    spec: object
    subprocess_specs: dict


SPIFF_NS = "http://spiffworkflow.org/bpmn/schema/1.0/core"


def check_calls(roots: dict[str, tuple[str, etree._Element]]) -> None:
    """Call activities name a process, and business rule tasks a decision, that one of the
    documents defines: said with the file and element instead of SpiffWorkflow's words."""
    processes, decisions = set(), set()
    for kind, root in roots.values():
        if kind == "bpmn":
            processes |= {p.get("id") for p in root.iter(f"{{{BPMN_NS}}}process")}
        else:
            decisions |= {d.get("id") for d in root.iter("{*}decision")}
    for filename, (kind, root) in roots.items():
        if kind != "bpmn":
            continue
        for call in root.iter(f"{{{BPMN_NS}}}callActivity"):
            called = call.get("calledElement")
            if called and called not in processes:
                raise SpecError(
                    f"{filename}: element {call.get('id')} (call activity), line "
                    f"{call.sourceline}: it calls the process {called!r}, which none of the "
                    f"documents defines (defined: {', '.join(sorted(processes))}); name one "
                    "of those or add the diagram that defines it.")
        for reference in root.iter(f"{{{SPIFF_NS}}}calledDecisionId"):
            wanted = (reference.text or "").strip()
            if wanted and wanted not in decisions:
                task = next((a for a in reference.iterancestors()
                             if a.get("id") is not None), reference)
                raise SpecError(
                    f"{filename}: element {task.get('id')} (business rule task), line "
                    f"{reference.sourceline}: it uses the decision {wanted!r}, which no DMN "
                    f"document defines (defined: {', '.join(sorted(decisions)) or 'none'}); "
                    "name one of those or add the decision table.")


def is_document(filename: str) -> bool:
    """BPMN and DMN documents; the JSON files a version carries (forms, scenarios) are not
    for the parser."""
    return not filename.endswith(".json")


def build_parser(sources: dict[str, bytes]) -> SpiffBpmnParser:
    parser = SpiffBpmnParser(validator=BpmnValidator())
    roots = {}
    for filename, content in sorted(sources.items()):
        if not is_document(filename):
            continue
        root = parse_xml(content, filename)
        roots[filename] = (document_kind(root, filename), root)
    check_calls(roots)
    for filename, (kind, root) in roots.items():
        if kind == "bpmn":
            check_references(root, filename)
        try:
            if kind == "bpmn":
                parser.add_bpmn_xml(root, filename=filename)
            else:
                parser.add_dmn_xml(root, filename=filename)
        except ValidationException as exc:
            raise SpecError(describe(exc, filename)) from None
    return parser


def process_ids(sources: dict[str, bytes]) -> set[str]:
    """The executable processes the documents define."""
    return set(build_parser(sources).get_process_ids())


def compile_process(sources: dict[str, bytes], process_id: str):
    parser = build_parser(sources)
    try:
        spec = parser.get_spec(process_id)
        subprocess_specs = parser.get_subprocess_specs(process_id)
    except ValidationException as exc:
        raise SpecError(describe(exc)) from None
    except KeyError:
        raise SpecError(f"no executable process with id {process_id!r} in the documents") from None
    for process in [spec, *subprocess_specs.values()]:
        check_expressions(process)
    return spec, subprocess_specs


def _dmn_cell(lhs: str) -> str:
    """A DMN input cell as the engine evaluates it: `?` is the input, and a cell that
    starts with an operator (`> 5000`) is applied to the input."""
    cell = lhs.replace("?", "dmninput")
    try:
        ast.parse(cell, mode="eval")
        return cell
    except SyntaxError:
        return f"dmninput {cell}"


# Extension properties whose value is a Python expression the engine evaluates.
EXPRESSION_PROPERTIES = ("notifySubject", "notifyValues", "startsLinkedComplaint")


def _expressions(task_spec):
    """Every piece of Python a task spec will run: (what, code, compile mode)."""
    script = getattr(task_spec, "script", None)
    if script:
        yield "script", script, "exec"
    event = getattr(task_spec, "event_definition", None)
    expression = getattr(event, "expression", None)
    if isinstance(event, TimerEventDefinition) and isinstance(expression, str):
        yield "timer expression", expression, "eval"
    for name in EXPRESSION_PROPERTIES:
        expression = task_property(task_spec, name)
        if expression:
            yield f"property {name}", expression, "eval"
    for condition, target in getattr(task_spec, "cond_task_specs", None) or []:
        args = getattr(condition, "args", None)
        if args and isinstance(args[0], str):
            yield f"condition to {target}", args[0], "eval"
    engine = getattr(task_spec, "dmnEngine", None)
    if engine is not None:
        for rule in engine.decision_table.rules:
            for entry in rule.inputEntries:
                for lhs in entry.lhs:
                    if lhs and lhs.strip() not in ("", "-"):
                        yield f"decision rule {rule.row_number}", _dmn_cell(lhs), "eval"
            for entry in rule.outputEntries:
                if entry.text:
                    yield f"decision rule {rule.row_number}", entry.text, "eval"


def check_expressions(process_spec) -> None:
    """Compile every script and expression under the restricted compiler at deploy time,
    and refuse what its guards would only refuse at run time, so that an escape attempt
    or a typo is refused before any case runs into it. The message names the file, the
    element and the line."""
    source = getattr(process_spec, "file", None) or process_spec.name
    for task_spec in process_spec.task_specs.values():
        for what, code, mode in _expressions(task_spec):
            element = getattr(task_spec, "bpmn_id", None) or task_spec.name
            title = getattr(task_spec, "bpmn_name", None)
            where = f"{source}: element {element}" + (f" ({title})" if title else "")
            try:
                compile_restricted_code(code, mode)
            except SyntaxError as exc:
                raise SpecError(f"{where}, {what}: {exc}. Change the expression so that it "
                                "only reads and writes task data.") from None
            problems = refusals(code, mode)
            if problems:
                raise SpecError(f"{where}, {what}: " + "; ".join(
                    f"line {line}: {reason}" for line, reason in problems) + ".")


def content_hash(sources: dict[str, bytes]) -> str:
    digest = hashlib.sha256()
    for filename, content in sorted(sources.items()):
        digest.update(filename.encode() + b"\0" + hashlib.sha256(content).digest())
    return digest.hexdigest()


def read_directory(directory: Path, patterns: Iterable[str] = ("*.bpmn", "*.dmn")) -> dict[str, bytes]:
    sources = {}
    for pattern in patterns:
        for path in sorted(directory.glob(pattern)):
            sources[path.name] = path.read_bytes()
    return sources


def deploy(
    session: Session, sources: dict[str, bytes], process_id: str, actor: Optional[str],
    note: Optional[str] = None, compiled: Optional[tuple] = None, **audit_detail,
) -> tuple[ProcessVersion, bool]:
    """Deploy the files as the next version; unchanged content is not redeployed.

    `compiled` is the (spec, subprocess specs) already compiled from the same files;
    `audit_detail` goes into the deploy's audit event. Returns the version and whether it
    is new.
    """
    spec, subprocess_specs = compiled or compile_process(sources, process_id)
    digest = content_hash(sources)
    latest = latest_version(session, process_id)
    if latest is not None and latest.content_hash == digest:
        return latest, False
    number = (session.execute(
        select(func.max(ProcessVersion.version)).where(ProcessVersion.process_id == process_id)
    ).scalar() or 0) + 1
    spec_state = json.dumps({
        "spec": registry.convert(spec),
        "subprocess_specs": {k: registry.convert(v) for k, v in subprocess_specs.items()},
    })
    version = ProcessVersion(
        process_id=process_id,
        version=number,
        content_hash=digest,
        sources={name: content.decode("utf-8") for name, content in sources.items()},
        spec_state=spec_state,
        deployed_by=actor,
        note=note,
    )
    session.add(version)
    session.flush()
    audit.record(session, "process_deployed", actor, process_id=process_id,
                 version=number, content_hash=digest, **({"note": note} if note else {}),
                 **audit_detail)
    return version, True


def latest_version(session: Session, process_id: str) -> Optional[ProcessVersion]:
    return session.execute(
        select(ProcessVersion)
        .where(ProcessVersion.process_id == process_id)
        .order_by(ProcessVersion.version.desc())
        .limit(1)
    ).scalar_one_or_none()


class SpecCache:
    """Restored specs per deployed version; specs never change once deployed."""

    def __init__(self):
        self._specs: dict[int, LoadedSpec] = {}
        self._lock = threading.Lock()

    def get(self, session: Session, version_id: int) -> LoadedSpec:
        loaded = self._specs.get(version_id)
        if loaded is None:
            version = session.get(ProcessVersion, version_id)
            state = json.loads(version.spec_state)
            loaded = LoadedSpec(
                version_id=version.id,
                process_id=version.process_id,
                version=version.version,
                spec=registry.restore(state["spec"]),
                subprocess_specs={
                    k: registry.restore(v) for k, v in state["subprocess_specs"].items()
                },
            )
            with self._lock:
                self._specs[version.id] = loaded
        return loaded
