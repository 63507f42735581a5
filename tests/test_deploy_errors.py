"""A refused deployment says where and why in plain words: the file, the element and
its line, and what to change; never a Python object, and nothing is deployed."""
from __future__ import annotations

import re

import pytest
from sqlalchemy import func, select

from engine import specs
from engine.models import ProcessVersion
from engine.services import COMPLAINT_PROCESS

FLOW_OUT = "<bpmn:outgoing>flow_start_init</bpmn:outgoing>"
TIMER = 'business_due(now_iso(), "P3D", None)'

BROKEN = {
    "a flow named that does not exist": (
        FLOW_OUT, "<bpmn:outgoing>flow_nowhere</bpmn:outgoing>",
        "complaint.bpmn: element start_filed, line {line}: it names the flow 'flow_nowhere'"),
    "a flow into nothing": (
        'targetRef="script_init"', 'targetRef="ghost"',
        "complaint.bpmn: sequence flow flow_start_init, line"),
    "a call of an unknown process": (
        'calledElement="major_complaint"', 'calledElement="missing_process"',
        "complaint.bpmn: element major_path (call activity), line {line}: it calls the process "
        "'missing_process'"),
    "an unknown decision": (
        "<spiffworkflow:calledDecisionId>classify_path<",
        "<spiffworkflow:calledDecisionId>nope<",
        "complaint.bpmn: element classify_path (business rule task), line {line}: it uses the "
        "decision 'nope'"),
    "a timer expression that does not compile": (
        TIMER, TIMER + " +",
        "complaint.bpmn: element wait_major_follow_up (Wait 3 working days), timer "
        "expression: Line 1: SyntaxError"),
    "a timer expression using getattr": (
        TIMER, 'getattr(1, "real")',
        "complaint.bpmn: element wait_major_follow_up (Wait 3 working days), timer "
        "expression: line 1: getattr()"),
    "an attribute the schema does not allow": (
        '<bpmn:scriptTask id="script_init"', '<bpmn:scriptTask bogus="1" id="script_init"',
        "complaint.bpmn, line {line}: Element 'bpmn:scriptTask', attribute 'bogus'"),
    "no start event": (
        '<bpmn:startEvent id="start_filed" name="Complaint filed">',
        '<bpmn:intermediateThrowEvent id="start_filed" name="Complaint filed">',
        "complaint.bpmn, element complaint (bpmn:process): No start event found"),
}


def version_count(services) -> int:
    with services.db.read() as session:
        return session.execute(select(func.count(ProcessVersion.id))).scalar_one()


@pytest.mark.parametrize("case", sorted(BROKEN))
def test_a_refusal_names_file_element_and_line_in_plain_words(services, case):
    old, new, expected = BROKEN[case]
    sources = dict(specs.read_directory(services.processes_dir))
    text = sources["complaint.bpmn"].decode()
    assert old in text
    # {line}: the line of the shipped diagram that the change breaks.
    expected = expected.replace("{line}", str(text[:text.index(old)].count("\n") + 1))
    text = text.replace(old, new, 1)
    if case == "no start event":
        text = text.replace("</bpmn:startEvent>", "</bpmn:intermediateThrowEvent>", 1)
    sources["complaint.bpmn"] = text.encode()
    before = version_count(services)
    with pytest.raises(specs.SpecError) as refused:
        with services.db.write() as session:
            specs.deploy(session, sources, COMPLAINT_PROCESS, "owner")
    message = str(refused.value)
    assert message.startswith(expected), message
    assert not re.search(r" at 0x[0-9a-f]+", message) and "{http" not in message
    assert version_count(services) == before


def test_python_object_descriptions_never_reach_a_message():
    assert specs.plain("bad <Element {x}task at 0x7f3a2b> here") == "bad an element here."


def test_comments_in_a_decision_table_are_no_trouble(services):
    sources = dict(specs.read_directory(services.processes_dir))
    dmn = next(name for name in sources if name.endswith(".dmn"))
    text = sources[dmn].decode()
    head, rest = text.split("?>", 1) if text.startswith("<?xml") else ("", text)
    sources[dmn] = ((head + "?>" if head else "") + "<!-- reviewed by quality -->"
                    + rest.replace("<decision ", "<!-- the table -->\n<decision ", 1)).encode()
    assert b"<!-- the table -->" in sources[dmn]
    with services.db.write() as session:
        version, created = specs.deploy(session, sources, COMPLAINT_PROCESS, "owner")
    assert created
