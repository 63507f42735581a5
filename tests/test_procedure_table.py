"""The procedure's table of steps and deadlines (docs/procedure.md) agrees with the shipped
diagrams, forms and deadline table: every step of the procedure has its lane, its form and
its deadline (hours, urgent hours, where they count from, whose calendar), and every user
task of the diagrams is in the table, with a deadline or with the reason it has none."""
from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest
from lxml import etree

ROOT = Path(__file__).resolve().parent.parent
DOC = ROOT / "docs" / "procedure.md"
PROCESSES = ROOT / "processes"
FORMS = ROOT / "forms"
# The procedure as the project keeps it beside a clone (not part of the repository).
SHARED_PROCEDURE = ROOT.parent / "shared" / "PROCEDURE.md"
BPMN = "{http://www.omg.org/spec/BPMN/20100524/MODEL}"
SPIFF = "{http://spiffworkflow.org/bpmn/schema/1.0/core}"
DMN = "{https://www.omg.org/spec/DMN/20191111/MODEL/}"
STAGES = ("reminder", "breach", "escalation")
# The argument of each helper that holds the step's time, and the one naming the team.
HELPERS = {"sla_due": (1, 3), "due_in": (0, 2), "days_due_in": (0, 2), "business_due": (None, 2)}
CALENDARS = {None: "customer service", "gm_office": "GM office", "supervision": "supervision",
             "social_media": "social-media desk"}
DEPARTMENT_FIELDS = {"department", "lead_department", "improvement_department"}


def table(heading: str) -> list[dict]:
    text = DOC.read_text(encoding="utf-8").split(f"## {heading}\n", 1)[1]
    lines = [line for line in text.split("\n## ", 1)[0].splitlines() if line.startswith("|")]
    header = [c.strip() for c in lines[0].strip("|").split("|")]
    return [dict(zip(header, (c.strip() for c in line.strip("|").split("|"))))
            for line in lines[2:]]


STEPS = table("Steps with a deadline")
WITHOUT = table("Steps without a deadline of their own")
OTHER_PROCEDURES = table("Other procedures")


def properties(element) -> dict:
    return {p.get("name"): p.get("value") for p in element.iter(f"{SPIFF}property")}


class Diagrams:
    def __init__(self):
        self.tasks: dict[tuple[str, str], dict] = {}
        self.constants: dict[str, object] = {}
        for path in sorted(PROCESSES.glob("*.bpmn")):
            root = etree.parse(str(path)).getroot()
            for process in root.iter(f"{BPMN}process"):
                lanes = {ref.text: lane.get("name") for lane in process.iter(f"{BPMN}lane")
                         for ref in lane.iter(f"{BPMN}flowNodeRef")}
                timers = {}
                for event in process.iter(f"{BPMN}boundaryEvent"):
                    stage = properties(event).get("slaEvent")
                    if stage:
                        timers.setdefault(event.get("attachedToRef"), {})[stage] = (
                            event.find(f".//{BPMN}timeDate").text.strip(),
                            properties(event).get("notifyRole"))
                for task in process.iter(f"{BPMN}userTask"):
                    self.tasks[(process.get("id"), task.get("id"))] = {
                        "lane": lanes.get(task.get("id")), "props": properties(task),
                        "timers": timers.get(task.get("id"), {})}
                for script in process.iter(f"{BPMN}script"):
                    for node in ast.walk(ast.parse(script.text or "")):
                        if isinstance(node, ast.Assign) and isinstance(node.value, ast.Constant):
                            for target in node.targets:
                                if isinstance(target, ast.Name):
                                    self.constants[target.id] = node.value.value
        dmn = etree.parse(str(PROCESSES / "sla.dmn")).getroot()
        outputs = [o.get("name") for o in dmn.iter(f"{DMN}output")]
        self.hours = {}
        for rule in dmn.iter(f"{DMN}rule"):
            values = [float(e.find(f"{DMN}text").text) for e in rule.iter(f"{DMN}outputEntry")]
            self.hours[rule.get("id").removeprefix("Rule_")] = dict(zip(outputs, values))


DIAGRAMS = Diagrams()


def helper_call(expression: str) -> ast.Call:
    """The helper call that sets the deadline (of a conditional, the general path's)."""
    node = ast.parse(expression, mode="eval").body
    if isinstance(node, ast.IfExp):
        node = node.body
    assert isinstance(node, ast.Call) and node.func.id in HELPERS, expression
    return node


def calendar_of(call: ast.Call) -> str:
    position = HELPERS[call.func.id][1]
    argument = call.args[position] if len(call.args) > position else None
    if isinstance(argument, ast.Name) and argument.id in DEPARTMENT_FIELDS:
        return "department"
    value = argument.value if isinstance(argument, ast.Constant) else None
    return CALENDARS[value]


def counted_from(call: ast.Call) -> str:
    names = {n.id for n in ast.walk(call) if isinstance(n, ast.Name)}
    if call.func.id in ("due_in", "days_due_in"):
        return "step start"
    if "received_at" in names:
        return "receipt"
    if "major_passed_at" in names:
        return "hand-over"
    if "improvement_deadline" in names:
        return "the summary's deadline"
    raise AssertionError(f"an unexpected start: {ast.unparse(call)}")


def amount(call: ast.Call, rule: str) -> str:
    position = HELPERS[call.func.id][0]
    name = call.args[position].id
    value = DIAGRAMS.hours[rule][name] if name in DIAGRAMS.hours[rule] else \
        DIAGRAMS.constants[name]
    unit = "d" if call.func.id == "days_due_in" else "h"
    return f"{value:g} {unit}"


@pytest.mark.parametrize("step", STEPS, ids=[s["step"] for s in STEPS])
def test_each_step_has_its_lane_form_and_deadline(step):
    task = DIAGRAMS.tasks.get((step["process"], step["step"]))
    assert task is not None, f"{step['step']} is not a user task of {step['process']}"
    assert task["lane"] == step["lane"]
    form = task["props"].get("formJsonSchemaFilename")
    assert form == f"{step['form']}.schema.json"
    assert (FORMS / form).is_file() and (FORMS / f"{step['form']}.uischema.json").is_file()
    assert set(task["timers"]) == set(STAGES), "reminder, breach and escalation timers"
    breach, breach_role = task["timers"]["breach"]
    assert task["timers"]["escalation"][1] == "leadership" and breach_role
    if re.fullmatch(r"\w+", breach):  # times the job that starts the process computes
        assert step["counted from"] == "the month's schedule"
        return
    call = helper_call(breach)
    assert calendar_of(call) == step["calendar"]
    assert counted_from(call) == step["counted from"]
    if step["normal"] == "deadline":
        return
    assert amount(call, "normal") == step["normal"]
    assert amount(call, "urgent") == step["urgent"]
    # the reminder at 75 % and the escalation at 200 % of the same time
    for stage, fraction in (("reminder", "0.75"), ("escalation", "2.0")):
        assert task["timers"][stage][0] == breach.replace(", 1.0,", f", {fraction},")


def test_every_user_task_is_in_the_table_once():
    listed = [(s["process"], s["step"]) for s in STEPS + WITHOUT]
    assert len(listed) == len(set(listed))
    others = {p["process"] for p in OTHER_PROCEDURES}
    assert all((ROOT / p["deadlines tested in"]).is_file() for p in OTHER_PROCEDURES)
    procedure = {key: task for key, task in DIAGRAMS.tasks.items() if key[0] not in others}
    assert others and len(procedure) < len(DIAGRAMS.tasks), "other processes are shipped"
    assert set(listed) == set(procedure)
    chased = {key for key, task in procedure.items() if task["timers"]}
    assert chased == {(s["process"], s["step"]) for s in STEPS}


def test_the_general_path_matches_the_procedures_own_table():
    """PROCEDURE.md's clock of the general path, where the project keeps it beside the
    clone: its hours and urgent hours are the table's."""
    if not SHARED_PROCEDURE.is_file():
        pytest.skip("the procedure is not beside this clone")
    text = SHARED_PROCEDURE.read_text(encoding="utf-8")
    section = text.split("## The general path and its clock", 1)[1].split("\n\n", 1)[0]
    rows = [line for line in section.splitlines() if re.match(r"\| \d", line)]
    order = ["dispatch", "confirm_receipt", "verify", "propose_solution", "present_solution",
             "execute_solution", "follow_up"]
    ours = {s["step"]: (s["normal"], s["urgent"]) for s in STEPS if s["process"] == "complaint"}
    assert len(rows) == len(order)
    for step, line in zip(order, rows):
        normal, _, urgent = line.split("|")[1].strip().partition(" (")
        assert ours[step] == (normal, urgent.rstrip(")") or normal), step
    assert ours["approve_solution"] == ours["propose_solution"]  # "approved by dept_head"
