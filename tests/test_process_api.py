"""The process API: what can be started, deploying documents as new versions (or being
told every problem with file and element, nothing deployed), reading a version, and
starting a case of any startable process."""
from __future__ import annotations

import io

import pytest

from sqlalchemy import func, select

from engine import specs
from engine.models import ProcessVersion
from engine.versions import version_files
from support.bundle import shipped_bundle
from support.desk import RECORD
from support.api import matches, openapi_document, token

@pytest.fixture
def openapi(client):
    return openapi_document(client)


NEW_TITLE = "Check the record is complete and plausible"


def shipped(services) -> dict[str, bytes]:
    """Every shipped file: diagrams, decision tables, forms and scenarios."""
    return shipped_bundle()


def complaint_files(services) -> dict[str, bytes]:
    """The shipped files that the first complaint version holds: those it uses."""
    with services.db.read() as session:
        names = version_files(session, "complaint", 1)
    assert "complaint.bpmn" in names and "verify.schema.json" in names
    return {name: shipped_bundle()[name] for name in names}


def edited(services) -> dict[str, bytes]:
    files = shipped(services)
    files["complaint.bpmn"] = files["complaint.bpmn"].replace(
        b'name="Check the record is complete"', f'name="{NEW_TITLE}"'.encode())
    return files


def deploy(client, headers, files: dict[str, bytes], **fields):
    return client.post("/api/v1/processes", headers=headers, content_type="multipart/form-data",
                       data={**fields, "files": [(io.BytesIO(content), name)
                                                 for name, content in files.items()]})


def versions(services) -> int:
    with services.db.read() as session:
        return session.execute(select(func.count(ProcessVersion.id))).scalar_one()


def test_the_startable_processes_are_listed_with_their_versions(client, openapi):
    response = client.get("/api/v1/processes", headers=token(client, "agent"))
    assert response.status_code == 200
    body = response.get_json()
    matches(openapi, "ProcessList", body)
    listed = {p["id"]: p for p in body["processes"]}
    # The major path is called, not started; the monthly review is started by the engine.
    assert set(listed) == {"complaint", "improvement", "monthly_review", "petition", "inquiry",
                           "technical_support", "order_support"}
    assert listed["complaint"]["version"] == 1
    assert listed["complaint"]["name"] == "Customer complaint"
    assert [v["version"] for v in listed["complaint"]["versions"]] == [1]


def test_a_process_owner_deploys_a_new_version_that_new_complaints_follow(client, openapi,
                                                                         services):
    owner = token(client, "owner")
    agent = token(client, "agent")
    before = client.post("/api/v1/complaints", json=RECORD, headers=agent).get_json()["ticket"]
    response = deploy(client, owner, edited(services), note="Name the check more precisely")
    assert response.status_code == 201, response.get_json()
    matches(openapi, "Deployment", response.get_json())
    assert {"id": "complaint", "version": 2} in response.get_json()["deployed"]
    after = client.post("/api/v1/complaints", json=RECORD, headers=agent).get_json()["ticket"]
    for ticket, version in ((before, 1), (after, 2)):
        case = client.get(f"/api/v1/complaints/{ticket}", headers=agent).get_json()
        matches(openapi, "Complaint", case)
        assert (case["process_id"], case["version"]) == ("complaint", version)
    [check] = client.get(f"/api/v1/complaints/{after}", headers=agent).get_json()["open_tasks"]
    assert check["title"] == NEW_TITLE
    listed = client.get("/api/v1/processes/complaint", headers=owner).get_json()
    assert (listed["version"], listed["note"], listed["author"]) == (
        2, "Name the check more precisely", "owner")


# One version of each shipped process: complaint, improvement, monthly review, petition,
# inquiry, technical support, order support (the major path is called by the complaint and
# deployed with it).
SHIPPED_VERSIONS = 7


def test_the_same_documents_again_deploy_nothing(client, services):
    response = deploy(client, token(client, "owner"), shipped(services))
    assert response.status_code == 200
    assert response.get_json()["deployed"] == []
    assert versions(services) == SHIPPED_VERSIONS


def test_a_dry_run_checks_and_deploys_nothing(client, services):
    owner = token(client, "owner")
    response = deploy(client, owner, edited(services), dry_run="true")
    assert response.status_code == 200, response.get_json()
    answer = response.get_json()
    assert answer["deployed"] == [] and answer["would_deploy"] == [
        {"id": "complaint", "version": 2}]
    # Every shipped scenario ran against the edited diagram, and all pass.
    assert answer["scenarios"] and all(s["passed"] for s in answer["scenarios"])
    assert versions(services) == SHIPPED_VERSIONS


def test_a_refused_deploy_names_the_file_and_deploys_nothing(client, openapi, services):
    files = shipped(services)
    files["sla.dmn"] = files["sla.dmn"].replace(b"</definitions>", b"")
    response = deploy(client, token(client, "owner"), files, dry_run="false")
    assert response.status_code == 422
    body = response.get_json()
    matches(openapi, "DeployRefusal", body)
    [problem] = body["problems"]
    assert problem["file"] == "sla.dmn" and "not well-formed XML" in problem["message"]
    assert versions(services) == SHIPPED_VERSIONS


def test_uploads_of_the_wrong_kind_or_size_are_refused_per_file(client, openapi, services):
    owner = token(client, "owner")
    files = {**shipped(services), "notes.txt": b"remember the milk",
             "huge.bpmn": b"<x/>" + b" " * (specs.MAX_DOCUMENT_BYTES + 1)}
    response = deploy(client, owner, files)
    assert response.status_code == 422
    matches(openapi, "DeployRefusal", response.get_json())
    problems = {p["file"]: p["message"] for p in response.get_json()["problems"]}
    assert set(problems) == {"notes.txt", "huge.bpmn"}
    assert "not a process document" in problems["notes.txt"]
    assert "over the limit" in problems["huge.bpmn"]
    assert deploy(client, owner, {}).status_code == 422
    assert client.post("/api/v1/processes", json={"files": []},
                       headers=owner).status_code == 415
    too_big = {f"part{i}.bpmn": b" " * (2 * 1024 * 1024 - 10) for i in range(9)}
    response = deploy(client, owner, too_big)
    assert response.status_code == 413
    matches(openapi, "Error", response.get_json())
    assert versions(services) == SHIPPED_VERSIONS


def test_only_process_owners_and_administrators_deploy(client, services):
    for username in ("agent", "auditor", "head"):
        response = deploy(client, token(client, username), edited(services))
        assert response.status_code == 403, username
    assert deploy(client, {}, edited(services)).status_code == 401
    assert deploy(client, token(client, "admin"), edited(services)).status_code == 201


def test_a_process_reads_with_its_start_form_and_files(client, openapi, services):
    owner, agent = token(client, "owner"), token(client, "agent")
    body = client.get("/api/v1/processes/complaint", headers=owner).get_json()
    matches(openapi, "ProcessDetail", body)
    assert body["version"] == body["newest_version"] == 1
    assert "customer_name" in body["start_form"]["schema"]["properties"]
    assert {k: v.encode() for k, v in body["files"].items()} == complaint_files(services)
    # The files of the procedure are for those who keep it and those who audit it.
    assert "files" not in client.get("/api/v1/processes/complaint", headers=agent).get_json()
    improvement = client.get("/api/v1/processes/improvement/versions/1",
                             headers=agent).get_json()
    assert improvement["start_form"]["schema"]["required"] == ["ticket", "lead_department"]
    for missing in ("/api/v1/processes/major", "/api/v1/processes/complaint/versions/9"):
        response = client.get(missing, headers=agent)
        assert response.status_code == 404
        matches(openapi, "Error", response.get_json())


def test_a_complaint_starts_through_the_generic_call(client, openapi):
    agent = token(client, "agent")
    response = client.post("/api/v1/processes/complaint/instances", json=RECORD, headers=agent)
    assert response.status_code == 201, response.get_json()
    started = response.get_json()
    matches(openapi, "Started", started)
    assert (started["process_id"], started["version"]) == ("complaint", 1)
    case = client.get(f"/api/v1/complaints/{started['ticket']}", headers=agent).get_json()
    assert case["record"]["customer_name"] == RECORD["customer_name"]
    assert [t["name"] for t in case["open_tasks"]] == ["check_record"]
    response = client.post("/api/v1/processes/complaint/instances", json=RECORD,
                           headers=token(client, "handler"))
    assert response.status_code == 403
    response = client.post("/api/v1/processes/complaint/instances",
                           json={**RECORD, "amount": "lots"}, headers=agent)
    assert response.status_code == 422 and "amount" in response.get_json()["fields"]


def test_a_department_starts_an_improvement_project_for_its_complaint(client, openapi, desk):
    ticket = desk.file()
    desk.run_until(ticket, "confirm_receipt")  # now with the quality department
    handler = token(client, "handler")
    start = {"ticket": ticket, "lead_department": "quality",
             "root_cause": "Bearings of batch 42"}
    response = client.post("/api/v1/processes/improvement/instances", json=start,
                           headers=handler)
    assert response.status_code == 201, response.get_json()
    started = response.get_json()
    assert started == {"ticket": f"I{ticket}", "process_id": "improvement", "version": 1}
    project = client.get(f"/api/v1/complaints/I{ticket}", headers=handler).get_json()
    assert project["parent_ticket"] == ticket and project["process_id"] == "improvement"
    [summary] = project["open_tasks"]
    assert summary["name"] == "summarise_improvement"
    again = client.post("/api/v1/processes/improvement/instances", json=start, headers=handler)
    assert again.status_code == 409
    # Someone of another department sees no such complaint; other roles start no project.
    other = {**start, "ticket": desk.file()}
    assert client.post("/api/v1/processes/improvement/instances", json=other,
                       headers=handler).status_code == 404
    assert client.post("/api/v1/processes/improvement/instances", json=start,
                       headers=token(client, "agent")).status_code == 403
    response = client.post("/api/v1/processes/improvement/instances",
                           json={"ticket": ticket}, headers=handler)
    assert response.status_code == 422 and "lead_department" in response.get_json()["fields"]


def test_processes_that_cannot_be_started_are_not_found(client):
    agent = token(client, "agent")
    for process in ("major", "nothing"):
        response = client.post(f"/api/v1/processes/{process}/instances", json=RECORD,
                               headers=agent)
        assert response.status_code == 404, process


INQUIRY = {"channel": "chat", "customer_name": "Jane Miller",
           "customer_email": "jane.miller@example.com",
           "question": "Which replacement filter fits the AP-300?"}


def test_the_support_team_starts_an_inquiry_through_the_generic_call(client, openapi):
    support = token(client, "support")
    body = client.get("/api/v1/processes/inquiry", headers=support).get_json()
    assert "channel" in body["start_form"]["schema"]["properties"]
    response = client.post("/api/v1/processes/inquiry/instances", json=INQUIRY, headers=support)
    assert response.status_code == 201, response.get_json()
    started = response.get_json()
    matches(openapi, "Started", started)
    assert started["process_id"] == "inquiry" and started["ticket"].startswith("Q")
    assert started["status_token"]
    tasks = client.get("/api/v1/tasks", headers=support).get_json()
    assert any(t["ticket"] == started["ticket"] and t["name"] == "first_response"
               for t in tasks["tasks"])
    # Department staff do not register inquiries; a bad record names its fields.
    response = client.post("/api/v1/processes/inquiry/instances", json=INQUIRY,
                           headers=token(client, "handler"))
    assert response.status_code == 403
    response = client.post("/api/v1/processes/inquiry/instances",
                           json={**INQUIRY, "channel": "pigeon"}, headers=support)
    assert response.status_code == 422 and "channel" in response.get_json()["fields"]


TECHNICAL = {"channel": "phone", "customer_name": "Jane Miller",
             "customer_email": "jane.miller@example.com", "model": "Air purifier AP-300",
             "description": "The fan stops after ten minutes.", "region": "metro",
             "urgency": "critical"}


def test_the_support_team_starts_a_technical_problem_through_the_generic_call(client, openapi):
    support = token(client, "support")
    body = client.get("/api/v1/processes/technical_support", headers=support).get_json()
    assert {"model", "region", "urgency"} <= set(body["start_form"]["schema"]["properties"])
    response = client.post("/api/v1/processes/technical_support/instances", json=TECHNICAL,
                           headers=support)
    assert response.status_code == 201, response.get_json()
    started = response.get_json()
    matches(openapi, "Started", started)
    assert started["process_id"] == "technical_support" and started["ticket"].startswith("T")
    assert started["status_token"]
    tasks = client.get("/api/v1/tasks", headers=support).get_json()
    assert any(t["ticket"] == started["ticket"] and t["name"] == "remote_help"
               for t in tasks["tasks"])
    response = client.post("/api/v1/processes/technical_support/instances", json=TECHNICAL,
                           headers=token(client, "handler"))
    assert response.status_code == 403
    response = client.post("/api/v1/processes/technical_support/instances",
                           json={**TECHNICAL, "urgency": "whenever"}, headers=support)
    assert response.status_code == 422 and "urgency" in response.get_json()["fields"]


ORDER = {"channel": "sales", "customer_name": "Jane Miller",
         "customer_email": "jane.miller@example.com", "order_number": "SO-2611-0042",
         "specification": "Air purifier AP-300, 230 V", "quantity": 120,
         "delivery_date": "2026-12-18"}


def test_sales_hand_an_order_over_to_the_support_team_through_the_generic_call(client, openapi):
    support = token(client, "support")
    body = client.get("/api/v1/processes/order_support", headers=support).get_json()
    assert {"order_number", "specification", "quantity", "delivery_date"} <= set(
        body["start_form"]["schema"]["properties"])
    response = client.post("/api/v1/processes/order_support/instances", json=ORDER,
                           headers=support)
    assert response.status_code == 201, response.get_json()
    started = response.get_json()
    matches(openapi, "Started", started)
    assert started["process_id"] == "order_support" and started["ticket"].startswith("D")
    assert started["status_token"]
    tasks = client.get("/api/v1/tasks", headers=support).get_json()
    assert any(t["ticket"] == started["ticket"] and t["name"] == "confirm_order"
               for t in tasks["tasks"])
    response = client.post("/api/v1/processes/order_support/instances", json=ORDER,
                           headers=token(client, "handler"))
    assert response.status_code == 403
    response = client.post("/api/v1/processes/order_support/instances",
                           json={**ORDER, "quantity": 0}, headers=support)
    assert response.status_code == 422 and "quantity" in response.get_json()["fields"]
