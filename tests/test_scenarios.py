"""Dry-run scenarios: every shipped scenario passes through the real engine, together they
reach every end event of the shipped processes, and a broken one fails naming the element
where the case went wrong. Their clock moves for SpiffWorkflow's timers in their own
thread only."""
from __future__ import annotations

import datetime as dt
import json
import threading

import pytest
from lxml import etree

from engine import scenarios
from engine.scenario_clock import ScenarioClock, running_on
from SpiffWorkflow.bpmn.specs.event_definitions import timer as spiff_timer
from support.bundle import replaced, shipped_bundle

# They never touch the configured test database: each run makes its own.
pytestmark = pytest.mark.sqlite_only

FILES = shipped_bundle()
SHIPPED = sorted(name for name in FILES if name.endswith(scenarios.SUFFIX))


@pytest.fixture(scope="module")
def results():
    return {r.file: r for r in scenarios.run_all(FILES)}


@pytest.mark.parametrize("name", SHIPPED)
def test_each_shipped_scenario_passes(results, name):
    result = results[name]
    assert result.passed, str(result.failure)
    assert result.failure is None and result.path


def test_the_shipped_scenarios_reach_every_end_event(results):
    ends = {e.get("id") for name, content in FILES.items() if name.endswith(".bpmn")
            for e in etree.fromstring(content).iter("{*}endEvent")}
    reached = {element for r in results.values() for element in r.path}
    assert len(ends) > 20 and ends - reached == set()


def scenario(**changes) -> dict:
    value = json.loads(FILES["general_accepted.scenario.json"])
    value.update(changes)
    return value


def run(value: dict, files=FILES) -> scenarios.ScenarioResult:
    return scenarios.run(files, scenarios.read("broken.scenario.json", json.dumps(value)))


def steps_with(name: str, **data) -> list:
    value = scenario()
    for step in value["steps"]:
        if step.get("task") == name:
            step["data"].update(data)
    return value["steps"]


def test_wrong_form_data_fails_at_its_task():
    result = run(scenario(steps=steps_with("customer_decision", customer_response="maybe")))
    assert not result.passed
    assert result.failure.file == "broken.scenario.json"
    assert result.failure.element == "customer_decision"
    assert result.failure.message.startswith("Step 9: the data for customer_decision is not "
                                             "valid: customer_response:")
    assert "approve_solution" in result.path and "customer_decision" not in result.path


def test_a_wrong_expected_end_fails_naming_the_end_reached():
    result = run(scenario(expect={"status": "closed", "end": "end_not_true"}))
    assert not result.passed and result.failure.element == "end_resolved"
    assert "should end at end_not_true, but the case is closed at end_resolved" in \
        result.failure.message


def test_a_case_left_open_fails_naming_where_it_waits():
    value = scenario()
    value["steps"] = value["steps"][:5]
    result = run(value)
    assert result.failure.element == "propose_solution"
    assert "should be closed, but the case waits at propose_solution" in result.failure.message


def test_a_task_that_is_not_ready_fails_at_that_task():
    value = scenario()
    del value["steps"][2]  # dispatch
    result = run(value)
    assert result.failure.element == "confirm_receipt"
    assert result.failure.message == ("Step 3: the task confirm_receipt is not ready; the case "
                                      "waits at dispatch.")


def test_an_element_not_passed_fails_naming_it():
    result = run(scenario(expect={"status": "closed", "end": "end_resolved",
                                  "path": ["verify", "inform_not_true"]}))
    assert result.failure.element == "inform_not_true"


def test_a_script_that_fails_names_the_script_task():
    files = replaced(FILES, "complaint.bpmn", "sla_paused_seconds = 0</bpmn:script>",
                     "sla_paused_seconds = 0\nrounds = 1 / missing_facts_rounds</bpmn:script>")
    result = run(scenario(), files)
    assert not result.passed and result.failure.element == "script_init"
    assert "division by zero" in result.failure.message


def test_an_unreadable_scenario_is_a_failed_result_of_its_file():
    documents = {n: c for n, c in FILES.items() if n not in SHIPPED}
    [result] = scenarios.run_all({**documents,
                                  "typo.scenario.json": b'{"name": "x", "steps": []}'})
    assert result.file == "typo.scenario.json" and not result.passed
    assert result.failure.message == "The scenario lacks process, start, expect."


def test_the_scenario_clock_moves_spiffworkflows_timers_in_its_own_thread_only():
    clock = ScenarioClock(dt.datetime(2031, 1, 1, tzinfo=dt.timezone.utc))
    inside, elsewhere = threading.Event(), threading.Event()
    seen = {}

    def other_thread():
        inside.wait(5)
        seen["other"] = spiff_timer.datetime.now(dt.timezone.utc)
        elsewhere.set()

    thread = threading.Thread(target=other_thread)
    thread.start()
    with running_on(clock):
        clock.advance(dt.timedelta(hours=30))
        seen["scenario"] = spiff_timer.datetime.now(dt.timezone.utc)
        inside.set()
        elsewhere.wait(5)
    thread.join()
    assert seen["scenario"] == dt.datetime(2031, 1, 2, 6, tzinfo=dt.timezone.utc)
    assert seen["other"].year < 2031
    assert spiff_timer.datetime.now(dt.timezone.utc).year < 2031


def test_the_same_bundle_is_not_run_twice_and_any_change_runs_again(monkeypatch):
    """A deploy after its dry run reuses the dry run's results; a changed diagram, form
    or scenario is a different bundle, whose scenarios run on it."""
    runs = []
    real_run = scenarios.run

    def counted(files, scenario):
        runs.append(scenario.file)
        return real_run(files, scenario)

    monkeypatch.setattr(scenarios, "run", counted)
    value = scenario()
    bundle = {**FILES, "mine.scenario.json": json.dumps(value).encode()}
    first = {r.file: r for r in scenarios.run_all(bundle)}
    assert first["mine.scenario.json"].passed and runs.count("mine.scenario.json") == 1
    again = {r.file: r for r in scenarios.run_all(bundle)}
    assert runs.count("mine.scenario.json") == 1 and again == first

    broken = replaced(bundle, "complaint.bpmn", "sla_paused_seconds = 0</bpmn:script>",
                      "sla_paused_seconds = 0\nrounds = 1 / missing_facts_rounds</bpmn:script>")
    [result] = [r for r in scenarios.run_all(broken) if r.file == "mine.scenario.json"]
    assert runs.count("mine.scenario.json") == 2
    assert not result.passed and result.failure.element == "script_init"
