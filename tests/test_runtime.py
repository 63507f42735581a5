"""Runtime guarantees: tickets, version pinning, rollback, concurrency, audit, validation."""
from __future__ import annotations

import datetime as dt
import threading

import pytest
from sqlalchemy import func, select

from engine import audit, bootstrap, intake, runtime, specs
from engine.errors import AlreadyCompleted, NotFound, ProcessError
from engine.forms import FormInvalid
from engine.models import AuditEvent, HumanTask, InstanceState, ProcessInstance
from engine.services import COMPLAINT_PROCESS


def deploy_variant(services, old: bytes, new: bytes) -> int:
    sources = dict(specs.read_directory(services.processes_dir))
    assert old in sources["complaint.bpmn"]
    sources["complaint.bpmn"] = sources["complaint.bpmn"].replace(old, new)
    with services.db.write() as session:
        version, created = specs.deploy(session, sources, COMPLAINT_PROCESS, "owner")
    assert created
    return version.version


def test_ticket_numbers_follow_the_company_month(desk, clock):
    first = desk.file()
    second = desk.file()
    assert first == "2611000001" and second == "2611000002"
    clock.now = dt.datetime(2026, 11, 30, 16, 30, tzinfo=dt.timezone.utc)  # Dec 1st in Shanghai
    assert desk.file() == "2612000001"


def test_concurrent_intake_gives_unique_tickets(services):
    from support.desk import RECORD
    customer_record = {k: v for k, v in RECORD.items() if intake.customer_may_set(k)}
    tickets, errors = [], []
    barrier = threading.Barrier(8)

    def file_some():
        barrier.wait()
        for _ in range(5):
            try:
                tickets.append(runtime.file_complaint(services, customer_record).ticket)
            except Exception as exc:  # noqa: BLE001 - collected for the assertion
                errors.append(exc)

    threads = [threading.Thread(target=file_some) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    assert len(tickets) == 40 and len(set(tickets)) == 40
    assert sorted(int(t[4:]) for t in tickets) == list(range(1, 41))


def test_instances_stay_on_the_version_they_started_on(desk, services):
    old_case = desk.file()
    deploy_variant(services, b'name="Classify the complaint"', b'name="Classify this complaint"')
    new_case = desk.file()
    desk.do(old_case, "check_record")
    desk.do(new_case, "check_record")
    assert desk.task(old_case, "classify").title == "Classify the complaint"
    assert desk.task(new_case, "classify").title == "Classify this complaint"
    assert desk.case(old_case).process_version == 1
    assert desk.case(new_case).process_version == 2


def test_a_failing_script_rolls_everything_back(desk, services):
    deploy_variant(services, b"supervisor_copied = True",
                   b"supervisor_copied = missing_variable + 1")
    ticket = desk.file()
    desk.do(ticket, "check_record")
    desk.do(ticket, "classify")
    dispatch = desk.task(ticket, "dispatch")
    with services.db.read() as session:
        before = session.execute(select(ProcessInstance.revision, InstanceState.state).join(
            InstanceState, InstanceState.instance_id == ProcessInstance.id).where(
            ProcessInstance.ticket == ticket)).one()
        last_event = session.execute(select(func.max(AuditEvent.id))).scalar_one()
    with pytest.raises(ProcessError) as failed:
        desk.do(ticket, "dispatch")
    assert "missing_variable" in str(failed.value)
    with services.db.read() as session:
        after = session.execute(select(ProcessInstance.revision, InstanceState.state).join(
            InstanceState, InstanceState.instance_id == ProcessInstance.id).where(
            ProcessInstance.ticket == ticket)).one()
        assert after == before
        # Nothing of the step was saved; the case notes the incident (one event).
        new_events = session.execute(select(AuditEvent.kind, AuditEvent.detail).where(
            AuditEvent.id > last_event).order_by(AuditEvent.id)).all()
        assert [kind for kind, _detail in new_events] == ["step_failed"]
        assert "missing_variable" in new_events[0].detail["problem"]
        row = session.get(HumanTask, dispatch.id)
        assert row.state == "ready" and row.assignee_id is None
    assert desk.open_task_names(ticket) == ["dispatch"]


def test_concurrent_completion_of_the_same_task(desk, services, actors):
    ticket = desk.file()
    task = desk.task(ticket, "check_record")
    barrier = threading.Barrier(2)
    outcomes = []

    def complete(user):
        barrier.wait()
        try:
            runtime.complete_task(services, actors[user], task.id, {"record_complete": True})
            outcomes.append("ok")
        except AlreadyCompleted:
            outcomes.append("already")

    threads = [threading.Thread(target=complete, args=(u,)) for u in ("agent", "supervisor")]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(outcomes) == ["already", "ok"]
    assert desk.open_task_names(ticket) == ["classify"]


def test_form_data_is_validated_before_the_engine_sees_it(desk, services, actors):
    ticket = desk.file()
    task = desk.task(ticket, "check_record")
    for bad, field in (({"record_complete": "yes please"}, "record_complete"),
                       ({}, "record_complete"),
                       ({"record_complete": False}, "missing_facts"),
                       ({"record_complete": True, "typename": "x"}, "typename")):
        with pytest.raises(FormInvalid) as invalid:
            runtime.complete_task(services, actors["agent"], task.id, bad)
        assert field in invalid.value.fields
    with pytest.raises(FormInvalid):
        runtime.complete_task(services, actors["agent"], task.id, ["not", "an", "object"])
    assert desk.open_task_names(ticket) == ["check_record"]


def test_unknown_task_ids(services, actors):
    for unknown in ("00000000-0000-0000-0000-000000000000", "nonsense", ""):
        with pytest.raises(NotFound):
            runtime.complete_task(services, actors["agent"], unknown, {})


def test_cancel_records_the_reason_and_closes_open_tasks(desk, services, actors):
    ticket = desk.file()
    with pytest.raises(FormInvalid):
        runtime.cancel(services, actors["supervisor"], ticket, " ")
    runtime.cancel(services, actors["supervisor"], ticket, "Duplicate of 2611000002")
    case = desk.case(ticket)
    assert case.status == "cancelled" and case.open_tasks == []
    assert case.history[-1].detail["reason"] == "Duplicate of 2611000002"
    with pytest.raises(AlreadyCompleted):
        runtime.cancel(services, actors["supervisor"], ticket, "again")


def test_audit_chain_is_intact_and_detects_tampering(desk, services):
    ticket = desk.file()
    desk.run_until(ticket, "verify")
    with services.db.read() as session:
        assert all(v is None for v in audit.verify_all(session).values())
    with services.db.write() as session:
        event = session.execute(select(AuditEvent).where(
            AuditEvent.kind == "task_completed").order_by(AuditEvent.id)).scalars().first()
        event.actor = "someone_else"
    with services.db.read() as session:
        broken = audit.verify_all(session)
        assert broken[event.chain] == event.id


def test_state_is_saved_after_every_step_and_reloads(desk, services):
    ticket = desk.file()
    desk.run_until(ticket, "propose_solution")
    fresh = type(services).create(services.db.url)  # a new process: nothing cached
    fresh.clock = services.clock
    try:
        with fresh.db.read() as session:
            instance = session.execute(select(ProcessInstance).where(
                ProcessInstance.ticket == ticket)).scalar_one()
            data = runtime.case_data(fresh, instance)
            state = session.get(InstanceState, instance.id).state
        assert data["handler"] == "handler" and data["verification_result"] == "true"
        assert '"spec"' not in state  # the spec is stored once per version
    finally:
        fresh.db.dispose()


def test_demo_directory_is_created_once(services):
    again = bootstrap.create_demo_directory(services)
    assert len(again) == len(bootstrap.DEMO_USERS)
