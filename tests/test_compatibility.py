"""Instances serialized by an earlier release still load and run to the end."""
from __future__ import annotations

import json

import pytest
from sqlalchemy import select
from SpiffWorkflow.util.task import TaskState

from engine.models import InstanceState, ProcessInstance
from engine.serialization import dump_state, load_state
from support.major_path import file_major, work
from support.releases import FIXTURES, adopt, stock_serializer, task_tree


@pytest.mark.parametrize("fixture", FIXTURES, ids=[f.stem for f in FIXTURES])
def test_earlier_release_instances_continue(services, desk, fixture):
    release = json.loads(fixture.read_text())
    for n, saved in enumerate(release["instances"]):
        ticket = f"2510{n + 1:06d}"
        adopt(services, release["sources"], ticket, saved["state"])
        assert desk.open_task_names(ticket) == [saved["open_task"]]
        if saved["open_task"] == "supply_missing_facts":
            desk.do(ticket, "supply_missing_facts", supply_decision="supplied",
                    supplied_facts="Order SO-1")
            desk.do(ticket, "check_record")
        desk.run_until(ticket, "follow_up")
        result = desk.do(ticket, "follow_up")
        assert result["status"] == "closed" and result["outcome"] == "resolved"
        assert desk.case(ticket).record["customer_name"] == "Wang Lei"


def test_saved_states_read_the_same_in_spiffworkflows_own_serializer(services, desk):
    """The engine writes task trees with its own fast converter: at every step of a case
    (parallel branches, multi-instance tasks, subprocesses, SLA timers waiting) the stored
    text is what SpiffWorkflow's serializer writes and reads, so exports stay portable."""
    stock = stock_serializer()
    ticket = file_major(desk)
    states = [stored_state(services, ticket)]
    for step in (lambda: work(desk, ticket, "confirm_major"),
                 lambda: work(desk, ticket, "call_back_customer"),
                 lambda: work(desk, ticket, "name_departments",
                              support_departments=["logistics"]),
                 lambda: work(desk, ticket, "report_support_findings",
                              desk.actors["handler2"], "logistics")):
        step()
        states.append(stored_state(services, ticket))
    with services.db.read() as session:
        version_id = session.execute(select(ProcessInstance.version_id).where(
            ProcessInstance.ticket == ticket)).scalar_one()
        spec = services.specs.get(session, version_id)
    assert any(load_state(s, spec.spec, spec.subprocess_specs, None).subprocesses
               for s in states)
    for text in states:
        ours = load_state(text, spec.spec, spec.subprocess_specs, services.script_engine)
        dct = json.loads(text)
        stock.migrate(dct)
        theirs = stock.from_dict(dct, spec=spec.spec, subprocess_specs=spec.subprocess_specs)
        assert task_tree(ours) == task_tree(theirs)
        written = json.loads(dump_state(ours))
        assert written == {**stock.to_dict(theirs), stock.VERSION_KEY: stock.VERSION}


def stored_state(services, ticket: str) -> str:
    with services.db.read() as session:
        return session.execute(select(InstanceState.state).join(
            ProcessInstance, ProcessInstance.id == InstanceState.instance_id).where(
            ProcessInstance.ticket == ticket)).scalar_one()


def test_changing_an_open_task_in_place_leaves_the_finished_tasks_as_they_were(
        services, desk):
    """A finished task's data is restored sharing its parent's values (nothing changes
    it again), an open task's with its own copies: a script appending to a list of the
    open task must not rewrite what the finished steps recorded."""
    ticket = file_major(desk)
    work(desk, ticket, "confirm_major")
    work(desk, ticket, "call_back_customer")
    work(desk, ticket, "name_departments", support_departments=["logistics"])
    spec, workflow = loaded_case(services, ticket)
    finished = {task.id: task for task in workflow.get_tasks()
                if task.has_state(TaskState.COMPLETED)
                and task.data.get("support_departments") == ["logistics"]}
    opened = [task for task in workflow.get_tasks(state=TaskState.READY)
              if task.data.get("support_departments") == ["logistics"]]
    assert finished and opened
    for task in opened:
        task.data["support_departments"].append("sales")
    again = load_state(dump_state(workflow), spec.spec, spec.subprocess_specs,
                       services.script_engine)
    for task_id in finished:
        assert again.get_task_from_id(task_id).data["support_departments"] == ["logistics"]
    for task in opened:
        assert again.get_task_from_id(task.id).data["support_departments"] == [
            "logistics", "sales"]


def test_a_task_that_dropped_some_of_its_parents_data_reads_back_without_just_those(
        services, desk):
    """A task's data is stored as changes against its parent's: keys it dropped come back
    dropped, the others kept, as SpiffWorkflow's own serializer reads them."""
    ticket = file_major(desk)
    work(desk, ticket, "confirm_major")
    spec, workflow = loaded_case(services, ticket)
    task = next(t for t in workflow.get_tasks(state=TaskState.READY) if t.task_spec.manual)
    inherited = workflow.get_task_from_id(task._parent).data
    assert "customer_phone" in inherited and len(inherited) > 2
    del task.data["customer_phone"]
    task.data["demand"] = "Replacement"
    text = dump_state(workflow)
    again = load_state(text, spec.spec, spec.subprocess_specs, services.script_engine)
    kept = again.get_task_from_id(task.id).data
    assert "customer_phone" not in kept and kept["demand"] == "Replacement"
    assert kept["customer_name"] == inherited["customer_name"]
    stock = stock_serializer()
    dct = json.loads(text)
    stock.migrate(dct)
    theirs = stock.from_dict(dct, spec=spec.spec, subprocess_specs=spec.subprocess_specs)
    assert task_tree(again) == task_tree(theirs)


def loaded_case(services, ticket: str):
    """The case's compiled process and its workflow as stored."""
    with services.db.read() as session:
        version_id = session.execute(select(ProcessInstance.version_id).where(
            ProcessInstance.ticket == ticket)).scalar_one()
        spec = services.specs.get(session, version_id)
    return spec, load_state(stored_state(services, ticket), spec.spec, spec.subprocess_specs,
                            services.script_engine)
