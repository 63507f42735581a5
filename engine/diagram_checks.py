"""The engine's own checks of a bundle of process documents before it is deployed.

`check_bundle` collects every problem it finds (it does not stop at the first), each
naming the file, the element and its line, and saying what to change: the XML and
SpiffWorkflow's parse (engine/specs.py), forms and lanes of user tasks, gateways, timer
expressions, scripts and expressions under the restricted compiler, reachability, and the
decision tables (engine/dmn_checks.py).
"""
from __future__ import annotations

import ast
import datetime as dt
import json
import re
from typing import Iterable, Optional

from lxml import etree
from SpiffWorkflow.bpmn.parser.ValidationException import ValidationException
from SpiffWorkflow.bpmn.specs.event_definitions.timer import TimerEventDefinition

from . import dmn_checks
from .connectors import CONNECTORS
from .calendars import DEFAULT_CALENDAR, get_calendar
from .closing import IMPROVEMENT_FIELDS
from .directory import ROLES
from .dmn_checks import children, local
from .forms import RESERVED_FIELDS
from .problems import Problem
from .schema_check import SchemaError, check_schema
from .scripting import RestrictedEnvironment, compile_restricted_code, refusals
from .sla import script_helpers
from .specs import (
    BPMN_NS, EXPRESSION_PROPERTIES, SPIFF_NS, SpecError, build_parser, document_kind,
    parse_xml, plain,
)
from .tasks import LANE_ROLE

FORM = "formJsonSchemaFilename"
UI_FORM = "formUiSchemaFilename"
SCHEMA_SUFFIX, UI_SUFFIX, SCENARIO_SUFFIX = ".schema.json", ".uischema.json", ".scenario.json"
XML_SUFFIXES = (".bpmn", ".dmn")
FLOW_NODES = {
    "task", "userTask", "serviceTask", "scriptTask", "businessRuleTask", "manualTask",
    "sendTask", "receiveTask", "callActivity", "subProcess", "transaction", "adHocSubProcess",
    "startEvent", "endEvent", "intermediateCatchEvent", "intermediateThrowEvent",
    "boundaryEvent", "exclusiveGateway", "inclusiveGateway", "parallelGateway",
    "eventBasedGateway", "complexGateway",
}
CONTAINERS = {"process", "subProcess", "transaction", "adHocSubProcess"}
TIMER_KINDS = {"timeDate": "a date and time", "timeDuration": "a duration",
               "timeCycle": "a repetition"}
# Fields the engine itself puts into a case's data (engine/runtime.py, engine/case_run.py,
# engine/closing.py): a decision table may read them although no form asks for them.
ENGINE_FIELDS = {"ticket", "parent_ticket", "linked_ticket", "sla_paused_seconds",
                 "complaint_ticket", *IMPROVEMENT_FIELDS}
SAMPLE_TIME = "2026-11-25T10:00:00+08:00"
DATE_SUFFIXES = ("_deadline", "_date", "_on")
_TEMPLATE = re.compile(r"^\s*(\$\{|#\{|=)")


def check_bundle(files: dict[str, bytes]) -> list[Problem]:
    """Every problem of the bundle (file name -> content), in file order; [] when it may
    be deployed as far as the documents themselves tell."""
    problems: list[Problem] = []
    documents: dict[str, tuple[str, etree._Element]] = {}
    schemas: dict[str, dict] = {}
    fields: dict[str, dict] = {}  # every form that is JSON, for the names it gives
    for name, content in sorted(files.items()):
        if name.endswith(XML_SUFFIXES):
            try:
                root = parse_xml(content, name)
                documents[name] = (document_kind(root, name), root)
            except SpecError as exc:
                problems.append(from_spec_error(exc, name))
        elif name.endswith(SCHEMA_SUFFIX) or name.endswith(UI_SUFFIX):
            schema, problem = _read_json(name, content)
            if name.endswith(SCHEMA_SUFFIX):
                fields[name] = _json_object(content)
            if problem:
                problems.append(problem)
            elif name.endswith(SCHEMA_SUFFIX):
                schemas[name] = schema
        elif not name.endswith(SCENARIO_SUFFIX):
            problems.append(Problem(name, (
                "This is not a file of a process version: a version holds BPMN (.bpmn), "
                "DMN (.dmn), forms (.schema.json, .uischema.json) and scenarios "
                "(.scenario.json). Rename it or leave it out.")))
    parsed = _parse_problems(documents, files)
    known = known_fields(documents, fields)
    ui_files = {n for n in files if n.endswith(UI_SUFFIX)}
    for name, (kind, root) in documents.items():
        if kind == "bpmn":
            problems += check_bpmn(name, root, set(schemas), ui_files, known,
                                   frozenset(fields) - set(schemas))
        else:
            problems += dmn_checks.check_dmn(name, root, known, HELPER_NAMES)
    # SpiffWorkflow's parser stops at its first fault; where our own checks said the
    # same of the same element in plainer words, theirs is left out.
    said = {(p.file, p.element) for p in problems if p.element}
    return problems + [p for p in parsed if (p.file, p.element) not in said or not p.element]


def from_spec_error(exc: Exception, filename: Optional[str] = None) -> Problem:
    """engine/specs.py's refusal as a Problem: its message starts with the file and names
    the element and line when it knows them."""
    text = str(exc)
    file = filename or ""
    head, sep, rest = text.partition(": ")
    if sep and (filename is None or head.split(",")[0] == filename):
        file = head.split(",")[0]
    element = re.search(r"(?:element|sequence flow) ([\w.-]+)", head if sep else "")
    line = re.search(r"line (\d+)", head if sep else "")
    return Problem(file, rest if sep and (element or line) else text,
                   element.group(1) if element else None,
                   int(line.group(1)) if line else None)


def _json_object(content: bytes) -> dict:
    try:
        value = json.loads(content.decode("utf-8"))
    except (UnicodeDecodeError, ValueError):
        return {}
    return value if isinstance(value, dict) and isinstance(value.get("properties"), dict) \
        else {}


def _read_json(name: str, content: bytes) -> tuple[Optional[dict], Optional[Problem]]:
    try:
        value = json.loads(content.decode("utf-8"))
    except (UnicodeDecodeError, ValueError) as exc:
        return None, Problem(name, f"The form is not valid JSON ({exc}); fix the syntax.")
    if not isinstance(value, dict):
        return None, Problem(name, "The form must be a JSON object.")
    if name.endswith(UI_SUFFIX):
        return value, None
    try:
        check_schema(value)
    except SchemaError as exc:
        where = "/".join(str(p) for p in exc.path) or "the top level"
        return None, Problem(name, f"The form is not a valid JSON Schema at {where}: "
                                   f"{exc.message}.")
    bad = RESERVED_FIELDS & set(value.get("properties") or {})
    if bad:
        return None, Problem(name, f"The field name {', '.join(sorted(bad))} is reserved by "
                                   "the engine; rename the field.")
    return value, None


def _parse_problems(documents, files) -> list[Problem]:
    """What SpiffWorkflow's parser (with XSD validation) refuses; it stops at the first
    fault, so this adds at most one problem per process."""
    if not documents:
        return []
    try:
        parser = build_parser({n: files[n] for n in documents})
    except SpecError as exc:
        return [from_spec_error(exc)]
    problems = []
    for process_id in sorted(parser.get_process_ids()):
        try:
            parser.get_spec(process_id)
            parser.get_subprocess_specs(process_id)
        except ValidationException as exc:
            problems.append(Problem(getattr(exc, "file_name", "") or "", plain(exc),
                                    getattr(exc, "id", None) or None,
                                    getattr(exc, "line_number", None) or None))
        except Exception as exc:  # the parser's own faults read like Python; say where
            problems.append(Problem("", f"The process {process_id!r} cannot be built: "
                                        f"{plain(exc)}"))
    return problems


# --------------------------------------------------------------------------- fields

def known_fields(documents, schemas: dict[str, dict]) -> set[str]:
    """The names a process's data can hold: fields of every form, names scripts assign,
    outputs of decisions and services, multi-instance items, and what the engine sets."""
    names = set(ENGINE_FIELDS)
    for schema in schemas.values():
        names |= set(schema.get("properties") or {})
    for kind, root in documents.values():
        if kind == "dmn":
            names |= dmn_checks.decision_outputs(root)
            continue
        for code, mode, _element, _what in _codes(root):
            if mode == "exec":
                names |= assigned_names(code)
        for element in root.iter():
            if not isinstance(element.tag, str):
                continue
            tag = local(element)
            if tag in ("inputDataItem", "outputDataItem") and element.get("name"):
                names.add(element.get("name"))
            elif tag == "loopDataOutputRef" and element.text:
                names.add(element.text.strip())
            elif tag == "serviceTaskOperator" and element.get("resultVariable"):
                names.add(element.get("resultVariable"))
            elif tag == "property" and element.get("name") == "recordActorAs":
                names.add(element.get("value") or "")
    return names


def assigned_names(code: str) -> set[str]:
    try:
        tree = ast.parse(code)
    except SyntaxError:
        return set()
    return {n.id for n in ast.walk(tree) if isinstance(n, ast.Name)
            and isinstance(n.ctx, ast.Store)}


# --------------------------------------------------------------------------- BPMN

def _q(name: str) -> str:
    return f"{{{BPMN_NS}}}{name}"


def _label(element) -> str:
    name = element.get("name")
    return f"{element.get('id')} ({name})" if name else str(element.get("id"))


def _properties(element) -> dict[str, str]:
    return {p.get("name"): p.get("value") or ""
            for p in element.iter(f"{{{SPIFF_NS}}}property") if p.get("name")}


def check_bpmn(filename: str, root, forms: set[str], ui_forms: set[str],
               known: set[str], broken: frozenset = frozenset()) -> list[Problem]:
    """`forms`: the valid task forms of the bundle; `broken`: the ones refused."""
    problems = []
    problems += _user_tasks(filename, root, forms, ui_forms, broken)
    problems += _gateways(filename, root)
    problems += _service_tasks(filename, root)
    problems += _expressions(filename, root)
    problems += _timers(filename, root, known)
    problems += _unreachable(filename, root)
    return problems


def lane_roles() -> dict[str, str]:
    """Lane name -> the role whose queue gets the lane's tasks."""
    return {**{role: role for role in ROLES}, **LANE_ROLE}


def _user_tasks(filename, root, forms, ui_forms, broken=frozenset()) -> list[Problem]:
    lanes = {}
    for lane in root.iter(_q("lane")):
        for ref in lane.iter(_q("flowNodeRef")):
            lanes[(ref.text or "").strip()] = lane  # nested lanes come later and win
    known_lanes = lane_roles()
    choices = ", ".join(f"{lane} ({ROLES.get(role, role)})"
                        for lane, role in sorted(known_lanes.items()))
    problems = []
    for task in root.iter(_q("userTask")):
        task_id, line = task.get("id"), task.sourceline
        lane = lanes.get(task_id)
        if lane is None:
            problems.append(Problem(filename, (
                f"The user task {_label(task)} lies in no lane, so nobody would get it in "
                f"their inbox. Put it in a lane named after the role that works it ({choices})."),
                task_id, line))
        elif (lane.get("name") or "").strip() not in known_lanes:
            problems.append(Problem(filename, (
                f"The user task {_label(task)} lies in the lane {lane.get('name')!r}, which "
                f"names no role. Name the lane after the role that works it ({choices})."),
                task_id, line))
        properties = _properties(task)
        form = properties.get(FORM)
        if not form:
            problems.append(Problem(filename, (
                f"The user task {_label(task)} has no form: set its form "
                f"({FORM}) to one of the form files of the version "
                f"({', '.join(sorted(forms)) or 'none yet'}) or add a new form."),
                task_id, line))
        elif form in broken:
            problems.append(Problem(filename, (
                f"The user task {_label(task)} uses the form {form!r}, which is not a valid "
                "form (see the problem reported for that file)."), task_id, line))
        elif form not in forms:
            problems.append(Problem(filename, (
                f"The user task {_label(task)} uses the form {form!r}, which is not among "
                "the form files of the version; add the form or choose an existing one."),
                task_id, line))
        ui = properties.get(UI_FORM)
        if ui and ui not in ui_forms:
            problems.append(Problem(filename, (
                f"The user task {_label(task)} names the form layout {ui!r}, which is not "
                "among the files of the version; add it or clear the setting."),
                task_id, line))
    return problems


def _gateways(filename, root) -> list[Problem]:
    outgoing: dict[str, list] = {}
    for flow in root.iter(_q("sequenceFlow")):
        outgoing.setdefault(flow.get("sourceRef"), []).append(flow)
    problems = []
    for gateway in [*root.iter(_q("exclusiveGateway")), *root.iter(_q("inclusiveGateway"))]:
        flows = outgoing.get(gateway.get("id"), [])
        default = gateway.get("default")
        if len(flows) < 2:
            continue
        for flow in flows:
            if flow.get("id") == default or (text_of_condition(flow) or "").strip():
                continue
            problems.append(Problem(filename, (
                f"The flow {_label(flow)} leaves the gateway {_label(gateway)} without a "
                "condition and is not its default flow, so the gateway cannot decide "
                "whether to take it. Give the flow a condition, or make it the default "
                "flow (one per gateway)."), flow.get("id"), flow.sourceline))
    return problems


def _service_tasks(filename, root) -> list[Problem]:
    known = ", ".join(sorted(CONNECTORS))
    problems = []
    for task in root.iter(_q("serviceTask")):
        operator = next(task.iter(f"{{{SPIFF_NS}}}serviceTaskOperator"), None)
        name = operator.get("id") if operator is not None else None
        if name in CONNECTORS:
            continue
        problems.append(Problem(filename, (
            f"The service task {_label(task)} "
            + (f"calls the connector {name!r}, which the engine does not have"
               if name else "names no connector the engine can call")
            + f"; choose one of {known}, or make it a script or user task."),
            task.get("id"), task.sourceline))
    return problems


def text_of_condition(flow) -> Optional[str]:
    condition = flow.find(_q("conditionExpression"))
    return None if condition is None else condition.text


def _codes(root) -> Iterable[tuple[str, str, object, str]]:
    """Every piece of Python the diagram carries: (code, mode, element, what it is)."""
    for element in root.iter():
        if not isinstance(element.tag, str):
            continue
        tag, namespace = local(element), etree.QName(element).namespace
        text = (element.text or "").strip()
        owner = element.getparent()
        if namespace == BPMN_NS and tag == "script" and text:
            yield text, "exec", owner, "script"
        elif namespace == SPIFF_NS and tag in ("preScript", "postScript") and text:
            yield text, "exec", _owner(element), tag
        elif namespace == BPMN_NS and tag == "conditionExpression" and text:
            yield text, "eval", owner, "condition"
        elif namespace == BPMN_NS and tag in ("loopCardinality", "completionCondition") \
                and text:
            yield text, "eval", _owner(element), tag
        elif namespace == SPIFF_NS and tag == "property" and \
                element.get("name") in EXPRESSION_PROPERTIES and element.get("value"):
            yield element.get("value"), "eval", _owner(element), \
                f"property {element.get('name')}"
        elif namespace == SPIFF_NS and tag == "parameter" and element.get("value"):
            yield element.get("value"), "eval", _owner(element), \
                f"parameter {element.get('id')}"
        elif namespace == BPMN_NS and tag in TIMER_KINDS and text:
            yield text, "eval", _owner(element), "timer expression"


def _owner(element):
    """The nearest enclosing element with an id: the BPMN element a setting belongs to."""
    return next((a for a in element.iterancestors() if a.get("id") and
                 etree.QName(a).namespace == BPMN_NS and local(a) not in
                 ("extensionElements", "multiInstanceLoopCharacteristics",
                  "timerEventDefinition")), element)


def _expressions(filename, root) -> list[Problem]:
    problems = []
    for task in root.iter(_q("scriptTask")):
        script_format = (task.get("scriptFormat") or "python").lower()
        if script_format not in ("python", "text/x-python", "python3"):
            problems.append(Problem(filename, (
                f"The script task {_label(task)} is written in {task.get('scriptFormat')!r}, "
                "but scripts run as Python; rewrite the script in Python."),
                task.get("id"), task.sourceline))
    for code, mode, element, what in _codes(root):
        problem = code_problem(code, mode)
        if problem:
            problems.append(Problem(filename, f"The {what} of {_label(element)}: {problem}",
                                    element.get("id"), element.sourceline))
    return problems


def code_problem(code: str, mode: str) -> Optional[str]:
    """Why the engine would refuse to run this code, or None."""
    if _TEMPLATE.match(code):
        return (f"{code.strip()!r} is written for another engine (an expression language "
                "with ${...} or =); here expressions are Python, e.g. amount > 5000 or "
                "urgency == \"urgent\".")
    try:
        compile_restricted_code(code, mode)
    except SyntaxError as exc:
        return (f"it is not valid in a diagram ({plain(exc)}) Change it so that it only "
                "reads and writes task data.")
    found = refusals(code, mode)
    if found:
        return "; ".join(f"line {line}: {reason}" for line, reason in found) + "."
    return None


# --------------------------------------------------------------------------- timers

class _DefaultCalendar:
    """The calendar every team counts in when a timer is tried out at check time."""

    def for_team(self, _department):
        return get_calendar(DEFAULT_CALENDAR)


HELPERS = script_helpers(_DefaultCalendar(),
                         lambda: dt.datetime.fromisoformat(SAMPLE_TIME))
HELPER_NAMES = frozenset(HELPERS)


class _Samples(dict):
    """Sample values for the fields a timer expression reads: a time for fields that hold
    one, a number otherwise; names no form, script or decision sets stay unknown."""

    def __init__(self, known: set[str], times: set[str], texts: dict[str, object]):
        super().__init__()
        self.known, self.times, self.texts = known, times, texts

    def __missing__(self, name):
        if name in self.texts:
            return self.texts[name]
        if name in self.times or name.endswith("_at"):
            return SAMPLE_TIME
        if name.endswith(DATE_SUFFIXES):  # a form's date field, e.g. improvement_deadline
            return SAMPLE_TIME[:10]
        if name in self.known:
            return 1
        raise KeyError(name)


def _timers(filename, root, known) -> list[Problem]:
    constants = _script_constants(root)
    problems = []
    for definition in root.iter(_q("timerEventDefinition")):
        event = definition.getparent()
        for expression in definition:
            if not isinstance(expression.tag, str) or local(expression) not in TIMER_KINDS:
                continue
            code = (expression.text or "").strip()
            if not code or code_problem(code, "eval"):
                continue  # reported with the other expressions
            problem = timer_problem(code, local(expression), known, constants)
            if problem:
                problems.append(Problem(filename, (
                    f"The timer of {_label(event)}: {problem}"), event.get("id"),
                    expression.sourceline))
    return problems


def _script_constants(root) -> dict[str, object]:
    """Values scripts give fields outright (`sla_paused_seconds = 0`): realistic samples."""
    values = {}
    for code, mode, _element, _what in _codes(root):
        if mode != "exec":
            continue
        try:
            tree = ast.parse(code)
        except SyntaxError:
            continue
        for node in ast.walk(tree):
            if isinstance(node, ast.Assign) and isinstance(node.value, ast.Constant):
                for target in node.targets:
                    if isinstance(target, ast.Name) and node.value.value is not None:
                        values.setdefault(target.id, node.value.value)
    return values


def timer_problem(code: str, kind: str, known: set[str],
                  constants: Optional[dict] = None) -> Optional[str]:
    """Evaluate a timer expression with sample values as the engine would; why it fails,
    or None."""
    samples = _Samples(known, set(), constants or {})
    environment = RestrictedEnvironment(HELPERS)
    names = dmn_checks.expression_names(code) - HELPER_NAMES
    unknown = sorted(n for n in names if n not in samples.texts and n not in known)
    if unknown:
        literal = [n for n in unknown if re.fullmatch(r"P[\dYMWDTHS.]+|R\d*/.*", n)]
        if literal:
            return (f"{literal[0]} is read as the name of a field; timer expressions are "
                    f"Python, so write the value in quotes: \"{literal[0]}\".")
        return (f"it reads {', '.join(unknown)}, which no form, script or decision of the "
                "process sets; use a field of a form or a helper such as "
                "business_due(start, \"P3D\") or sla_due(received_at, hours).")
    context = {n: samples[n] for n in names}
    try:
        value = environment.evaluate(code, context)
    except Exception as exc:
        return (f"it fails when tried with sample values ({type(exc).__name__}: {exc}); "
                "check the names and the helper's arguments.")
    if not isinstance(value, str):
        return (f"it gives {type(value).__name__} {value!r}, but the engine needs "
                f"{TIMER_KINDS[kind]} as ISO 8601 text, e.g. \"PT4H\" or "
                "\"2026-11-25T10:00:00+08:00\".")
    try:
        if kind == "timeDate":
            moment = dt.datetime.fromisoformat(value.replace("Z", "+00:00"))
            if moment.tzinfo is None:
                return (f"it gives {value!r}, a time without its time zone, which the "
                        "server would read in its own zone; add the offset, e.g. +08:00.")
        elif kind == "timeDuration":
            TimerEventDefinition.parse_iso_duration(value)
        else:
            TimerEventDefinition.parse_iso_recurring_interval(value)
    except Exception:
        return (f"it gives {value!r}, which is not {TIMER_KINDS[kind]} in ISO 8601 "
                "(e.g. \"PT4H\", \"P3D\", \"2026-11-25T10:00:00+08:00\", \"R3/PT1H\").")
    return None


# --------------------------------------------------------------------------- reachability

def _unreachable(filename, root) -> list[Problem]:
    nodes = {e.get("id"): e for e in root.iter()
             if isinstance(e.tag, str) and etree.QName(e).namespace == BPMN_NS
             and local(e) in FLOW_NODES and e.get("id")}
    edges: dict[str, set[str]] = {}
    for flow in root.iter(_q("sequenceFlow")):
        edges.setdefault(flow.get("sourceRef"), set()).add(flow.get("targetRef"))
    links: dict[tuple, set[str]] = {}
    for node_id, node in nodes.items():
        if local(node) == "boundaryEvent" and node.get("attachedToRef"):
            edges.setdefault(node.get("attachedToRef"), set()).add(node_id)
        if local(node) in CONTAINERS:
            for child in node:
                if isinstance(child.tag, str) and (
                        local(child) == "startEvent" or
                        (local(child) in CONTAINERS and child.get("triggeredByEvent") == "true")):
                    edges.setdefault(node_id, set()).add(child.get("id"))
        for link in children(node, "linkEventDefinition"):
            side = "throw" if local(node) == "intermediateThrowEvent" else "catch"
            links.setdefault((node.getparent(), link.get("name"), side), set()).add(node_id)
    for (container, name, side), sources in links.items():
        if side == "throw":
            for source in sources:
                edges.setdefault(source, set()).update(links.get((container, name, "catch"), ()))
    problems = []
    for process in root.iter(_q("process")):
        roots = [c.get("id") for c in process if isinstance(c.tag, str) and (
            local(c) == "startEvent" or (local(c) in CONTAINERS and
                                         c.get("triggeredByEvent") == "true"))]
        members = [e.get("id") for e in process.iter() if e.get("id") in nodes]
        if members and not any(local(nodes[r]) == "startEvent" for r in roots):
            problems.append(Problem(filename, (
                f"The process {_label(process)} has no start event, so none of its elements "
                "can be reached; add a start event and connect it."),
                process.get("id"), process.sourceline))
            continue
        seen, todo = set(), list(roots)
        while todo:
            current = todo.pop()
            if current in seen:
                continue
            seen.add(current)
            todo.extend(edges.get(current, ()))
        for member in members:
            if member not in seen:
                node = nodes[member]
                problems.append(Problem(filename, (
                    f"The element {_label(node)} cannot be reached from a start event: no "
                    "sequence flow leads to it. Connect it or remove it."),
                    member, node.sourceline))
    return problems
