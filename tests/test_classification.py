"""The general-vs-major decision table, case by case, through the deployed DMN."""
from __future__ import annotations

import pytest
from SpiffWorkflow.bpmn import BpmnWorkflow
from SpiffWorkflow.util.task import TaskState

from engine import specs
from engine.task_walks import workflow_data
from engine.services import COMPLAINT_PROCESS

GENERAL = {"grade": None, "amount": 899, "spread_risk": False, "legal_threat": False,
           "routine_solvable": True}


@pytest.fixture
def decide(services):
    """Run the shipped diagram in memory up to the decision and return (path, reason)."""
    spec, subprocess_specs = specs.compile_process(
        specs.read_directory(services.processes_dir), COMPLAINT_PROCESS)
    engine = services.script_engine

    def run(**inputs):
        workflow = BpmnWorkflow(spec, subprocess_specs, script_engine=engine)
        for task in workflow.get_tasks(state=TaskState.READY):
            # What every filing sets beside the record: its ticket, channel and receipt.
            task.data.update(ticket="t", parent_ticket=None, channel="hotline",
                             received_at="2026-11-25T10:00:00+08:00")
        workflow.do_engine_steps()
        for name, data in (("check_record", {"record_complete": True}),
                           ("classify", {"complaint_type": "other", "urgency": "normal",
                                         **GENERAL, **inputs})):
            [task] = workflow.get_tasks(state=TaskState.READY, manual=True)
            assert task.task_spec.name == name
            task.set_data(**data)
            task.run()
            workflow.do_engine_steps()
        data = workflow_data(workflow)
        return data["path"], data["major_reason"]
    return run


@pytest.mark.parametrize("inputs, reason", [
    ({"grade": "A"}, "grade A/B"),
    ({"grade": "B"}, "grade A/B"),
    ({"amount": 5000.01}, "amount over 5000"),
    ({"amount": 120000}, "amount over 5000"),
    ({"spread_risk": True}, "spread risk"),
    ({"legal_threat": True}, "legal threat"),
    ({"routine_solvable": False}, "not routinely solvable"),
])
def test_each_condition_alone_makes_a_complaint_major(decide, inputs, reason):
    assert decide(**inputs) == ("major", reason)


@pytest.mark.parametrize("inputs", [
    {}, {"amount": 5000}, {"amount": 0}, {"amount": None}, {"grade": "C"}, {"grade": "D"},
])
def test_general_when_no_condition_holds(decide, inputs):
    assert decide(**inputs)[0] == "general"


@pytest.mark.parametrize("inputs, reason", [
    # The first matching row names the reason: grade, then amount, spread, legal, routine.
    ({"grade": "A", "amount": 9000, "legal_threat": True}, "grade A/B"),
    ({"amount": 9000, "spread_risk": True}, "amount over 5000"),
    ({"spread_risk": True, "legal_threat": True, "routine_solvable": False}, "spread risk"),
    ({"legal_threat": True, "routine_solvable": False}, "legal threat"),
    ({"grade": "C", "amount": 5000, "routine_solvable": False}, "not routinely solvable"),
])
def test_combinations_report_the_first_reason_in_table_order(decide, inputs, reason):
    assert decide(**inputs) == ("major", reason)
