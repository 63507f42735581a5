"""The engine's checks of process documents before a deploy: each rule refuses a small
diagram that breaks it, naming the file, the element and what to change; the shipped
documents pass; diagrams drawn in other modelers pass or are refused in words a process
owner understands; known sandbox escapes are refused before any case runs them."""
from __future__ import annotations

import json
from pathlib import Path

import pytest

from engine.diagram_checks import check_bundle
from support.bundle import replaced, shipped_bundle

FIXTURES = Path(__file__).resolve().parent / "fixtures" / "diagrams"

DIAGRAM = """<?xml version="1.0" encoding="UTF-8"?>
<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL"
    xmlns:spiffworkflow="http://spiffworkflow.org/bpmn/schema/1.0/core" id="defs"
    targetNamespace="http://example.com/refund">
  <bpmn:process id="refund" name="Refund" isExecutable="true">
    <bpmn:laneSet id="lanes">
      <bpmn:lane id="lane_agent" name="cs_agent">
        <bpmn:flowNodeRef>start</bpmn:flowNodeRef>
        <bpmn:flowNodeRef>ask</bpmn:flowNodeRef>
      </bpmn:lane>
    </bpmn:laneSet>
    <bpmn:startEvent id="start"><bpmn:outgoing>f1</bpmn:outgoing></bpmn:startEvent>
    <bpmn:scriptTask id="prepare" name="Prepare" scriptFormat="python">
      <bpmn:incoming>f1</bpmn:incoming><bpmn:outgoing>f2</bpmn:outgoing>
      <bpmn:script>counter = 0</bpmn:script>
    </bpmn:scriptTask>
    <bpmn:userTask id="ask" name="Ask the customer">
      <bpmn:extensionElements><spiffworkflow:properties>
        <spiffworkflow:property name="formJsonSchemaFilename" value="ask.schema.json"/>
      </spiffworkflow:properties></bpmn:extensionElements>
      <bpmn:incoming>f2</bpmn:incoming><bpmn:outgoing>f3</bpmn:outgoing>
    </bpmn:userTask>
    <bpmn:exclusiveGateway id="decide" name="Yes?" default="f_no">
      <bpmn:incoming>f3</bpmn:incoming>
      <bpmn:outgoing>f_yes</bpmn:outgoing><bpmn:outgoing>f_no</bpmn:outgoing>
    </bpmn:exclusiveGateway>
    <bpmn:intermediateCatchEvent id="wait" name="Wait">
      <bpmn:incoming>f_yes</bpmn:incoming><bpmn:outgoing>f5</bpmn:outgoing>
      <bpmn:timerEventDefinition id="wait_timer">
        <bpmn:timeDuration>"PT1H"</bpmn:timeDuration>
      </bpmn:timerEventDefinition>
    </bpmn:intermediateCatchEvent>
    <bpmn:endEvent id="end_yes"><bpmn:incoming>f5</bpmn:incoming></bpmn:endEvent>
    <bpmn:endEvent id="end_no"><bpmn:incoming>f_no</bpmn:incoming></bpmn:endEvent>
    <bpmn:sequenceFlow id="f1" sourceRef="start" targetRef="prepare"/>
    <bpmn:sequenceFlow id="f2" sourceRef="prepare" targetRef="ask"/>
    <bpmn:sequenceFlow id="f3" sourceRef="ask" targetRef="decide"/>
    <bpmn:sequenceFlow id="f_yes" sourceRef="decide" targetRef="wait">
      <bpmn:conditionExpression>answer == "yes"</bpmn:conditionExpression>
    </bpmn:sequenceFlow>
    <bpmn:sequenceFlow id="f_no" sourceRef="decide" targetRef="end_no"/>
    <bpmn:sequenceFlow id="f5" sourceRef="wait" targetRef="end_yes"/>
  </bpmn:process>
</bpmn:definitions>
"""

TABLE = """<?xml version="1.0" encoding="UTF-8"?>
<definitions xmlns="https://www.omg.org/spec/DMN/20191111/MODEL/" id="d_refund"
    name="Refund" namespace="http://example.com/dmn">
  <decision id="refund_level" name="Refund level">
    <decisionTable id="table" hitPolicy="UNIQUE">
      <input id="in_amount" label="Amount">
        <inputExpression id="in_amount_expr" typeRef="number"><text>amount</text></inputExpression>
      </input>
      <input id="in_answer" label="Answer">
        <inputExpression id="in_answer_expr" typeRef="string"><text>answer</text></inputExpression>
      </input>
      <output id="out_level" name="level" typeRef="string"/>
      <rule id="rule_small">
        <inputEntry id="r1a"><text>&lt;= 100</text></inputEntry>
        <inputEntry id="r1b"><text>-</text></inputEntry>
        <outputEntry id="r1o"><text>"small"</text></outputEntry>
      </rule>
      <rule id="rule_large">
        <inputEntry id="r2a"><text>? &gt; 100 and ? &lt; 5000</text></inputEntry>
        <inputEntry id="r2b"><text>"yes"</text></inputEntry>
        <outputEntry id="r2o"><text>"large"</text></outputEntry>
      </rule>
      <rule id="rule_huge">
        <inputEntry id="r3a"><text>&gt;= 5000</text></inputEntry>
        <inputEntry id="r3b"><text>? in ("yes", "no")</text></inputEntry>
        <outputEntry id="r3o"><text>"huge"</text></outputEntry>
      </rule>
    </decisionTable>
  </decision>
</definitions>
"""

FORM = {"type": "object", "properties": {"answer": {"type": "string"},
                                         "amount": {"type": "number"}}}


def bundle(**changes) -> dict[str, bytes]:
    return {"refund.bpmn": DIAGRAM.encode(), "refund.dmn": TABLE.encode(),
            "ask.schema.json": json.dumps(FORM).encode(), **changes}


def problems_of(files, name="refund.bpmn", old=None, new=None):
    if old is not None:
        files = replaced(files, name, old, new)
    return check_bundle(files)


def only(problems, element):
    found = [p for p in problems if p.element == element]
    assert found, f"no problem on {element}: {[str(p) for p in problems]}"
    return found


def test_the_small_bundle_and_the_shipped_documents_pass():
    assert check_bundle(bundle()) == []
    assert check_bundle(shipped_bundle()) == []


def test_a_user_task_outside_any_lane_is_refused():
    problems = problems_of(bundle(), old="<bpmn:flowNodeRef>ask</bpmn:flowNodeRef>", new="")
    [problem] = only(problems, "ask")
    assert problem.file == "refund.bpmn" and problem.line == 17
    assert "lies in no lane" in problem.message and "cs_agent" in problem.message


def test_a_lane_that_names_no_role_is_refused():
    problems = problems_of(bundle(), old='name="cs_agent"', new='name="Front office"')
    [problem] = only(problems, "ask")
    assert "lane 'Front office', which names no role" in problem.message


def test_a_user_task_without_a_form_or_with_a_missing_one_is_refused():
    [problem] = only(problems_of(bundle(), old='value="ask.schema.json"', new='value=""'), "ask")
    assert "has no form" in problem.message and "ask.schema.json" in problem.message
    [problem] = only(problems_of(bundle(), old='value="ask.schema.json"',
                                 new='value="answer.schema.json"'), "ask")
    assert "'answer.schema.json', which is not among the form files" in problem.message


def test_a_form_that_is_no_json_schema_is_refused_and_so_is_its_task():
    form = {"type": "object", "properties": {"answer": {"type": "string"},
                                             "amount": {"type": "sum"}}}
    problems = check_bundle(bundle(**{"ask.schema.json": json.dumps(form).encode()}))
    assert [(p.file, p.element) for p in problems] == [("ask.schema.json", None),
                                                       ("refund.bpmn", "ask")]
    assert "not a valid JSON Schema at properties/amount/type" in problems[0].message
    assert "'ask.schema.json', which is not a valid form" in problems[1].message


def test_a_gateway_flow_without_condition_and_no_default_is_refused():
    problems = problems_of(bundle(), old=' default="f_no"', new="")
    [problem] = only(problems, "f_no")
    assert "leaves the gateway decide (Yes?) without a condition" in problem.message
    assert "make it the default" in problem.message


def test_a_condition_that_does_not_compile_is_refused_naming_the_flow():
    problems = problems_of(bundle(), old='answer == "yes"', new='answer == "yes" and')
    [problem] = only(problems, "f_yes")
    assert problem.file == "refund.bpmn"
    assert problem.message.startswith("The condition of f_yes: it is not valid in a diagram")


@pytest.mark.parametrize("timer, says", [
    ("PT1H", 'write the value in quotes: "PT1H"'),
    ("hours_from_now(4)", "gives '2026-11-25"),   # a time, where a duration is expected
    ('"four hours"', "is not a duration in ISO 8601"),
    ("no_such_field", "reads no_such_field, which no form, script or decision"),
    ("1 / 0", "fails when tried with sample values (ZeroDivisionError"),
])
def test_a_timer_expression_that_does_not_evaluate_is_refused(timer, says):
    [problem] = only(problems_of(bundle(), old='"PT1H"', new=timer), "wait")
    assert says in problem.message


def test_a_time_without_its_zone_is_refused_for_a_date_timer():
    problems = problems_of(bundle(), old='<bpmn:timeDuration>"PT1H"</bpmn:timeDuration>',
                           new='<bpmn:timeDate>"2026-12-01T10:00:00"</bpmn:timeDate>')
    [problem] = only(problems, "wait")
    assert "a time without its time zone" in problem.message


def test_an_element_no_flow_leads_to_is_refused():
    problems = problems_of(bundle(), old='targetRef="end_no"', new='targetRef="end_yes"')
    [problem] = only(problems, "end_no")
    assert "cannot be reached from a start event" in problem.message


def test_a_decision_input_no_form_or_script_sets_is_refused():
    problems = problems_of(bundle(), "refund.dmn", "<text>answer</text>", "<text>colour</text>")
    [problem] = only(problems, "in_answer")
    assert problem.file == "refund.dmn"
    assert "colour is not a field any form, script or decision" in problem.message


@pytest.mark.parametrize("old, new, rules", [
    ("&lt;= 100", "&lt;= 200", "rule 2 (rule_large) can match the same input as rule 1"),
    ("&gt;= 5000", "-", "rule 3 (rule_huge) can match the same input as rules 1 (rule_small), "
                        "2 (rule_large)"),
    ("&gt;= 5000", "&gt; 4000", "rule 3 (rule_huge) can match the same input as rule 2"),
])
def test_overlapping_rules_of_a_unique_table_are_refused(old, new, rules):
    problems = problems_of(bundle(), "refund.dmn", old, new)
    [problem] = only(problems, "refund_level")
    assert rules in problem.message and "set the hit policy to FIRST" in problem.message
    assert check_bundle(replaced(replaced(bundle(), "refund.dmn", old, new), "refund.dmn",
                                 'hitPolicy="UNIQUE"', 'hitPolicy="FIRST"')) == []


def test_every_problem_is_reported_not_only_the_first():
    files = replaced(bundle(), "refund.bpmn", 'value="ask.schema.json"', 'value=""')
    files = replaced(files, "refund.bpmn", '"PT1H"', "PT1H")
    files = replaced(files, "refund.dmn", "<text>answer</text>", "<text>colour</text>")
    assert {p.element for p in check_bundle(files)} == {"ask", "wait", "in_answer"}


def test_unsafe_xml_is_a_problem_of_its_file():
    problems = check_bundle(bundle(**{"refund.bpmn": b'<?xml version="1.0"?><!DOCTYPE x '
                                                     b'[<!ENTITY e SYSTEM "file:///etc/passwd">]>'
                                                     b"<x>&e;</x>"}))
    assert problems[0].file == "refund.bpmn" and "DOCTYPE" in problems[0].message


# ------------------------------------------------------------------ sandbox escapes

# Payloads that try to leave the restricted environment; each is refused when the diagram
# is checked, both as an expression (a condition, a timer) and inside a script task.
EXPRESSION_ESCAPES = [
    "().__class__.__bases__[0].__subclasses__()",
    "__import__('os').system('id')",
    "open('/etc/passwd').read()",
    "getattr(1, '__class__')",
    "'{0.__class__.__mro__}'.format(1)",
    "'{a.__globals__}'.format_map({'a': len})",
    "globals()",
    "eval('1')",
    "exec('x = 1')",
    "compile('1', 'x', 'eval')",
    "(lambda: 0).__code__",
    "type(1)",
    "vars()",
    "dir()",
    "locals()",
    "{}['__class__']",
    "[g.gi_frame.f_back for g in [0]]",
    "setattr(len, 'x', 1)",
    "breakpoint()",
]
SCRIPT_ESCAPES = EXPRESSION_ESCAPES + [
    "import os",
    "from subprocess import call",
    "try:\n    x = 1\nexcept BaseException:\n    pass",
    "try:\n    x = 1\nfinally:\n    pass",
]


@pytest.mark.parametrize("payload", SCRIPT_ESCAPES)
def test_escapes_in_a_script_task_are_refused(payload):
    problems = problems_of(bundle(), old="counter = 0", new=payload.replace("<", "&lt;"))
    [problem] = only(problems, "prepare")
    assert problem.message.startswith("The script of prepare (Prepare): ")


@pytest.mark.parametrize("payload", EXPRESSION_ESCAPES)
def test_escapes_in_conditions_and_timers_are_refused(payload):
    [condition] = only(problems_of(bundle(), old='answer == "yes"', new=payload), "f_yes")
    assert condition.message.startswith("The condition of f_yes: ")
    [timer] = only(problems_of(bundle(), old='"PT1H"', new=payload), "wait")
    assert timer.message.startswith("The timer expression of wait (Wait): ")


# ------------------------------------------------------------------ other modelers

def foreign(name: str) -> list:
    return check_bundle({name: (FIXTURES / name).read_bytes()})


def test_a_bpmn_io_diagram_with_a_python_script_and_gateway_passes():
    assert foreign("bpmnio_script_and_gateway.bpmn") == []


def test_a_bpmn_io_user_task_is_asked_for_its_lane_and_form():
    problems = foreign("bpmnio_user_task.bpmn")
    assert [(p.element, p.message.split(",")[0]) for p in problems] == [
        ("Activity_review", "The user task Activity_review (Review the claim) lies in no lane"),
        ("Activity_review", "The user task Activity_review (Review the claim) has no form: set "
                            "its form (formJsonSchemaFilename) to one of the form files of the "
                            "version (none yet) or add a new form.")]


def test_a_camunda_7_diagram_is_told_that_expressions_are_python():
    problems = {p.element: p.message for p in foreign("camunda7_export.bpmn")}
    assert set(problems) == {"Activity_check", "Flow_large", "Flow_small", "Event_wait"}
    assert "'${amount > 500}' is written for another engine" in problems["Flow_large"]
    assert "here expressions are Python" in problems["Flow_large"]
    assert 'write the value in quotes: "PT4H"' in problems["Event_wait"]
    assert "has no form" in problems["Activity_check"]


def test_a_camunda_8_diagram_is_told_about_feel_and_its_job_worker():
    problems = {p.element: p.message for p in foreign("camunda8_zeebe_export.bpmn")}
    assert set(problems) == {"Activity_call", "Flow_yes", "Activity_notify"}
    assert "'=reached = true' is written for another engine" in problems["Flow_yes"]
    assert "names no connector the engine can call; choose one of email_report" in \
        problems["Activity_notify"]


def test_a_signavio_export_is_told_about_its_lane_and_its_loose_task():
    problems = foreign("signavio_export.bpmn")
    assert {(p.element, p.message.split(":")[0].split(",")[0]) for p in problems} == {
        ("sid-register", "The user task sid-register (Register the complaint) lies in the "
                         "lane 'Customer Service'"),
        ("sid-register", "The user task sid-register (Register the complaint) has no form"),
        ("sid-orphan", "The element sid-orphan (Archive paper form) cannot be reached from a "
                       "start event")}
    assert all(p.file == "signavio_export.bpmn" and p.line for p in problems)
