"""Drivers for the major path (major.bpmn) through the services: a multi-instance task is
found by its department, each step is worked with its usual form data by its usual worker
unless a test says otherwise."""
from __future__ import annotations

from engine import runtime, tasks
from support.desk import GOOD, WORKER, do_earlier_steps


def base(name: str) -> str:
    """A multi-instance task's rows carry the instance spec name ("x [child]")."""
    return name.split(" [")[0]


def open_names(desk, ticket) -> list[str]:
    return sorted(f"{base(t.name)}@{t.department}" if t.department else base(t.name)
                  for t in desk.case(ticket).open_tasks)


def row(desk, ticket, name, department=None):
    rows = [t for t in desk.case(ticket).open_tasks
            if base(t.name) == name and (department is None or t.department == department)]
    assert len(rows) == 1, f"{name}@{department}: {open_names(desk, ticket)}"
    return rows[0]


def work(desk, ticket, name, actor=None, department=None, **data) -> dict:
    do_earlier_steps(desk, ticket, name)
    task = row(desk, ticket, name, department)
    actor = actor or desk.actors[WORKER[name]]
    return runtime.complete_task(desk.services, actor, task.id, {**GOOD.get(name, {}), **data})


def inbox(services, actor) -> list[tuple[str, str]]:
    with services.db.read() as session:
        return [(t.ticket, base(t.name)) for t in tasks.worklist(session, actor)]


def done_by(desk, ticket) -> list[tuple[str, str]]:
    return [(base(h.detail.get("task", "")), h.actor) for h in desk.case(ticket).history
            if h.kind == "task_completed"]


def file_major(desk, **record) -> str:
    record.setdefault("amount", 12000)
    ticket = desk.file(**record)
    desk.do(ticket, "check_record")
    desk.do(ticket, "classify", amount=record["amount"], grade=record.get("grade"))
    return ticket


def to_plan(desk, ticket, supports=("logistics",), support_actors=None):
    """A1-A4, confirmation, authenticity, leadership decision, departments, consolidation,
    the report to the general manager."""
    work(desk, ticket, "confirm_major")
    work(desk, ticket, "call_back_customer")
    work(desk, ticket, "name_departments", support_departments=list(supports))
    for department in supports:
        actor = (support_actors or {}).get(department) or desk.actors["handler2"]
        work(desk, ticket, "report_support_findings", actor, department,
             support_result=f"{department}: nothing abnormal on our side")
    work(desk, ticket, "lead_investigation", department="quality")
    work(desk, ticket, "consolidate_report")
    work(desk, ticket, "report_to_gm")


def approve_plan(desk, ticket, first="director"):
    order = ("approve_plan_director", "approve_plan_gm")
    for name in (order if first == "director" else order[::-1]):
        work(desk, ticket, name)


def to_execution(desk, ticket, **plan):
    to_plan(desk, ticket)
    work(desk, ticket, "capa_plan", **plan)
    approve_plan(desk, ticket)
    work(desk, ticket, "customer_confirm_plan")


def through_report(desk, ticket):
    for name in ("execute_capa", "inspect_capa", "compile_final_report",
                 "approve_report_director", "approve_report_gm"):
        work(desk, ticket, name)


def close_after_visit(desk, ticket) -> dict:
    assert open_names(desk, ticket) == []  # the visit waits 3 working days
    desk.wait_for_timers(ticket)
    assert open_names(desk, ticket) == ["follow_up"]
    return work(desk, ticket, "follow_up")
