"""A small driver for scenario tests: file complaints and work tasks through the services."""
from __future__ import annotations

import datetime as dt

from sqlalchemy import update

from engine import cases, runtime, tasks
from engine.directory import Actor
from engine.models import ProcessInstance

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
    "reply_on_social_media": {"social_platform": "weibo",
                              "social_reply": "Sorry about the kettle: your complaint is "
                                              "registered and we will call you today."},
    "check_record": {"record_complete": True},
    "classify": {"complaint_type": "product_quality", "urgency": "normal", "amount": 899,
                 "spread_risk": False, "legal_threat": False, "routine_solvable": True},
    "dispatch": {"department": "quality", "dispatch_note": "Defective fan, please check."},
    "confirm_receipt": {"handler": "handler"},
    "verify": {"verification_result": "true", "verification_notes": "Batch 42 fan bearing fault."},
    "propose_solution": {"measures": "Replace the unit and refund shipping.",
                         "solution_deadline": "2026-11-28", "responsible_person": "Zhang Wei"},
    "approve_solution": {"head_decision": "approve"},
    "present_solution": {"presented_channel": "phone",
                         "presented_note": "Explained the replacement by phone."},
    "customer_decision": {"customer_response": "accept"},
    "execute_solution": {"execution_notes": "New unit delivered.", "executed_on": "2026-11-26"},
    "follow_up": {"satisfaction": "satisfied", "follow_up_channel": "phone", "new_problem": False},
    # the major path (major.bpmn)
    "pass_to_department": {"department": "quality",
                           "pass_note": "Registration form attached; please verify at once."},
    "check_major_complaint": {"check_result": "true",
                              "check_notes": "Three units of batch 42 checked: bearings worn."},
    "report_check": {"check_report": "Batch 42 bearings fail after days; the complaint is true.",
                     "check_people_involved": "Assembly line 3"},
    "inform_gm_office": {"gm_briefing": "Verified by quality: batch 42 bearings are defective."},
    "confirm_major": {"major_confirmation": "confirm"},
    "call_back_customer": {"callback_outcome": "confirmed",
                           "authenticity_evidence": "Customer confirmed the failure by phone."},
    "name_departments": {"lead_department": "quality", "support_departments": ["logistics"]},
    "lead_investigation": {"lead_findings": "Fan bearings of batch 42 are out of tolerance.",
                           "lead_people_involved": "Assembly line 3"},
    "report_support_findings": {"support_result": "Shipments of batch 42 were handled normally."},
    "consolidate_report": {"report_event": "Purifiers of batch 42 stopped after three days.",
                           "report_result": "True: the bearing batch is defective.",
                           "report_people_involved": "Supplier QA, assembly line 3",
                           "root_cause": "The bearing supplier changed its tolerance.",
                           "cause_material": "Bearings out of tolerance",
                           "analysis_what": "Fan bearing failure"},
    "capa_plan": {"capa_corrective": "Replace every unit of batch 42.",
                  "capa_preventive": "Incoming inspection of every bearing lot.",
                  "capa_owner": "Zhang Wei", "capa_deadline": "2026-12-04",
                  "includes_return": False},
    "approve_plan_director": {"director_plan_decision": "approve"},
    "approve_plan_gm": {"gm_plan_decision": "approve"},
    "report_to_gm": {"gm_report": "Bearing batch 42 is defective; we propose replacing every unit."},
    "present_capa_plan": {"plan_presented_channel": "phone",
                          "plan_presented_note": "Explained the replacement plan by phone."},
    "customer_confirm_plan": {"customer_plan_response": "accept"},
    "execute_capa": {"capa_execution_notes": "All units of batch 42 replaced.",
                     "capa_report": "Replacement done; incoming inspection in place.",
                     "capa_completed_on": "2026-12-03"},
    "inspect_capa": {"inspection_result": "pass"},
    "compile_final_report": {"report_text": "Your purifier failed because of a defective "
                                            "bearing batch. We replaced it and now inspect "
                                            "every lot."},
    "approve_report_director": {"director_report_decision": "approve"},
    "approve_report_gm": {"gm_report_decision": "approve"},
    "gm_opinion": {"gm_consolidated_opinion": "Supplier lot failure; inspection gap at quality."},
    "assign_responsibility": {"responsible_people": "Supplier QA contact",
                              "responsible_departments": ["quality"], "loss_amount": 12000,
                              "penalty_reward": "Warning for incoming inspection",
                              "supplier_responsible": False},
    "review_responsibility": {"responsibility_response": "accept"},
    "decide_petition": {"petition_decision": "uphold",
                        "petition_decision_note": "The inspection gap is the department's."},
    "handle_supplier_responsibility": {"supplier_units": "Bearing Co. Ltd, lot 42",
                                       "supplier_action": "Claim for the replaced units"},
    "receive_returned_goods": {"returns_received_on": "2026-12-01", "returns_quantity": 1},
    "inspect_returned_goods": {"returns_inspection_result": "defect_confirmed",
                               "returns_inspection_notes": "Bearing worn after 3 days.",
                               "returns_photo_refs": "IMG_0042.jpg, IMG_0043.jpg"},
    "warehouse_returned_goods": {"returns_disposition": "return_to_supplier",
                                 "returns_warehouse_location": "Returns area B-12",
                                 "returns_warehoused_on": "2026-12-02"},
    # the improvement process (improvement.bpmn)
    "summarise_improvement": {"case_summary": "Defective bearing lot reached customers.",
                              "improvement_measures": "Incoming inspection of bearing lots.",
                              "improvement_owner": "Zhang Wei",
                              "improvement_deadline": "2027-01-31"},
    "approve_improvement": {"improvement_decision": "approve"},
    "execute_improvement": {"improvement_execution_notes": "Inspection station set up.",
                            "improvement_completed_on": "2027-01-20"},
    "confirm_improvement_effect": {"improvement_effect": "effective",
                                   "improvement_effect_notes": "No failures since."},
    "share_lessons": {"lessons_learned": "Inspect every supplier lot on arrival.",
                      "lessons_shared_with": ["logistics", "sales"],
                      "lessons_shared_on": "2027-02-01"},
}

# Who works each task in the demo directory.
WORKER = {
    "reply_on_social_media": "agent", "check_record": "agent", "supply_missing_facts": "agent", "classify": "agent",
    "dispatch": "agent", "confirm_receipt": "handler", "verify": "handler",
    "inform_not_true": "agent", "propose_solution": "handler", "approve_solution": "head",
    "present_solution": "agent", "customer_decision": "agent", "handle_rejections": "supervisor",
    "execute_solution": "handler", "follow_up": "agent",
    "pass_to_department": "agent", "check_major_complaint": "head", "report_check": "head",
    "inform_gm_office": "agent", "report_to_gm": "agent", "present_capa_plan": "agent",
    "gm_opinion": "gm", "confirm_major": "gm", "call_back_customer": "agent", "name_departments": "leader",
    "lead_investigation": "handler", "report_support_findings": "handler2",
    "consolidate_report": "handler", "capa_plan": "handler",
    "approve_plan_director": "director", "approve_plan_gm": "gm",
    "customer_confirm_plan": "agent", "execute_capa": "handler", "inspect_capa": "director",
    "compile_final_report": "agent", "approve_report_director": "director",
    "approve_report_gm": "gm", "assign_responsibility": "gm", "review_responsibility": "head",
    "decide_petition": "gm", "handle_supplier_responsibility": "gm",
    "receive_returned_goods": "handler2", "inspect_returned_goods": "handler2",
    "warehouse_returned_goods": "handler2",
    "summarise_improvement": "handler", "approve_improvement": "gm",
    "execute_improvement": "handler", "share_lessons": "director",
}

# Steps on the usual branch just before another one: a test that asks for the later step
# has them done first, in time (the customer answers what customer service presented; the
# GM office confirms after A1-A4 of 002).
DONE_BEFORE = {"customer_decision": ("present_solution",),
               "customer_confirm_plan": ("present_capa_plan",),
               "confirm_major": ("pass_to_department", "check_major_complaint", "report_check",
                                 "inform_gm_office"),
               "capa_plan": ("report_to_gm",),
               "assign_responsibility": ("gm_opinion",)}


def do_earlier_steps(desk, ticket: str, name: str) -> None:
    for earlier in DONE_BEFORE.get(name, ()):
        names = [t.name.split(" [")[0] for t in desk.case(ticket).open_tasks]
        if name in names:
            return
        if earlier in names:
            desk.do(ticket, earlier)


class Desk:
    def __init__(self, services, actors: dict[str, Actor], clock=None):
        self.services = services
        self.actors = actors
        self.clock = clock

    def wait_for_timers(self, ticket: str) -> None:
        """Move the clock to the case's next timer (e.g. the follow-up wait) and fire it."""
        from engine import timers
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
        do_earlier_steps(self, ticket, name)
        task = self.task(ticket, name)
        form = {**GOOD.get(name, {}), **data}
        return runtime.complete_task(self.services, self.actors[user or WORKER[name]],
                                     task.id, form)

    def run_until(self, ticket: str, stop: str) -> None:
        """Work the usual branch until `stop` is the open task."""
        for _ in range(40):
            names = self.open_task_names(ticket)
            if stop in names:
                return
            if not names and self.clock is not None:
                self.wait_for_timers(ticket)
                continue
            assert len(names) == 1, names
            self.do(ticket, names[0])
        raise AssertionError(f"never reached {stop}")


def customer_reads(services, ticket: str, locale: str) -> None:
    """Record the customer's language as if they had asked for it when filing."""
    with services.db.write() as session:
        session.execute(update(ProcessInstance).where(ProcessInstance.ticket == ticket)
                        .values(customer_locale=locale))
