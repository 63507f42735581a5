"""Process versions: a version holds the forms its process uses, so a running case keeps
its forms while new cases follow the newest; deploys are refused whole or made per
process that changed, with a note, an author and an audit event; rollback and the
element-level diff."""
from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
from sqlalchemy import func, select

from engine import bundles, runtime, specs, version_diff, versions
from engine.forms import FormRegistry
from engine.models import AuditEvent, ProcessVersion
from engine.problems import DeployRefused, Problem
from engine.services import COMPLAINT_PROCESS, PROJECT_ROOT
from support.releases import adopt

RELEASE_0_1 = Path(__file__).parent / "fixtures" / "release_0_1_instances.json"


@pytest.fixture
def shipped(services, tmp_path):
    """The services reading a copy of the shipped processes and forms, which the test may
    edit as an operator edits the files on the server."""
    processes, forms_dir = tmp_path / "processes", tmp_path / "forms"
    shutil.copytree(PROJECT_ROOT / "processes", processes)
    shutil.copytree(PROJECT_ROOT / "forms", forms_dir)
    services.processes_dir = processes
    services.forms = FormRegistry(forms_dir)
    return services


def edit_json(path: Path, change) -> None:
    document = json.loads(path.read_text("utf-8"))
    change(document)
    path.write_text(json.dumps(document, indent=2), "utf-8")


def shipped_bundle(services) -> dict[str, bytes]:
    """The shipped files without the complaint's dry-run scenarios: these tests change its
    path, which is what a scenario would rightly refuse."""
    files = bundles.read_shipped(services.processes_dir, services.forms.directory)
    return {name: content for name, content in files.items()
            if name not in bundles.analyse(files).scenarios
            or bundles.analyse(files).scenarios[name] != COMPLAINT_PROCESS}


def deploy(services, files: dict[str, bytes], note: str = "Test change", **options):
    return versions.deploy_bundle(services, files, note=note, actor="owner", **options)


def newest(services, process_id: str) -> int:
    with services.db.read() as session:
        return specs.latest_version(session, process_id).version


def task_title(services, actors, ticket: str, desk, task: str, user: str, field: str) -> str:
    detail = runtime.task_detail(services, actors[user], desk.task(ticket, task).id)
    return detail.schema["properties"][field]["title"]


def counts(services) -> tuple[int, int]:
    with services.db.read() as session:
        return (session.execute(select(func.count(ProcessVersion.id))).scalar_one(),
                session.execute(select(func.count(AuditEvent.id))).scalar_one())


def file_text(services, process_id: str, version: int, name: str) -> str:
    with services.db.read() as session:
        return versions.version_files(session, process_id, version)[name]


def test_a_version_holds_the_forms_and_only_the_files_its_process_uses(shipped):
    with shipped.db.read() as session:
        complaint = versions.version_files(session, COMPLAINT_PROCESS, 1)
        improvement = versions.version_files(session, "improvement", 1)
    assert {"complaint.bpmn", "major.bpmn", "sla.dmn", "classification.dmn",
            "check_record.schema.json", "check_record.uischema.json", "intake.schema.json",
            "follow_up_customer.schema.json", "capa_plan.schema.json"} <= set(complaint)
    assert "reply_templates.json" not in complaint and "improvement.bpmn" not in complaint
    assert set(improvement) >= {"improvement.bpmn", "summarise_improvement.schema.json"}
    assert "complaint.bpmn" not in improvement and "check_record.schema.json" not in improvement


def test_a_running_case_keeps_its_form_when_the_form_changes_on_disk_or_is_deployed(
        shipped, desk, actors):
    first = desk.file()
    title = task_title(shipped, actors, first, desk, "check_record", "agent", "missing_facts")
    form = shipped.forms.directory / "check_record.schema.json"
    edit_json(form, lambda d: d["properties"]["missing_facts"].update(title="Facts to ask for"))

    assert task_title(shipped, actors, first, desk, "check_record", "agent",
                      "missing_facts") == title  # the disk is not read for deployed forms
    shipped.forms = FormRegistry(shipped.forms.directory)  # a restarted server reads afresh
    assert task_title(shipped, actors, first, desk, "check_record", "agent",
                      "missing_facts") == title

    version, created = versions.deploy_shipped(shipped, actor="operator")
    assert (version, created) == (2, True)
    second = desk.file()
    assert task_title(shipped, actors, second, desk, "check_record", "agent",
                      "missing_facts") == "Facts to ask for"
    assert task_title(shipped, actors, first, desk, "check_record", "agent",
                      "missing_facts") == title
    assert desk.case(first).process_version == 1 and desk.case(second).process_version == 2


def test_the_intake_form_is_the_newest_complaint_versions(shipped, desk):
    from engine import intake
    form = shipped.forms.directory / "intake.schema.json"
    edit_json(form, lambda d: d["properties"]["demand"].update(title="What would put it right"))
    with shipped.db.read() as session:
        before = intake.intake_form(shipped, session)[0]["properties"]["demand"]["title"]
    assert before != "What would put it right"
    deploy(shipped, shipped_bundle(shipped), merge=False)
    with shipped.db.read() as session:
        schema, _ui = intake.intake_form(shipped, session)
    assert schema["properties"]["demand"]["title"] == "What would put it right"


def test_versions_deployed_before_forms_were_versioned_read_the_forms_on_disk(
        shipped, desk, actors):
    release = json.loads(RELEASE_0_1.read_text())
    saved = release["instances"][0]
    assert saved["open_task"] == "propose_solution"
    adopt(shipped, release["sources"], "2510000001", saved["state"])
    form = shipped.forms.directory / "propose_solution.schema.json"
    edit_json(form, lambda d: d["properties"]["measures"].update(title="Measures agreed"))
    shipped.forms = FormRegistry(shipped.forms.directory)
    assert task_title(shipped, actors, "2510000001", desk, "propose_solution", "handler",
                      "measures") == "Measures agreed"


def test_instances_of_an_older_release_finish_after_several_deploys(shipped, desk):
    release = json.loads(RELEASE_0_1.read_text())
    for n, saved in enumerate(release["instances"]):
        adopt(shipped, release["sources"], f"251000000{n + 1}", saved["state"])
    files = shipped_bundle(shipped)
    for hours in ("10", "11", "9"):
        sla = files["sla.dmn"].decode().replace(
            '<outputEntry id="Rule_urgent_execute"><text>12</text>',
            f'<outputEntry id="Rule_urgent_execute"><text>{hours}</text>')
        deploy(shipped, {**files, "sla.dmn": sla.encode()}, note=f"Urgent execution {hours} h",
               merge=False)
    assert newest(shipped, COMPLAINT_PROCESS) == 5  # shipped, release 0.1, three changes
    for n, saved in enumerate(release["instances"]):
        ticket = f"251000000{n + 1}"
        if saved["open_task"] == "supply_missing_facts":
            desk.do(ticket, "supply_missing_facts", supply_decision="supplied",
                    supplied_facts="Order SO-1")
            desk.do(ticket, "check_record")
        desk.run_until(ticket, "follow_up")
        result = desk.do(ticket, "follow_up")
        assert result["status"] == "closed" and result["outcome"] == "resolved"
        assert desk.case(ticket).process_version == 2


def test_changing_one_process_makes_a_version_of_that_process_only(shipped):
    text = file_text(shipped, "improvement", 1, "improvement.bpmn")
    changed = text.replace('name="Share the lessons learned"', 'name="Share the lessons"')
    assert changed != text
    outcome = deploy(shipped, {"improvement.bpmn": changed.encode()},
                     note="Shorter task name")
    assert [(v.process_id, v.version, v.note, v.author) for v in outcome.versions] == [
        ("improvement", 2, "Shorter task name", "owner")]
    assert newest(shipped, COMPLAINT_PROCESS) == 1
    assert outcome.changes["improvement"] == {
        "files_changed": {"improvement.bpmn": {"changed": ["share_lessons"]}}}

    form = file_text(shipped, COMPLAINT_PROCESS, 1, "classify.schema.json")
    outcome = deploy(shipped, {"classify.schema.json": form.replace(
        '"title": "Amount', '"title": "Sum').encode()}, note="Clearer label")
    assert [(v.process_id, v.version) for v in outcome.versions] == [(COMPLAINT_PROCESS, 2)]
    assert newest(shipped, "improvement") == 2

    assert deploy(shipped, {"classify.schema.json": form.replace(
        '"title": "Amount', '"title": "Sum').encode()}).versions == []  # nothing changed


def test_the_library_lists_versions_with_note_author_and_cases(shipped, desk, actors):
    running, ended = desk.file(), desk.file()
    runtime.cancel(shipped, actors["supervisor"], ended, "Filed twice")
    text = file_text(shipped, COMPLAINT_PROCESS, 1, "complaint.bpmn")
    deploy(shipped, {"complaint.bpmn": text.replace(
        'name="Check the record is complete"', 'name="Check the record"').encode()},
        note="Shorter name for the first check")
    desk.file()
    with shipped.db.read() as session:
        library = {p.process_id: p for p in versions.library(session)}
    complaint = library[COMPLAINT_PROCESS]
    assert complaint.name == "Customer complaint" and complaint.startable
    assert [(v.version, v.author, v.note, v.open_cases, v.closed_cases)
            for v in complaint.versions] == [
        (2, "owner", "Shorter name for the first check", 1, 0),
        (1, "system", versions.SHIPPED_NOTE, 1, 1)]
    assert complaint.versions[0].content_hash != complaint.versions[1].content_hash
    assert library["improvement"].name == "Improvement project"
    assert "major_complaint" not in library  # called, never started on its own
    assert desk.case(running).process_version == 1


def test_a_rollback_deploys_the_old_content_as_a_new_version_new_cases_follow(
        shipped, desk, actors):
    form = file_text(shipped, COMPLAINT_PROCESS, 1, "check_record.schema.json")
    deploy(shipped, {"check_record.schema.json": form.replace(
        '"title": "Missing facts"', '"title": "Facts to ask for"').encode()},
        note="Friendlier label")
    with_new_label = desk.file()
    summary = versions.rollback(shipped, COMPLAINT_PROCESS, 1, actor="owner",
                                note="the agents asked for the old label")
    assert (summary.version, summary.note, summary.author) == (
        3, "Rollback to version 1: the agents asked for the old label", "owner")
    with shipped.db.read() as session:
        library = {p.process_id: p for p in versions.library(session)}
        assert versions.version_files(session, COMPLAINT_PROCESS, 3) == \
            versions.version_files(session, COMPLAINT_PROCESS, 1)
        event = session.execute(select(AuditEvent).where(
            AuditEvent.kind == "process_deployed").order_by(AuditEvent.id.desc())).scalars().first()
    hashes = {v.version: v.content_hash for v in library[COMPLAINT_PROCESS].versions}
    assert hashes[3] == hashes[1] != hashes[2]
    assert event.actor == "owner" and event.detail["rollback_to"] == 1
    assert event.detail["changes"] == {"files_changed": {
        "check_record.schema.json": {"changed": ["missing_facts"]}}}
    after = desk.file()
    assert desk.case(after).process_version == 3
    assert task_title(shipped, actors, after, desk, "check_record", "agent",
                      "missing_facts") == "Missing facts"
    assert task_title(shipped, actors, with_new_label, desk, "check_record", "agent",
                      "missing_facts") == "Facts to ask for"
    with pytest.raises(LookupError):
        versions.rollback(shipped, COMPLAINT_PROCESS, 9, actor="owner")


NEW_TASK = (
    '<bpmn:userTask id="review_execution" name="Review the execution">'
    '<bpmn:extensionElements><spiffworkflow:properties>'
    '<spiffworkflow:property name="formJsonSchemaFilename" value="review_execution.schema.json"/>'
    '</spiffworkflow:properties></bpmn:extensionElements>'
    '<bpmn:incoming>flow_execute_review</bpmn:incoming>'
    '<bpmn:outgoing>flow_review_follow</bpmn:outgoing></bpmn:userTask>'
    '<bpmn:sequenceFlow id="flow_execute_review" sourceRef="execute_solution" '
    'targetRef="review_execution"/>'
    '<bpmn:sequenceFlow id="flow_review_follow" sourceRef="review_execution" '
    'targetRef="follow_up"/>')
REVIEW_FORM = {"$schema": "https://json-schema.org/draft/2020-12/schema", "type": "object",
               "title": "Review the execution",
               "properties": {"execution_ok": {"type": "boolean", "title": "Done as agreed?"}},
               "required": ["execution_ok"], "additionalProperties": False}


def edited_complaint(services) -> dict[str, bytes]:
    """The shipped bundle with a user task added after the execution (the direct flow
    removed), a longer major follow-up wait, a shorter urgent execution time and a
    reworded classification field; to deploy with merge=False."""
    bpmn = file_text(services, COMPLAINT_PROCESS, 1, "complaint.bpmn")
    old_flow = ('<bpmn:sequenceFlow id="flow_execute_follow" sourceRef="execute_solution" '
                'targetRef="follow_up"/>')
    replacements = [
        (old_flow, NEW_TASK),
        ("<bpmn:outgoing>flow_execute_follow</bpmn:outgoing>",
         "<bpmn:outgoing>flow_execute_review</bpmn:outgoing>"),
        ("<bpmn:incoming>flow_execute_follow</bpmn:incoming>",
         "<bpmn:incoming>flow_review_follow</bpmn:incoming>"),
        ("<bpmn:flowNodeRef>execute_solution</bpmn:flowNodeRef>",
         "<bpmn:flowNodeRef>execute_solution</bpmn:flowNodeRef>"
         "<bpmn:flowNodeRef>review_execution</bpmn:flowNodeRef>"),
        ('business_due(now_iso(), "P3D", None)', 'business_due(now_iso(), "P4D", None)'),
    ]
    for old, new in replacements:
        assert bpmn.count(old) == 1, old
        bpmn = bpmn.replace(old, new)
    bpmn = bpmn.replace('bpmnElement="flow_execute_follow"', 'bpmnElement="flow_execute_review"')
    sla = file_text(services, COMPLAINT_PROCESS, 1, "sla.dmn").replace(
        '<outputEntry id="Rule_urgent_execute"><text>12</text>',
        '<outputEntry id="Rule_urgent_execute"><text>10</text>')
    classify = json.loads(file_text(services, COMPLAINT_PROCESS, 1, "classify.schema.json"))
    classify["properties"]["amount"]["title"] = "Sum at stake"
    classify["required"] = sorted(set(classify.get("required", [])) | {"amount"})
    return {**shipped_bundle(services), "complaint.bpmn": bpmn.encode(), "sla.dmn": sla.encode(),
            "classify.schema.json": json.dumps(classify).encode(),
            "review_execution.schema.json": json.dumps(REVIEW_FORM).encode()}


def test_the_diff_names_what_was_added_removed_and_changed_per_file(shipped):
    outcome = deploy(shipped, edited_complaint(shipped), note="Review step after execution",
                     merge=False)
    assert [(v.process_id, v.version) for v in outcome.versions] == [(COMPLAINT_PROCESS, 2)]
    with shipped.db.read() as session:
        diff = versions.diff(session, COMPLAINT_PROCESS, 1, 2)
    files = json.loads(json.dumps(diff.as_dict()))["files"]  # as the pages receive it
    bpmn = files["complaint.bpmn"]
    assert bpmn["status"] == "changed"
    added = {e["id"]: e for e in bpmn["added"]}
    assert added["review_execution"]["kind"] == "userTask"
    assert added["review_execution"]["name"] == "Review the execution"
    assert {"flow_execute_review", "flow_review_follow"} <= set(added)
    assert [e["id"] for e in bpmn["removed"]] == ["flow_execute_follow"]
    assert bpmn["removed"][0]["kind"] == "sequenceFlow"
    changed = {e["id"]: e["changes"] for e in bpmn["changed"]}
    assert changed["wait_major_follow_up"] == ["timer"]
    assert "execute_solution" not in changed  # its flows are told on the flows
    sla = {e["id"]: e for e in files["sla.dmn"]["changed"]}
    assert list(sla) == ["Rule_urgent"] and sla["Rule_urgent"]["changes"] == ["output entries"]
    form = {e["id"]: e for e in files["classify.schema.json"]["changed"]}
    assert list(form) == ["amount"]
    assert form["amount"]["changes"] == ["required", "title"]
    assert form["amount"]["name"] == "Sum at stake"
    assert files["review_execution.schema.json"]["status"] == "added"
    assert files["major.bpmn"]["status"] == "same"
    with shipped.db.read() as session:
        back = versions.diff(session, COMPLAINT_PROCESS, 2, 1)
        assert [e.id for e in back.files["complaint.bpmn"].removed] == [
            "flow_execute_review", "flow_review_follow", "review_execution"]
        with pytest.raises(LookupError):
            versions.diff(session, COMPLAINT_PROCESS, 1, 7)


def test_the_diff_names_changed_lanes_and_properties(shipped):
    bpmn = file_text(shipped, "improvement", 1, "improvement.bpmn")
    moved = bpmn.replace("<bpmn:flowNodeRef>share_lessons</bpmn:flowNodeRef>", "", 1).replace(
        "<bpmn:flowNodeRef>confirm_improvement_effect</bpmn:flowNodeRef>",
        "<bpmn:flowNodeRef>confirm_improvement_effect</bpmn:flowNodeRef>"
        "<bpmn:flowNodeRef>share_lessons</bpmn:flowNodeRef>", 1).replace(
        'value="share_lessons.uischema.json"', 'value="share_lessons_v2.uischema.json"')
    ui = file_text(shipped, "improvement", 1, "share_lessons.uischema.json")
    deploy(shipped, {"improvement.bpmn": moved.encode(),
                     "share_lessons_v2.uischema.json": ui.encode()})
    with shipped.db.read() as session:
        improvement = versions.diff(session, "improvement", 1, 2).files
    assert [(e.id, e.changes) for e in improvement["improvement.bpmn"].changed] == [
        ("share_lessons", ["lane", "property formUiSchemaFilename"])]
    assert improvement["share_lessons_v2.uischema.json"].status == "added"
    assert improvement["share_lessons.uischema.json"].status == "removed"


def test_the_diff_names_a_changed_hit_policy(shipped):
    sla = file_text(shipped, COMPLAINT_PROCESS, 1, "sla.dmn")
    policy = 'hitPolicy="UNIQUE"' if 'hitPolicy="UNIQUE"' in sla else 'hitPolicy="FIRST"'
    other = sla.replace(policy, 'hitPolicy="ANY"', 1)
    diff = version_diff.compare(COMPLAINT_PROCESS, 1, 2, {"sla.dmn": sla}, {"sla.dmn": other})
    assert [(e.id, e.changes) for e in diff.files["sla.dmn"].changed] == [
        ("sla_hours", ["hit policy"])]


def test_every_deploy_is_audited_with_its_changes(shipped):
    deploy(shipped, edited_complaint(shipped), note="Review step after execution", merge=False)
    with shipped.db.read() as session:
        event = session.execute(select(AuditEvent).where(
            AuditEvent.kind == "process_deployed").order_by(AuditEvent.id.desc())).scalars().first()
    assert (event.actor, event.detail["process_id"], event.detail["version"],
            event.detail["note"]) == ("owner", COMPLAINT_PROCESS, 2, "Review step after execution")
    changes = event.detail["changes"]
    assert changes["files_added"] == ["review_execution.schema.json"]
    assert changes["files_changed"]["complaint.bpmn"]["removed"] == ["flow_execute_follow"]
    assert "review_execution" in changes["files_changed"]["complaint.bpmn"]["added"]
    assert changes["files_changed"]["sla.dmn"] == {"changed": ["Rule_urgent"]}


def test_a_dry_run_checks_everything_and_writes_nothing(shipped):
    before = counts(shipped)
    seen = []

    def checks(files):
        seen.append(sorted(files))
        return []

    outcome = deploy(shipped, edited_complaint(shipped), dry_run=True, checks=checks,
                     merge=False)
    assert outcome.dry_run and [(v.process_id, v.version) for v in outcome.versions] == [
        (COMPLAINT_PROCESS, 2)]
    assert "review_execution.schema.json" in seen[0] and "improvement.bpmn" in seen[0]
    assert outcome.changes[COMPLAINT_PROCESS]["files_added"] == ["review_execution.schema.json"]
    assert counts(shipped) == before
    assert newest(shipped, COMPLAINT_PROCESS) == 1


class Result:
    """A scenario's result as engine.scenarios reports it."""

    def __init__(self, passed: bool, failure=None):
        self.file, self.name, self.passed, self.path = "general.scenario.json", "General", \
            passed, []
        self.failure = failure


REFUSALS = {
    "a diagram that does not parse": (
        lambda files: {**files, "complaint.bpmn": files["complaint.bpmn"].replace(
            b'targetRef="script_init"', b'targetRef="ghost"')}, {}, "complaint.bpmn"),
    "a form that is no JSON": (
        lambda files: {**files, "classify.schema.json": b"{not json"}, {},
        "classify.schema.json"),
    "a problem the engine's checks find": (
        lambda files: files,
        {"checks": lambda files: [Problem("complaint.bpmn", "No lane.", "review_execution")]},
        "complaint.bpmn"),
    "a failing scenario": (
        lambda files: files,
        {"scenarios": lambda files: [Result(True), Result(False, Problem(
            "general.scenario.json", "Expected the case closed.", "follow_up"))]},
        "general.scenario.json"),
}


@pytest.mark.parametrize("case", sorted(REFUSALS))
def test_a_refused_deploy_writes_nothing_and_names_the_problem(shipped, case):
    spoil, seams, where = REFUSALS[case]
    before = counts(shipped)
    with pytest.raises(DeployRefused) as refused:
        deploy(shipped, spoil(edited_complaint(shipped)), merge=False, **seams)
    assert refused.value.problems and refused.value.problems[0].file == where
    assert counts(shipped) == before  # no version, no audit event
    assert newest(shipped, COMPLAINT_PROCESS) == 1


def test_a_refused_diagram_names_its_element_and_line(shipped):
    files = edited_complaint(shipped)
    files["complaint.bpmn"] = files["complaint.bpmn"].replace(
        b'targetRef="script_init"', b'targetRef="ghost"')
    with pytest.raises(DeployRefused) as refused:
        deploy(shipped, files, merge=False)
    problem = next(p for p in refused.value.problems if "ghost" in p.message)
    assert problem.file == "complaint.bpmn" and "flow_start_init" in problem.message
    assert " line " in problem.message


def test_file_names_with_folders_are_refused(shipped):
    with pytest.raises(DeployRefused) as refused:
        deploy(shipped, {"../complaint.bpmn": b"<x/>", "notes.json": b"{}"})
    assert [p.file for p in refused.value.problems] == ["../complaint.bpmn", "notes.json"]
