"""A small driver for scenario tests: file complaints and work tasks through the services."""
from __future__ import annotations

import datetime as dt

from engine import cases, runtime, tasks
from engine.directory import Actor

RECORD = {
    "customer_name": "Wang Lei",
    "customer_phone": "13800138000",
    "customer_email": "wang.lei@example.com",
    "product": "Air purifier AP-300",
    "order_number": "SO-2611-0042",
    "description": "The purifier stopped working after three days; the fan makes a grinding noise.",
    "demand": "Replace the unit",
    "complaint_type": "product_quality",
    "amount": 899,
    "urgency": "normal",
    "spread_risk": False,
    "legal_threat": False,
    "routine_solvable": True,
}

# Form data that moves each general-path task along its usual branch.
GOOD = {
    "check_record": {"record_complete": True},
    "classify": {"complaint_type": "product_quality", "urgency": "normal", "amount": 899,
                 "spread_risk": False, "legal_threat": False, "routine_solvable": True},
    "dispatch": {"department": "quality", "dispatch_note": "Defective fan, please check."},
    "confirm_receipt": {"handler": "handler"},
    "verify": {"verification_result": "true", "verification_notes": "Batch 42 fan bearing fault."},
    "propose_solution": {"measures": "Replace the unit and refund shipping.",
                         "solution_deadline": "2026-11-28", "responsible_person": "Zhang Wei"},
    "approve_solution": {"head_decision": "approve"},
    "customer_decision": {"customer_response": "accept"},
    "execute_solution": {"execution_notes": "New unit delivered.", "executed_on": "2026-11-26"},
    "follow_up": {"satisfaction": "satisfied", "follow_up_channel": "phone", "new_problem": False},
}

# Who works each task in the demo directory.
WORKER = {
    "check_record": "agent", "supply_missing_facts": "agent", "classify": "agent",
    "dispatch": "agent", "confirm_receipt": "handler", "verify": "handler",
    "inform_not_true": "agent", "propose_solution": "handler", "approve_solution": "head",
    "customer_decision": "agent", "handle_rejections": "supervisor",
    "execute_solution": "handler", "follow_up": "agent",
    "major_awaiting_leadership": "leader",
}


class Desk:
    def __init__(self, services, actors: dict[str, Actor], clock=None):
        self.services = services
        self.actors = actors
        self.clock = clock

    def wait_for_timers(self, ticket: str) -> None:
        """Move the clock to the case's next timer (e.g. the follow-up wait) and fire it."""
        from engine import timers
        from engine.models import ProcessInstance
        from sqlalchemy import select
        with self.services.db.read() as session:
            due = session.execute(select(ProcessInstance.next_due_at).where(
                ProcessInstance.ticket == ticket)).scalar_one()
        assert due is not None, f"{ticket} waits on nothing"
        self.clock.now = max(self.clock.now, due) + dt.timedelta(seconds=1)
        timers.fire_due(self.services, "desk")

    def file(self, staff: str | None = "agent", **overrides) -> str:
        record = {**RECORD, **overrides}
        actor = self.actors[staff] if staff else None
        return runtime.file_complaint(self.services, record, staff=actor).ticket

    def case(self, ticket: str, as_user: str = "auditor") -> cases.CaseView:
        with self.services.db.read() as session:
            return cases.load_case(self.services, session, self.actors[as_user], ticket)

    def open_task_names(self, ticket: str) -> list[str]:
        return [t.name for t in self.case(ticket).open_tasks]

    def task(self, ticket: str, name: str) -> tasks.TaskView:
        matches = [t for t in self.case(ticket).open_tasks if t.name == name]
        assert matches, f"{name} is not open on {ticket}: {self.open_task_names(ticket)}"
        return matches[0]

    def do(self, ticket: str, name: str, user: str | None = None, **data) -> dict:
        task = self.task(ticket, name)
        form = {**GOOD.get(name, {}), **data}
        return runtime.complete_task(self.services, self.actors[user or WORKER[name]],
                                     task.id, form)

    def run_until(self, ticket: str, stop: str) -> None:
        """Work the usual branch until `stop` is the open task."""
        for _ in range(20):
            names = self.open_task_names(ticket)
            if stop in names:
                return
            if not names and self.clock is not None:
                self.wait_for_timers(ticket)
                continue
            assert len(names) == 1, names
            self.do(ticket, names[0])
        raise AssertionError(f"never reached {stop}")
