"""Case replay: the path a case took on the diagram of the version it ran on, each pass
through an element with who, when, how long (business hours and clock time), the
deadline and whether it was met, and the timeline of SLA timers, pauses on the customer
and assignments. Shown to staff who may see the case, on a page and through the API."""
from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import pytest

from engine import reassignment, replay, specs, tasks, versions
from engine.errors import NotFound
from engine.services import PROJECT_ROOT
from support.api import matches, openapi_document, token
from support.clock import START
from support.major_path import approve_plan, file_major, to_plan, work
from support.releases import adopt

HOUR = 3600
RELEASE_0_1 = Path(__file__).parent / "fixtures" / "release_0_1_instances.json"


def replay_of(desk, ticket, as_user="auditor") -> replay.Replay:
    with desk.services.db.read() as session:
        return replay.replay(desk.services, session, desk.actors[as_user], ticket)


def passes(found: replay.Replay, element_id: str) -> list[replay.Visit]:
    return [v for v in found.visits if v.element_id == element_id]


def diagram(found: replay.Replay, file: str) -> replay.Diagram:
    [shown] = [d for d in found.diagrams if d.file == file]
    return shown


def moments(found: replay.Replay, element_id: str) -> list[str]:
    return [m.kind for m in found.timeline if m.element_id == element_id]


# --------------------------------------------------------------------------- (a)

def test_a_case_rejected_twice_shows_three_passes_with_their_times(desk, clock):
    """Filed on a Wednesday at 10:00 in Shanghai; the customer rejects after one hour,
    the handler redrafts in two, the customer takes the night to reject again (20 hours,
    all of them counted: customer service records the answer and works 7x24, 001), then
    accepts."""
    ticket = desk.file()
    desk.run_until(ticket, "customer_decision")
    clock.advance(hours=1)
    desk.do(ticket, "customer_decision", customer_response="reject",
            customer_comment="Not enough, round 1")
    clock.advance(hours=2)
    desk.do(ticket, "propose_solution", measures="Replace the unit and refund shipping twice.")
    desk.do(ticket, "approve_solution")
    desk.do(ticket, "present_solution")
    clock.advance(hours=20)
    desk.do(ticket, "customer_decision", customer_response="reject",
            customer_comment="Not enough, round 2")
    desk.do(ticket, "propose_solution")
    desk.do(ticket, "approve_solution")
    desk.do(ticket, "customer_decision", customer_response="accept")

    found = replay_of(desk, ticket)
    assert (found.process_id, found.version) == ("complaint", 1)
    for element in ("customer_decision", "propose_solution", "approve_solution",
                    "gw_customer"):
        assert [v.loop for v in passes(found, element)] == [1, 2, 3], element
    assert [v.loop for v in passes(found, "script_count_rejection")] == [1, 2]
    assert [v.loop for v in passes(found, "check_record")] == [1]

    first, second, third = passes(found, "customer_decision")
    assert (first.clock_seconds, first.business_seconds) == (1 * HOUR, 1 * HOUR)
    assert (second.clock_seconds, second.business_seconds) == (20 * HOUR, 20 * HOUR)
    assert second.entered_at == START + dt.timedelta(hours=3)
    assert second.left_at == START + dt.timedelta(hours=23)
    assert second.paused and not second.breached  # the customer's time stops no clock
    assert (second.actor, second.on_behalf_of) == ("agent", "customer")
    assert second.data["customer_comment"] == "Not enough, round 2"
    assert third.data["customer_response"] == "accept"

    redraft = passes(found, "propose_solution")[1]
    assert (redraft.clock_seconds, redraft.business_seconds) == (2 * HOUR, 2 * HOUR)
    assert redraft.actor == "handler" and redraft.lane == "dept_handler"
    assert redraft.due_at is not None and not redraft.breached
    assert redraft.data["measures"] == "Replace the unit and refund shipping twice."

    complaint = diagram(found, "complaint.bpmn")
    assert complaint.own and found.diagrams[0] is complaint
    assert {"customer_decision": 3, "propose_solution": 3, "approve_solution": 3,
            "script_count_rejection": 2}.items() <= complaint.loops.items()
    assert "check_record" not in complaint.loops
    # The loop's flows are on the path; the branches never taken are not.
    assert {"flow_rejected", "flow_retry", "flow_accepted", "customer_decision"} <= set(
        complaint.completed)
    assert not {"handle_rejections", "inform_not_true", "major_path"} & set(
        complaint.completed)
    assert complaint.active == ["execute_solution"]
    assert [v.element_id for v in found.active] == ["execute_solution"]
    assert [d.file for d in found.diagrams] == ["complaint.bpmn"]  # never on the major path

    # Each wait on the customer pauses the SLA clock and starts it again.
    assert moments(found, "customer_decision").count("paused") == 3
    assert moments(found, "customer_decision").count("resumed") == 3
    # The named handler gets each redraft from the diagram.
    assert moments(found, "propose_solution").count("assigned") == 3


# --------------------------------------------------------------------------- (b)

def test_the_major_path_with_the_plan_sent_back_once(desk, clock):
    ticket = file_major(desk)
    to_plan(desk, ticket)
    work(desk, ticket, "capa_plan")
    clock.advance(hours=1)
    work(desk, ticket, "approve_plan_director")
    clock.advance(hours=2)
    work(desk, ticket, "approve_plan_gm", gm_plan_decision="reject",
         gm_plan_comment="Offer a refund as an alternative.")
    clock.advance(minutes=30)
    work(desk, ticket, "capa_plan", capa_corrective="Replace or refund, customer's choice.")
    approve_plan(desk, ticket, first="gm")

    found = replay_of(desk, ticket)
    assert (found.process_id, found.version) == ("complaint", 1)
    for element in ("capa_plan", "review_capa_plan", "approve_plan_director",
                    "approve_plan_gm"):
        assert [v.loop for v in passes(found, element)] == [1, 2], element
    director, _again = passes(found, "approve_plan_director")
    rejected, approved = passes(found, "approve_plan_gm")
    assert director.process_id == "capa_plan_review" and director.file == "major.bpmn"
    assert director.actor == "director" and director.lane == "cs_director"
    assert (director.clock_seconds, director.business_seconds) == (1 * HOUR, 1 * HOUR)
    assert rejected.actor == "gm" and rejected.lane == "gm_office"
    assert (rejected.clock_seconds, rejected.business_seconds) == (3 * HOUR, 3 * HOUR)
    assert rejected.data["gm_plan_decision"] == "reject"
    assert approved.data["gm_plan_decision"] == "approve"
    redraft = passes(found, "capa_plan")[1]
    assert redraft.clock_seconds == 30 * 60 and redraft.actor == "handler"
    # The supporting department's findings: one item of a multi-instance task.
    [support] = passes(found, "report_support_findings")
    assert support.actor == "handler2" and support.department == "logistics"

    # The complaint's own diagram: the major path called and running.
    complaint = diagram(found, "complaint.bpmn")
    assert "flow_major" in complaint.completed and complaint.active == ["major_path"]
    assert "dispatch" not in complaint.completed
    # The called processes' diagram: the sent-back loop, counted, and where it is now.
    major = diagram(found, "major.bpmn")
    assert {"capa_plan": 2, "review_capa_plan": 2, "approve_plan_director": 2,
            "approve_plan_gm": 2}.items() <= major.loops.items()
    assert {"flow_plan_rejected", "approve_plan_gm", "report_support_findings",
            "join_departments"} <= set(major.completed)
    assert major.active == ["present_capa_plan"]
    assert [d.file for d in found.diagrams] == ["complaint.bpmn", "major.bpmn"]
    assert {m.kind for m in found.timeline} >= {"subprocess_started", "subprocess_ended"}


# --------------------------------------------------------------------------- (c)

def test_a_breached_step_shows_its_deadline_and_the_sla_timers(desk, clock, actors):
    """Dispatch is due one working hour after receipt: the clock passes the reminder
    (75 %), the deadline and the escalation (200 %) before the agent dispatches."""
    ticket = desk.file()
    desk.do(ticket, "check_record")
    desk.do(ticket, "classify")
    for _stage in ("reminder", "breach", "escalation"):
        desk.wait_for_timers(ticket)
    clock.advance(minutes=30)
    desk.do(ticket, "dispatch")

    found = replay_of(desk, ticket)
    [dispatch] = passes(found, "dispatch")
    assert dispatch.due_at == START + dt.timedelta(hours=1)
    assert dispatch.breached
    assert dispatch.reminded_at < dispatch.breached_at < dispatch.escalated_at
    assert dispatch.clock_seconds == pytest.approx(2.5 * HOUR, abs=5)
    assert dispatch.business_seconds == pytest.approx(2.5 * HOUR, abs=5)
    # Deadlines count from receipt: the next step opened past its own and shows so.
    [confirm] = passes(found, "confirm_receipt")
    assert confirm.state == "active" and confirm.breached
    assert confirm.due_at == START + dt.timedelta(hours=2)

    assert moments(found, "dispatch") == [
        "opened", "reminder", "breach", "escalation", "completed"]
    # The fired timers are on the path: the boundary events and their notice branches.
    complaint = diagram(found, "complaint.bpmn")
    assert {"dispatch_reminder", "dispatch_breach", "dispatch_escalation",
            "dispatch_breach_end"} <= set(complaint.completed)
    assert "verify_breach" not in complaint.completed
    assert complaint.breached == ["dispatch", "confirm_receipt"]
    assert [v.type for v in passes(found, "dispatch_breach")] == ["boundaryEvent"]

    # The case history lists the SLA timers too, in time order.
    history = [(h.kind, h.detail.get("task")) for h in desk.case(ticket).history
               if h.kind.startswith("sla_") and h.detail.get("task") == "dispatch"]
    assert history == [("sla_reminder", "dispatch"), ("sla_breach", "dispatch"),
                       ("sla_escalation", "dispatch")]
    at = [h.at for h in desk.case(ticket).history]
    assert at == sorted(at)


def test_claims_and_reassignments_are_in_the_timeline(desk, services, actors, clock):
    ticket = desk.file()
    desk.run_until(ticket, "confirm_receipt")
    confirm = desk.task(ticket, "confirm_receipt")
    with services.db.write() as session:
        tasks.claim(session, actors["handler"], confirm.id, services.now())
    clock.advance(minutes=20)
    with services.db.write() as session:
        reassignment.reassign(session, actors["head"], confirm.id, "head", "Handler is on leave",
                       services.now())
    desk.do(ticket, "confirm_receipt", user="head")
    desk.do(ticket, "verify")  # the diagram gives it to the handler named on receipt

    found = replay_of(desk, ticket)
    assert moments(found, "confirm_receipt") == ["opened", "claimed", "reassigned",
                                                 "completed"]
    reassigned = [m for m in found.timeline if m.kind == "reassigned"][0]
    assert (reassigned.actor, reassigned.detail) == ("head", {
        "previous": "handler", "to": "head", "reason": "Handler is on leave"})
    [claimed] = [m for m in found.timeline if m.kind == "claimed"]
    assert claimed.actor == "handler"
    assert [v.actor for v in passes(found, "confirm_receipt")] == ["head"]
    assert moments(found, "verify")[:2] == ["opened", "assigned"]
    assert [m.detail for m in found.timeline
            if m.kind == "assigned" and m.element_id == "verify"] == [{"to": "handler"}]


# --------------------------------------------------------------------------- (d)

def test_a_case_on_an_old_version_replays_on_that_versions_diagram(desk, services):
    old = desk.file()
    desk.do(old, "check_record")
    changed = specs.read_directory(PROJECT_ROOT / "processes")["complaint.bpmn"].replace(
        b'name="Classify the complaint"', b'name="Classify and grade the complaint"')
    outcome = versions.deploy_bundle(services, {"complaint.bpmn": changed},
                                     note="Grading is part of classifying", actor="owner")
    assert [(v.process_id, v.version) for v in outcome.versions] == [("complaint", 2)]
    desk.do(old, "classify")
    new = desk.file()
    desk.do(new, "check_record")
    desk.do(new, "classify")

    before, after = replay_of(desk, old), replay_of(desk, new)
    assert (before.version, after.version) == (1, 2)
    old_xml, new_xml = before.diagrams[0].xml, after.diagrams[0].xml
    assert 'name="Classify the complaint"' in old_xml and "Classify and grade" not in old_xml
    assert 'name="Classify and grade the complaint"' in new_xml
    assert passes(before, "classify")[0].name == "Classify the complaint"
    assert passes(after, "classify")[0].name == "Classify and grade the complaint"
    assert before.diagrams[0].active == after.diagrams[0].active == ["dispatch"]


def test_cases_restored_from_an_earlier_release_replay_on_their_own_version(desk, services):
    """Instances an earlier release serialized, without task rows or audit events from
    before: the task tree alone gives the path."""
    release = json.loads(RELEASE_0_1.read_text())
    for n, saved in enumerate(release["instances"]):
        adopt(services, release["sources"], f"251000000{n + 1}", saved["state"])
    for n, saved in enumerate(release["instances"]):
        found = replay_of(desk, f"251000000{n + 1}")
        assert found.version == 2  # the shipped version is 1
        assert found.visits[0].element_id == "start_filed"
        assert [v.element_id for v in found.active] == [saved["open_task"]]
        assert found.diagrams[0].active == [saved["open_task"]]


# --------------------------------------------------------------------------- who sees it

def test_a_replay_is_shown_only_to_staff_who_may_see_the_case(desk):
    ticket = desk.file()
    desk.run_until(ticket, "confirm_receipt")
    for user in ("auditor", "supervisor", "director", "gm", "admin", "handler"):
        assert replay_of(desk, ticket, user).ticket == ticket
    for user in ("handler2", "owner"):  # another department; the process owner
        with pytest.raises(NotFound):
            replay_of(desk, ticket, user)


# --------------------------------------------------------------------------- pages, API

def test_the_replay_page_lists_each_pass_with_times_and_deadline(desk, clock, visitor):
    ticket = desk.file()
    desk.do(ticket, "check_record")
    desk.do(ticket, "classify")
    for _stage in ("reminder", "breach"):
        desk.wait_for_timers(ticket)
    desk.do(ticket, "dispatch")
    page = visitor("auditor").get(f"/cases/{ticket}/replay")
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    assert "Process complaint, version 1" in html
    assert 'data-replay="replay-diagram-1"' in html and "complaint.bpmn" in html
    assert html.count('data-element="dispatch"') >= 2  # the table row and the timeline
    assert "SLA deadline missed" in html and "SLA reminder sent" in html
    assert 'id="figure-breached" class="is-alert">1<' in html
    assert "Breached" in html and "working h" in html

    zh = visitor("auditor", accept_language="zh-CN").get(f"/cases/{ticket}/replay")
    assert zh.status_code == 200 and "Replay of" not in zh.get_data(as_text=True)


def test_the_case_page_shows_the_diagram_with_the_current_step(desk, visitor):
    ticket = desk.file()
    desk.run_until(ticket, "verify")
    html = visitor("handler").get(f"/cases/{ticket}").get_data(as_text=True)
    assert 'id="case-position"' in html and f"/cases/{ticket}/replay" in html
    assert "Now at: Preliminary verification." in html
    assert '"active": ["verify"]' in html or '"active":["verify"]' in html


def test_the_replay_call_returns_the_version_and_the_visited_elements(client, desk, clock):
    ticket = desk.file()
    desk.run_until(ticket, "customer_decision")
    clock.advance(hours=1)
    desk.do(ticket, "customer_decision", customer_response="reject", customer_comment="No")
    document = openapi_document(client)
    response = client.get(f"/api/v1/complaints/{ticket}/replay",
                          headers=token(client, "auditor"))
    assert response.status_code == 200
    body = response.get_json()
    matches(document, "Replay", body)
    assert (body["process_id"], body["version"]) == ("complaint", 1)
    elements = body["elements"]
    assert elements[0]["element_id"] == "start_filed"
    first = [e for e in elements if e["element_id"] == "customer_decision"]
    assert [e["loop"] for e in first] == [1]
    assert first[0]["actor"] == "agent" and first[0]["clock_hours"] == 1.0
    assert [e["loop"] for e in elements if e["element_id"] == "propose_solution"] == [1, 2]
    redraft = [e for e in elements if e["element_id"] == "propose_solution"][-1]
    assert redraft["left_at"] is None and redraft["state"] == "active"
    assert redraft["lane"] == "dept_handler" and redraft["type"] == "userTask"
    assert {"element_id", "name", "type", "lane", "entered_at", "left_at", "actor",
            "due_at", "breached", "loop"} <= set(redraft)

    outsider = client.get(f"/api/v1/complaints/{ticket}/replay",
                          headers=token(client, "handler2"))
    assert outsider.status_code == 404
    assert client.get(f"/api/v1/complaints/{ticket}/replay").status_code == 401
    missing = client.get("/api/v1/complaints/2611999999/replay",
                         headers=token(client, "auditor"))
    assert missing.status_code == 404
