"""The improvement process (improvement.bpmn): started when a major case closes, or a general
case its department flagged; summary, approval, execution, effect check, lessons shared."""
from __future__ import annotations

import pytest

from support.major_path import (
    close_after_visit, done_by, file_major, inbox, open_names, through_report, to_execution, work,
)
from support.people import add_user


@pytest.fixture
def inspector(services):
    """Someone of the supervision department (not among the demo users)."""
    return add_user(services, "inspector", ["supervisor"])


def close_a_major_case(desk) -> str:
    ticket = file_major(desk)
    to_execution(desk, ticket)
    through_report(desk, ticket)
    work(desk, ticket, "assign_responsibility")
    work(desk, ticket, "review_responsibility")
    assert close_after_visit(desk, ticket)["outcome"] == "resolved_major"
    return ticket


def test_closing_a_major_case_starts_an_improvement_project_run_to_the_end(
        desk, services, actors, inspector):
    ticket = close_a_major_case(desk)
    [project] = desk.case(ticket).linked_tickets
    improvement = desk.case(project)
    assert improvement.parent_ticket == ticket and improvement.status == "open"
    assert improvement.data["improvement_department"] == "quality"
    assert "The bearing supplier changed its tolerance." in improvement.data["improvement_context"]
    assert "Replace every unit of batch 42." in improvement.data["improvement_context"]
    assert open_names(desk, project) == ["summarise_improvement@quality"]
    assert (project, "summarise_improvement") in inbox(services, actors["handler"])
    assert (project, "summarise_improvement") not in inbox(services, actors["handler2"])

    work(desk, project, "summarise_improvement")
    assert open_names(desk, project) == ["approve_improvement"]
    work(desk, project, "approve_improvement", improvement_decision="revise",
         improvement_decision_comment="Add a supplier audit.")
    assert open_names(desk, project) == ["summarise_improvement@quality"]
    assert desk.case(project).data["improvement_feedback"] == "Add a supplier audit."
    work(desk, project, "summarise_improvement",
         improvement_measures="Incoming inspection and a yearly supplier audit.")
    work(desk, project, "approve_improvement")
    work(desk, project, "execute_improvement")
    assert (project, "confirm_improvement_effect") in inbox(services, inspector)
    assert (project, "confirm_improvement_effect") not in inbox(services, actors["auditor"])
    work(desk, project, "confirm_improvement_effect", inspector,
         improvement_effect="not_effective", improvement_effect_notes="Two failures in January.")
    assert open_names(desk, project) == ["execute_improvement@quality"]
    work(desk, project, "execute_improvement", improvement_execution_notes="Inspection tightened.")
    work(desk, project, "confirm_improvement_effect", inspector)
    assert (project, "share_lessons") in inbox(services, actors["director"])
    result = work(desk, project, "share_lessons")

    assert result["status"] == "closed" and result["outcome"] == "improvement_completed"
    data = desk.case(project).data
    assert data["improvement_measures"] == "Incoming inspection and a yearly supplier audit."
    assert data["lessons_shared_with"] == ["logistics", "sales"]
    assert data["improvement_rounds"] == 2 and data["effect_reviews"] == 2
    assert done_by(desk, project) == [
        ("summarise_improvement", "handler"), ("approve_improvement", "gm"),
        ("summarise_improvement", "handler"), ("approve_improvement", "gm"),
        ("execute_improvement", "handler"), ("confirm_improvement_effect", "inspector"),
        ("execute_improvement", "handler"), ("confirm_improvement_effect", "inspector"),
        ("share_lessons", "director")]
    assert desk.case(ticket).status == "closed"  # the complaint itself stays closed
    assert desk.case(project).linked_tickets == []  # an improvement starts no improvement


def test_a_general_case_flagged_by_its_department_starts_an_improvement(desk):
    ticket = desk.file()
    desk.run_until(ticket, "execute_solution")
    desk.do(ticket, "execute_solution", improvement_requested=True)
    assert desk.do(ticket, "follow_up")["outcome"] == "resolved"
    [project] = desk.case(ticket).linked_tickets
    assert open_names(desk, project) == ["summarise_improvement@quality"]
    data = desk.case(project).data
    assert data["improvement_department"] == "quality"
    assert "Measures taken: Replace the unit and refund shipping." in data["improvement_context"]


def test_an_unflagged_general_case_starts_no_improvement(desk):
    ticket = desk.file()
    desk.run_until(ticket, "follow_up")
    desk.do(ticket, "follow_up")
    assert desk.case(ticket).linked_tickets == []
