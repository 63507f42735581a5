"""The case run: one load, one commit, the revision check, and a step's effects written
together or not at all."""
from __future__ import annotations

import datetime as dt
import logging

import pytest
from sqlalchemy import delete, func, select, update
from SpiffWorkflow.util.task import TaskState

from engine import audit, case_run, runtime, task_forms, task_walks, timers
from engine.case_run import CaseRun
from engine.errors import AlreadyCompleted
from engine.models import (
    AuditEvent, AuditHead, HumanTask, InstanceState, Notification, OutboxMessage, ProcessInstance,
)
from support.major_path import file_major, work
from support.pages import csrf
from support.people import add_user


def _snapshot(services, ticket: str) -> tuple:
    with services.db.read() as session:
        instance = session.execute(select(ProcessInstance).where(
            ProcessInstance.ticket == ticket)).scalar_one()
        state = session.get(InstanceState, instance.id).state
        rows = sorted(session.execute(select(HumanTask.id, HumanTask.state).where(
            HumanTask.instance_id == instance.id)).all())
        events = session.execute(select(AuditEvent.id).where(
            AuditEvent.instance_id == instance.id)).scalars().all()
        return instance.revision, state, rows, events


def test_a_step_saves_only_on_the_revision_it_was_loaded_with(desk, services, actors):
    """Another step committed between this step's load and its save: this one fails with
    AlreadyCompleted and leaves nothing behind."""
    ticket = desk.file()
    task_id = desk.task(ticket, "check_record").id
    before = _snapshot(services, ticket)
    with pytest.raises(AlreadyCompleted):
        with services.db.write() as session:
            run, row = CaseRun.for_task(services, session, task_id)
            run.complete(row, actors["agent"], {"record_complete": True})
            # What a concurrent step would have done in the meantime.
            session.connection().execute(update(ProcessInstance.__table__).where(
                ProcessInstance.__table__.c.id == run.case.id).values(
                revision=ProcessInstance.__table__.c.revision + 1))
            run.commit()
    assert _snapshot(services, ticket) == before
    assert desk.open_task_names(ticket) == ["check_record"]


def test_every_step_bumps_the_revision_once(desk, services):
    ticket = desk.file()
    first = _snapshot(services, ticket)[0]
    desk.do(ticket, "check_record", record_complete=True)
    assert _snapshot(services, ticket)[0] == first + 1


def test_a_case_run_commits_once(desk, services, actors):
    ticket = desk.file()
    task_id = desk.task(ticket, "check_record").id
    with pytest.raises(RuntimeError):
        with services.db.write() as session:
            run, row = CaseRun.for_task(services, session, task_id)
            run.complete(row, actors["agent"], {"record_complete": True})
            run.commit()
            run.commit()
    assert desk.open_task_names(ticket) == ["check_record"]


def test_a_task_completion_reads_the_workflow_once(desk, services, actors, monkeypatch):
    ticket = desk.file()
    task_id = desk.task(ticket, "check_record").id
    loads = []
    real = case_run.load_state
    monkeypatch.setattr(case_run, "load_state", lambda *a: loads.append(1) or real(*a))
    runtime.complete_task(services, actors["agent"], task_id, {"record_complete": True})
    assert len(loads) == 1
    assert desk.open_task_names(ticket) == ["classify"]


def test_a_read_of_the_case_never_saves(desk, services):
    ticket = desk.file()
    before = _snapshot(services, ticket)
    with services.db.read() as session:
        instance_id = session.execute(select(ProcessInstance.id).where(
            ProcessInstance.ticket == ticket)).scalar_one()
        run = CaseRun.read(services, session, instance_id)
        assert run.data["ticket"] == ticket
        with pytest.raises(RuntimeError):
            run.commit()
    assert _snapshot(services, ticket) == before


def test_the_audit_head_follows_the_last_event_and_truncation_shows(desk, services):
    """The database moves a chain's head with every event (migration 0010): the chain
    verifies after many steps, and deleting its newest event is detected."""
    ticket = desk.file()
    desk.run_until(ticket, "verify")
    with services.db.read() as session:
        assert all(broken is None for broken in audit.verify_all(session).values())
        instance_id = session.execute(select(ProcessInstance.id).where(
            ProcessInstance.ticket == ticket)).scalar_one()
        chain = audit.chain_for(instance_id)
        last = session.execute(select(AuditEvent).where(AuditEvent.chain == chain)
                               .order_by(AuditEvent.id.desc())).scalars().first()
        assert session.get(AuditHead, chain).last_hash == last.hash
    with services.db.write() as session:
        session.execute(delete(AuditEvent).where(AuditEvent.id == last.id))
    with services.db.read() as session:
        assert audit.verify_chain(session, chain) == -1


def test_events_of_one_step_chain_in_order(desk, services, actors):
    """A step that closes a case writes its task_completed and case_closed events in one
    insert, each holding the hash of the one before."""
    ticket = desk.file()
    desk.run_until(ticket, "verify")
    desk.do(ticket, "verify", verification_result="not_true",
            verification_notes="Not our product")
    desk.do(ticket, "inform_not_true", explanation="Damage after delivery.",
            informed_via="phone")
    with services.db.read() as session:
        events = session.execute(select(AuditEvent).join(
            ProcessInstance, ProcessInstance.id == AuditEvent.instance_id).where(
            ProcessInstance.ticket == ticket).order_by(AuditEvent.id)).scalars().all()
        assert all(b.prev_hash == a.hash for a, b in zip(events, events[1:]))
        assert audit.verify_chain(session, events[0].chain) is None
    assert [e.kind for e in events[-2:]] == ["task_completed", "case_closed"]
    assert events[-1].at == events[-2].at and events[-1].actor == events[-2].actor == "agent"


def test_a_task_page_post_reads_the_case_and_the_choice_lists_once(desk, visitor, monkeypatch):
    """Posting the dispatch form (whose department list comes from the directory) loads
    the workflow once and reads the departments once: the form is known from the same
    read that completes the task."""
    ticket = desk.file()
    desk.run_until(ticket, "dispatch")
    task_id = desk.task(ticket, "dispatch").id
    agent = visitor("agent")
    token = csrf(agent.get(f"/tasks/{task_id}").get_data(as_text=True))
    loads, department_reads = [], []
    real_load, real_departments = case_run.load_state, task_forms.departments
    monkeypatch.setattr(case_run, "load_state",
                        lambda *a: loads.append(1) or real_load(*a))
    monkeypatch.setattr(task_forms, "departments",
                        lambda *a: department_reads.append(1) or real_departments(*a))
    response = agent.client.post(f"/tasks/{task_id}", data={
        "department": "quality", "dispatch_note": "Defective fan.", "csrf_token": token})
    assert response.status_code == 302
    assert (len(loads), len(department_reads)) == (1, 1)
    assert desk.open_task_names(ticket) == ["confirm_receipt"]


def test_a_refused_task_page_post_shows_the_form_again_with_the_input(desk, visitor):
    ticket = desk.file()
    desk.run_until(ticket, "dispatch")
    task_id = desk.task(ticket, "dispatch").id
    response = visitor("agent").post(f"/tasks/{task_id}", {"department": "nowhere",
                                                           "dispatch_note": "Kept text"})
    assert response.status_code == 422
    page = response.get_data(as_text=True)
    assert "Kept text" in page and 'name="department"' in page
    assert desk.open_task_names(ticket) == ["dispatch"]


TASK_STATES = (TaskState.MAYBE, TaskState.LIKELY, TaskState.FUTURE, TaskState.WAITING,
               TaskState.READY, TaskState.STARTED, TaskState.COMPLETED, TaskState.ERROR,
               TaskState.CANCELLED)


def test_a_step_sees_the_tasks_in_spiffworkflows_own_order(desk, services):
    """The case run walks the task tree itself (parallel branches, multi-instance tasks,
    subprocesses): the same tasks in the order SpiffWorkflow's get_tasks() gives, so data
    merged from parallel ready tasks and new task rows come out as before."""
    ticket = file_major(desk)
    seen_subprocess = seen_finished_subprocess = False
    for step in (lambda: work(desk, ticket, "confirm_major"),
                 lambda: work(desk, ticket, "call_back_customer"),
                 lambda: work(desk, ticket, "name_departments",
                              support_departments=["logistics", "sales"]),
                 lambda: work(desk, ticket, "report_support_findings",
                              desk.actors["handler2"], "logistics"),
                 lambda: work(desk, ticket, "report_support_findings",
                              add_user(services, "handler3", ["dept_handler"], "sales"),
                              "sales"),
                 lambda: work(desk, ticket, "lead_investigation", department="quality"),
                 *[lambda name=name: work(desk, ticket, name) for name in (
                     "consolidate_report", "report_to_gm", "capa_plan",
                     "approve_plan_director", "approve_plan_gm")]):
        step()
        with services.db.read() as session:
            instance_id = session.execute(select(ProcessInstance.id).where(
                ProcessInstance.ticket == ticket)).scalar_one()
            workflow = CaseRun.read(services, session, instance_id).workflow
        seen_subprocess |= bool(workflow.subprocesses)
        seen_finished_subprocess |= any(workflow.get_task_from_id(task_id).has_state(
            TaskState.FINISHED_MASK) for task_id in workflow.subprocesses)
        assert list(task_walks.depth_first(workflow)) == workflow.get_tasks()
        # The engine's own queries (tasks in some states, user tasks or not) take a
        # shorter walk that must find what SpiffWorkflow's iterator finds, in its order.
        for part in (workflow, *workflow.subprocesses.values()):
            for state in (*TASK_STATES, TaskState.FINISHED_MASK, TaskState.NOT_FINISHED_MASK,
                          TaskState.DEFINITE_MASK, TaskState.PREDICTED_MASK,
                          TaskState.ANY_MASK):
                for manual in (None, True, False):
                    expected = task_walks._get_tasks(part, state=state, manual=manual)
                    assert part.get_tasks(state=state, manual=manual) == expected
                    if manual is None:
                        assert part.get_tasks(state=state) == expected
    assert seen_subprocess and seen_finished_subprocess


def test_the_audit_chain_holds_through_a_whole_case(desk, services):
    """Steps that write several events at once (a task completed and the case closed,
    timers fired) link them to the chain as every other event: the chain verifies."""
    ticket = desk.file()
    desk.run_until(ticket, "follow_up")
    desk.wait_for_timers(ticket)  # the follow-up visit's reminder fires
    assert desk.do(ticket, "follow_up")["status"] == "closed"
    with services.db.read() as session:
        instance_id = session.execute(select(ProcessInstance.id).where(
            ProcessInstance.ticket == ticket)).scalar_one()
        kinds = session.execute(select(AuditEvent.kind).where(
            AuditEvent.instance_id == instance_id).order_by(AuditEvent.id)).scalars().all()
        assert kinds[-2:] == ["task_completed", "case_closed"] and "timers_fired" in kinds
        assert all(broken is None for broken in audit.verify_all(session).values())


def _due_dispatch_cases(desk, services, clock, count: int) -> list[int]:
    """`count` cases waiting at dispatch with all three of its SLA timers due, leased to
    the worker "w"."""
    tickets = [desk.file() for _ in range(count)]
    for ticket in tickets:
        desk.run_until(ticket, "dispatch")
    with services.db.read() as session:
        ids = list(session.execute(select(ProcessInstance.id).where(
            ProcessInstance.ticket.in_(tickets)).order_by(ProcessInstance.id)).scalars())
        latest = max(session.execute(select(ProcessInstance.next_due_at)).scalars())
    clock.now = latest + dt.timedelta(days=30)
    assert sorted(timers.claim(services, "w", clock.now, limit=count)) == ids
    return ids


def _last_ids(services) -> tuple[int, int, int]:
    """The newest audit event, notice and mail before firing."""
    with services.db.read() as session:
        return tuple(session.execute(select(func.coalesce(func.max(model.id), 0))).scalar_one()
                     for model in (AuditEvent, Notification, OutboxMessage))


def _effects(services, instance_id: int, since: tuple[int, int, int]) -> dict:
    """What firing did to one case, with its ticket and task ids left out (they differ
    from case to case)."""
    last_event, last_notice, last_mail = since
    with services.db.read() as session:
        case = session.get(ProcessInstance, instance_id)
        task_ids = session.execute(select(HumanTask.id).where(
            HumanTask.instance_id == instance_id)).scalars().all()

        def same(text):
            text = str(text).replace(case.ticket, "TICKET")
            for task_id in task_ids:
                text = text.replace(task_id, "TASK")
            return text
        events = [(e.kind, e.actor, same(e.detail)) for e in session.execute(
            select(AuditEvent).where(AuditEvent.instance_id == instance_id,
                                     AuditEvent.id > last_event)
            .order_by(AuditEvent.id)).scalars()]
        notices = [(n.kind, n.recipient_role, n.recipient_user_id, n.recipient_department,
                    same(n.subject), same(n.body), n.message_id, same(n.message_values))
                   for n in session.execute(select(Notification).where(
                       Notification.instance_id == instance_id, Notification.id > last_notice)
                       .order_by(Notification.id)).scalars()]
        mails = sorted((m.to_address, same(m.subject), same(m.body_text))
                       for m in session.execute(select(OutboxMessage).where(
                           OutboxMessage.instance_id == instance_id,
                           OutboxMessage.id > last_mail)).scalars())
        rows = sorted((r.name, r.state, r.reminded_at, r.breached_at, r.escalated_at)
                      for r in session.execute(select(HumanTask).where(
                          HumanTask.instance_id == instance_id)).scalars())
        chain = audit.verify_chain(session, audit.chain_for(instance_id))
    return {"case": (case.status, case.revision, case.next_due_at, case.lease_owner,
                     case.lease_until),
            "events": events, "notices": notices, "mails": mails, "rows": rows,
            "chain_break": chain}


def test_a_group_of_cases_fires_as_each_case_fires_on_its_own(desk, services, clock):
    """Firing cases together (one load, one batch of writes) leaves each case as firing
    it alone does: the same audit events, notices, mails, SLA marks, released lease."""
    ids = _due_dispatch_cases(desk, services, clock, 6)
    together, alone = ids[:3], ids[3:]
    since = _last_ids(services)
    assert timers.fire_group(services, together, "w") == 3
    for instance_id in alone:
        assert timers.fire(services, instance_id, "w") == [
            "reminder:dispatch", "breach:dispatch", "escalation:dispatch"]
    effects = [_effects(services, instance_id, since) for instance_id in ids]
    assert all(e == effects[-1] for e in effects)
    assert effects[0]["case"][3:] == (None, None) and effects[0]["chain_break"] is None
    assert [kind for kind, *_ in effects[0]["events"]] == ["timers_fired"]
    assert len(effects[0]["notices"]) == 3 and effects[0]["mails"]


def test_a_case_whose_revision_changed_under_its_group_still_fires_once(
        desk, services, clock, monkeypatch):
    """A concurrent step on one case of a group fails the group's revision check: the
    group is rolled back and its cases fire one by one, each exactly once."""
    ids = _due_dispatch_cases(desk, services, clock, 3)
    fire_timers, moved = CaseRun.fire_timers, []

    def step_meanwhile(run, worker=None):
        if run.case.id == ids[1] and not moved:
            moved.append(run.case.id)
            run.session.connection().execute(update(ProcessInstance.__table__).where(
                ProcessInstance.__table__.c.id == run.case.id).values(
                revision=ProcessInstance.__table__.c.revision + 1))
        fire_timers(run, worker)
    monkeypatch.setattr(CaseRun, "fire_timers", step_meanwhile)
    assert timers.fire_group(services, ids, "w") == 3
    assert moved == [ids[1]]
    with services.db.read() as session:
        fired = session.execute(select(AuditEvent.instance_id).where(
            AuditEvent.kind == "timers_fired")).scalars().all()
        notices = session.execute(select(Notification.instance_id).where(
            Notification.kind.like("sla_%"))).scalars().all()
        leased = session.execute(select(func.count()).where(
            ProcessInstance.id.in_(ids), ProcessInstance.lease_owner.is_not(None))).scalar_one()
    assert sorted(fired) == ids
    assert sorted(notices) == sorted(ids * 3)
    assert leased == 0


def test_a_group_that_lost_a_revision_check_writes_nothing(desk, services, clock):
    """The revision checks of a group written in one batch are verified once the batch
    has run: one lost check fails the whole group, and its rollback leaves nothing."""
    ids = _due_dispatch_cases(desk, services, clock, 3)
    with pytest.raises(AlreadyCompleted):
        with services.db.write() as session:
            runs = CaseRun.for_instances(services, session, ids, clock.now)
            assert [run.case.id for run in runs] == ids
            for run in runs:
                run.fire_timers("w")
            session.connection().execute(update(ProcessInstance.__table__).where(
                ProcessInstance.__table__.c.id == ids[2]).values(
                revision=ProcessInstance.__table__.c.revision + 1))
            CaseRun.commit_group(runs)
    with services.db.read() as session:
        assert not session.execute(select(AuditEvent.id).where(
            AuditEvent.kind == "timers_fired")).first()
        assert not session.execute(select(Notification.id).where(
            Notification.kind.like("sla_%"))).first()


def test_spiffworkflow_still_logs_state_changes_when_its_log_is_on(desk, caplog):
    """The engine builds SpiffWorkflow's state-change records only for a logger that
    takes them; an operator who turns `spiff.task` up still gets each one in full."""
    ticket = desk.file()
    with caplog.at_level(logging.INFO, logger="spiff.task"):
        desk.do(ticket, "check_record")
    changed = [r for r in caplog.records if r.name == "spiff.task"
               and r.getMessage() == "State changed to COMPLETED"]
    assert any(r.task_spec == "check_record" and r.workflow_spec == "complaint"
               for r in changed)
    caplog.clear()
    with caplog.at_level(logging.WARNING, logger="spiff.task"):
        desk.do(ticket, "classify")
    assert not [r for r in caplog.records if r.name == "spiff.task"]
