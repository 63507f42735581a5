"""What changed between two versions of a process, element by element, so that both
diagrams can mark what was added, removed or changed.

BPMN is compared per element id (a task, event, gateway, flow, lane, ...), DMN per
decision (hit policy, inputs, outputs) and per rule, a form per field and its UI hints
per key; a scenario as a whole.
"""
from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from typing import Optional

from lxml import etree

from . import bundles, specs

BPMN = specs.BPMN_NS
SPIFF = specs.SPIFF_NS
# Elements that hold other diagram elements: their children are compared on their own.
CONTAINERS = {"definitions", "process", "subProcess", "transaction", "adHocSubProcess",
              "laneSet", "childLaneSet", "collaboration"}
# Children that only repeat what the flows say, or list a lane's members (each member
# says its lane instead).
REPEATS = {"incoming", "outgoing", "flowNodeRef"}
TIMERS = {"timeDuration", "timeDate", "timeCycle"}
CHANGE_WORDS = {"sourceRef": "source", "targetRef": "target", "conditionExpression":
                "condition", "script": "script", "documentation": "documentation"}


@dataclass
class ElementChange:
    id: str
    kind: str
    name: Optional[str] = None
    changes: list[str] = field(default_factory=list)
    # Each change as a reader wants it: "name: old → new" while both fit on a line.
    details: list[str] = field(default_factory=list)


@dataclass
class FileDiff:
    file: str
    kind: str  # bpmn | dmn | form | ui | scenario
    status: str  # added | removed | changed | same
    added: list[ElementChange] = field(default_factory=list)
    removed: list[ElementChange] = field(default_factory=list)
    changed: list[ElementChange] = field(default_factory=list)


@dataclass
class VersionDiff:
    process_id: str
    a: int
    b: int
    files: dict[str, FileDiff] = field(default_factory=dict)

    def as_dict(self) -> dict:
        return asdict(self)

    def summary(self) -> dict:
        """Compact, for the audit trail: files added or removed, and per changed file the
        ids of the elements added, removed and changed."""
        out: dict = {}
        for name, diff in sorted(self.files.items()):
            if diff.status in ("added", "removed"):
                out.setdefault(f"files_{diff.status}", []).append(name)
            elif diff.status == "changed":
                out.setdefault("files_changed", {})[name] = {
                    what: [e.id for e in getattr(diff, what)]
                    for what in ("added", "removed", "changed") if getattr(diff, what)}
        return out


def compare(process_id: str, a: int, b: int, old: dict[str, str],
            new: dict[str, str]) -> VersionDiff:
    result = VersionDiff(process_id, a, b)
    for name in sorted(set(old) | set(new)):
        kind = bundles.kind_of(name)
        before = _elements(name, kind, old[name]) if name in old else {}
        after = _elements(name, kind, new[name]) if name in new else {}
        status = ("added" if name not in old else "removed" if name not in new
                  else "same" if old[name] == new[name] else "changed")
        diff = FileDiff(name, kind, status)
        for key in sorted(set(before) | set(after)):
            if key not in before:
                diff.added.append(_entry(key, after[key]))
            elif key not in after:
                diff.removed.append(_entry(key, before[key]))
            else:
                old_print, new_print = before[key][2], after[key][2]
                changes = sorted(k for k in set(old_print) | set(new_print)
                                 if old_print.get(k) != new_print.get(k))
                if changes:
                    entry = _entry(key, after[key], changes)
                    entry.details = [_detail(k, old_print.get(k), new_print.get(k))
                                     for k in changes]
                    diff.changed.append(entry)
        result.files[name] = diff
    return result


Element = tuple[str, Optional[str], dict]  # kind, name, fingerprint
SHORT = 80


def _detail(what: str, before: Optional[str], after: Optional[str]) -> str:
    if before is None:
        return f"{what}: added" + (f" ({after})" if len(after or "") <= SHORT else "")
    if after is None:
        return f"{what}: removed" + (f" ({before})" if len(before) <= SHORT else "")
    if len(before) <= SHORT and len(after) <= SHORT:
        return f"{what}: {before} → {after}"
    return f"{what}: changed"


def _entry(key: str, element: Element, changes: Optional[list[str]] = None) -> ElementChange:
    return ElementChange(id=key, kind=element[0], name=element[1], changes=changes or [])


def _elements(name: str, kind: str, text: str) -> dict[str, Element]:
    """Element id -> its kind, its name and its fingerprint (what a change to it is
    named by -> value)."""
    try:
        if kind == "bpmn":
            return _bpmn(specs.parse_xml(text.encode(), name))
        if kind == "dmn":
            return _dmn(specs.parse_xml(text.encode(), name))
        document = json.loads(text)
    except (specs.SpecError, ValueError):
        return {}
    if kind == "form":
        return _form(document)
    if kind == "ui" and isinstance(document, dict):
        return {key: ("ui hints", key, {"hints": json.dumps(value, sort_keys=True)})
                for key, value in document.items()}
    return {name: (kind, document.get("name") if isinstance(document, dict) else None,
                   {"content": json.dumps(document, sort_keys=True)})}


def _local(node) -> str:
    return etree.QName(node).localname


def _is_element(node) -> bool:
    """A diagram element of its own: has an id and sits in a container."""
    parent = node.getparent()
    return (isinstance(node.tag, str) and node.get("id") is not None
            and etree.QName(node).namespace == BPMN and parent is not None
            and _local(parent) in CONTAINERS and _local(node) not in ("laneSet",))


def _text(node) -> str:
    return " ".join((node.text or "").split())


def _bpmn(root) -> dict[str, Element]:
    lanes: dict[str, list[str]] = {}
    for lane in root.iter(f"{{{BPMN}}}lane"):
        for ref in lane.iter(f"{{{BPMN}}}flowNodeRef"):
            lanes.setdefault(_text(ref), []).append(lane.get("name") or lane.get("id"))
    found = {}
    for node in root.iter():
        if not isinstance(node.tag, str) or not _is_element(node):
            continue
        print_ = {"type": _local(node)}
        for attribute, value in node.attrib.items():
            local = etree.QName(attribute).localname
            if local == "id":
                continue
            print_[CHANGE_WORDS.get(local, "name" if local == "name" else
                                    f"attribute {local}")] = value
        if node.get("id") in lanes:
            print_["lane"] = ", ".join(sorted(lanes[node.get("id")]))
        _inner(node, print_)
        found[node.get("id")] = (print_["type"], node.get("name"), print_)
    return found


def _inner(element, print_: dict) -> None:
    """What an element holds below it (but not its own child elements')."""
    pending = list(element)
    while pending:
        node = pending.pop(0)
        if not isinstance(node.tag, str) or _is_element(node):
            continue
        local = _local(node)
        if local in REPEATS:
            continue
        if etree.QName(node).namespace == SPIFF and local == "property":
            print_[f"property {node.get('name')}"] = node.get("value")
            continue
        if local in TIMERS:
            key = "timer"
        elif local in CHANGE_WORDS:
            key = CHANGE_WORDS[local]
        elif etree.QName(node).namespace == SPIFF:
            key = local
        else:
            key = local if len(node) == 0 else None
        if key:
            value = _text(node)
            extra = {k: v for k, v in node.attrib.items() if etree.QName(k).localname != "id"}
            if extra:
                value += " " + json.dumps(extra, sort_keys=True)
            print_[key] = (print_[key] + " | " + value) if key in print_ else value
        pending[0:0] = list(node)


def _dmn(root) -> dict[str, Element]:
    found = {}
    for decision in root.iter("{*}decision"):
        table = next(decision.iter("{*}decisionTable"), None)
        print_ = {"name": decision.get("name") or ""}
        if table is not None:
            print_["hit policy"] = table.get("hitPolicy") or "UNIQUE"
            print_["inputs"] = " | ".join(
                _text(e) for i in table.iter("{*}input") for e in i.iter("{*}text"))
            print_["outputs"] = " | ".join(
                f"{o.get('name')}:{o.get('typeRef')}" for o in table.iter("{*}output"))
            for row, rule in enumerate(table.iter("{*}rule"), start=1):
                found[rule.get("id") or f"{decision.get('id')} rule {row}"] = (
                    "rule", f"{decision.get('id')} rule {row}", {
                    "position": str(row),
                    "input entries": " | ".join(_text(t) for e in rule.iter("{*}inputEntry")
                                                for t in e.iter("{*}text")),
                    "output entries": " | ".join(_text(t) for e in rule.iter("{*}outputEntry")
                                                 for t in e.iter("{*}text")),
                    "description": " ".join(_text(d) for d in rule.iter("{*}description")),
                })
        found[decision.get("id")] = ("decision", decision.get("name"), print_)
    return found


def _form(schema) -> dict[str, Element]:
    if not isinstance(schema, dict):
        return {}
    required = set(schema.get("required") or [])
    found = {}
    for name, prop in (schema.get("properties") or {}).items():
        prop = prop if isinstance(prop, dict) else {}
        print_ = {key: json.dumps(value, sort_keys=True) for key, value in prop.items()}
        print_["required"] = str(name in required)
        found[name] = ("field", prop.get("title", name), print_)
    return found
