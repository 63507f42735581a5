"""Diagram code is bounded: what the sandbox would only refuse when a case runs into it is
refused at deploy with the file, element and line named, and a script that never ends is
stopped after its CPU time, failing its step with nothing saved while other requests go
on."""
from __future__ import annotations

import threading
import time

import pytest
from sqlalchemy import func, select

from engine import specs
from engine.errors import ProcessError
from engine.models import AuditEvent, ProcessInstance
from engine.scripting import SCRIPT_CPU_SECONDS
from engine.services import COMPLAINT_PROCESS

INIT_SCRIPT = "rejection_count = 0"


def deploy_with(services, old: str, new: str):
    sources = dict(specs.read_directory(services.processes_dir))
    text = sources["complaint.bpmn"].decode()
    assert old in text
    sources["complaint.bpmn"] = text.replace(old, new, 1).encode()
    with services.db.write() as session:
        return specs.deploy(session, sources, COMPLAINT_PROCESS, "owner")


@pytest.mark.parametrize("script, named", [
    ("rejection_count = getattr(0, 'real')", "line 1: getattr()"),
    ("rejection_count = 0\nnote = open('x').read()", "line 2: open()"),
    ("rejection_count = '{0}'.format(0)", "line 1: .format"),
    ("rejection_count = 0\nsecret = {'_x': 1}['_x']", "line 2: ['_x']"),
    ("rejection_count = type(0)", "line 1: type()"),
])
def test_run_time_refusals_are_refused_at_deploy_naming_file_element_and_line(
        services, script, named):
    with pytest.raises(specs.SpecError) as refused:
        deploy_with(services, INIT_SCRIPT, script)
    message = str(refused.value)
    assert message.startswith("complaint.bpmn: element script_init (Initialise counters), "
                              "script: ")
    assert named in message
    assert " at 0x" not in message and "<" not in message


def test_a_refused_expression_in_a_task_property_names_the_property(services):
    honest = "{'ticket': ticket, 'department': department}"
    with pytest.raises(specs.SpecError) as refused:
        deploy_with(services, honest, "{'ticket': '{0}'.format(ticket)}")
    assert "property notifyValues: line 1: .format" in str(refused.value)


def cases_and_events(services) -> tuple[int, int]:
    with services.db.read() as session:
        return (session.execute(select(func.count(ProcessInstance.id))).scalar_one(),
                session.execute(select(func.count(AuditEvent.id))).scalar_one())


def test_an_endless_script_is_stopped_and_saves_nothing_while_others_complete(
        desk, services, actors):
    waiting = desk.file()  # started on the shipped version: no loop on its path
    deploy_with(services, INIT_SCRIPT,
                "rejection_count = 0\nwhile True:\n    rejection_count += 1")
    before = cases_and_events(services)
    outcome = {}

    def file_into_the_loop():
        started = time.monotonic()
        try:
            desk.file()
        except ProcessError as exc:
            outcome["error"] = exc
        outcome["seconds"] = time.monotonic() - started

    looping = threading.Thread(target=file_into_the_loop)
    looping.start()
    desk.do(waiting, "check_record", record_complete=True)
    looping.join(timeout=30)
    assert not looping.is_alive()
    assert "CPU time" in str(outcome["error"]) and "script_init" in str(outcome["error"])
    assert outcome["seconds"] < SCRIPT_CPU_SECONDS + 5
    assert desk.open_task_names(waiting) == ["classify"]
    cases, events = cases_and_events(services)
    # Only the other request's step was saved: one task_completed event, no new case.
    assert (cases, events) == (before[0], before[1] + 1)


def test_the_time_limit_is_cpu_time_of_the_script_alone(services):
    """An ordinary expression evaluated many times in a row is never stopped: each run
    has its own limit."""
    engine = services.script_engine.environment
    started = time.thread_time()
    while time.thread_time() - started < SCRIPT_CPU_SECONDS * 1.5:
        assert engine.evaluate("sum(v for v in items) > 2", {"items": [1, 2, 3]}) is True


def test_a_failed_step_shows_on_the_case_page_once(desk, services, visitor):
    """The incident is in the case's history for staff (what failed, in its own words),
    and the same failure repeated is noted once."""
    ticket = desk.file()
    desk.run_until(ticket, "dispatch")
    deploy_with(services, "supervisor_copied = True",
                "supervisor_copied = missing_variable + 1")
    # A case runs on the version it started on: a new case meets the broken script.
    broken = desk.file()
    desk.run_until(broken, "dispatch")
    for _attempt in range(2):
        with pytest.raises(ProcessError):
            desk.do(broken, "dispatch")
    history = [e for e in desk.case(broken).history if e.kind == "step_failed"]
    assert len(history) == 1 and "missing_variable" in history[0].detail["problem"]
    page = visitor("supervisor").get(f"/cases/{broken}").get_data(as_text=True)
    assert "A step failed; nothing of it was saved" in page and "missing_variable" in page
    assert [e for e in desk.case(ticket).history if e.kind == "step_failed"] == []


def test_a_script_cannot_catch_its_time_limit(services):
    """`except Exception` around the loop does not swallow the stop."""
    from engine.scripting import ScriptTimeout
    engine = services.script_engine.environment
    started = time.monotonic()
    with pytest.raises(ScriptTimeout):
        engine.execute("x = 0\nwhile True:\n    try:\n        x += 1\n"
                       "    except Exception:\n        pass", {})
    assert time.monotonic() - started < SCRIPT_CPU_SECONDS + 5


@pytest.mark.parametrize("script, named", [
    ("rejection_count = 0\ntry:\n    pass\nexcept:\n    pass", "line 4: a bare except"),
    ("rejection_count = 0\ntry:\n    pass\nexcept BaseException:\n    pass",
     "line 4: a bare except"),
    ("rejection_count = 0\ntry:\n    pass\nfinally:\n    pass", "line 5: finally:"),
])
def test_handlers_that_could_outlive_the_time_limit_are_refused_at_deploy(
        services, script, named):
    with pytest.raises(specs.SpecError) as refused:
        deploy_with(services, INIT_SCRIPT, script)
    assert named in str(refused.value)
