"""The modeler page and its requests, through the Flask test client: what the page hands
the browser, the server's checks as problems naming file and element, the form preview
as staff will see it, the scenarios and the deploy."""
from __future__ import annotations

import json
import re

import pytest

from engine import specs
from support.pages import uploads
from support.bundle import shipped_bundle
from support.paths import PROJECT_ROOT

EDIT = "/processes/complaint/edit"


def shipped_files() -> dict[str, bytes]:
    return shipped_bundle()


def page_data(page: str) -> dict:
    found = re.search(r'<script type="application/json" id="modeler-data">(.*?)</script>',
                      page, re.S)
    return json.loads(found.group(1))


def send(owner, path: str, files: dict[str, bytes], **fields):
    return owner.post(path, {**fields, "files": uploads(*files.items())}, token_from=EDIT,
                      content_type="multipart/form-data")


@pytest.fixture
def owner(visitor):
    return visitor("owner")


def test_the_page_hands_the_browser_the_newest_files_and_the_names_of_roles(owner):
    response = owner.get(EDIT)
    assert response.status_code == 200
    page = response.get_data(as_text=True)
    data = page_data(page)
    assert data["files"]["complaint.bpmn"].startswith("<?xml")
    assert {"sla.dmn", "classification.dmn", "check_record.schema.json"} <= set(data["files"])
    assert "check_record.uischema.json" in data["forms"]
    assert {"code": "dept_head", "name": "Department head"} in data["roles"]
    assert {"code": "quality", "name": "Quality"} in data["departments"]
    # The diagram of the process opens first.
    tabs = re.findall(r'role="tab" class="modeler-tab" id="tab-\d+" data-file="([^"]+)"', page)
    assert tabs[0] == "complaint.bpmn" and tabs[-1].endswith(".dmn")


def test_file_contents_cannot_end_the_data_script(owner, services):
    """A diagram's text is data: `</script>` in it must not close the page's data block."""
    from engine.models import ProcessVersion
    with services.db.write() as db:
        version = specs.latest_version(db, "complaint")
        sources = dict(version.sources)
        sources["complaint.bpmn"] += "<!-- </script><script>alert(1)</script> -->"
        db.query(ProcessVersion).filter_by(id=version.id).update({"sources": sources})
    page = owner.get(EDIT).get_data(as_text=True)
    assert "<script>alert(1)" not in page
    assert page_data(page)["files"]["complaint.bpmn"].endswith("</script> -->")


def test_the_page_may_use_inline_styles_but_never_inline_scripts(owner):
    policy = owner.get(EDIT).headers["Content-Security-Policy"]
    assert "style-src 'self' 'unsafe-inline'" in policy
    assert "script-src" not in policy and "default-src 'self';" in policy
    assert "'unsafe-inline'" not in owner.get("/settings").headers["Content-Security-Policy"]


def test_an_unknown_process_is_not_found(owner):
    assert owner.get("/processes/no_such_process/edit").status_code == 404


def test_the_shipped_files_pass_the_checks(owner):
    response = send(owner, f"{EDIT}/validate", shipped_files())
    assert response.status_code == 200
    assert response.get_json() == {"problems": []}


def test_a_broken_condition_comes_back_naming_its_file_and_element(owner):
    files = shipped_files()
    files["complaint.bpmn"] = files["complaint.bpmn"].replace(
        b"record_complete == True</bpmn:conditionExpression>",
        b"record_complete ==</bpmn:conditionExpression>")
    problems = send(owner, f"{EDIT}/validate", files).get_json()["problems"]
    assert problems, "the broken condition is reported"
    assert problems[0]["file"] == "complaint.bpmn"
    assert problems[0]["element"] in ("gw_record_complete", "flow_record_complete")
    assert "record_complete ==" in problems[0]["message"]


def test_a_request_without_files_is_refused_clearly(owner):
    response = send(owner, f"{EDIT}/validate", {})
    assert response.status_code == 422
    assert response.get_json()["error"] == "Send the process's files."


def test_deploy_wants_a_change_note(owner):
    response = send(owner, f"{EDIT}/deploy", shipped_files(), note="  ")
    assert response.status_code == 422
    assert "change note" in response.get_json()["error"]


def files_of_the_page(owner) -> dict[str, bytes]:
    """What the page sends back when nothing was changed in it."""
    data = page_data(owner.get(EDIT).get_data(as_text=True))
    return {name: text.encode("utf-8") for name, text in data["files"].items()}


def newest(services, process_id: str = "complaint"):
    with services.db.read() as db:
        version = specs.latest_version(db, process_id)
        return version.version, dict(version.sources)


def test_the_scenarios_run_against_the_files_of_the_page(owner):
    response = send(owner, f"{EDIT}/scenarios", files_of_the_page(owner))
    assert response.status_code == 200
    results = response.get_json()["scenarios"]
    assert results, "the shipped processes come with scenarios"
    assert all(r["passed"] for r in results), [r for r in results if not r["passed"]]


def test_a_changed_decision_table_deploys_as_a_new_version_with_its_note(owner, services):
    before, _sources = newest(services)
    files = files_of_the_page(owner)
    files["sla.dmn"] = files["sla.dmn"].replace(
        b'<outputEntry id="Rule_normal_verify"><text>4</text>',
        b'<outputEntry id="Rule_normal_verify"><text>6</text>')
    response = send(owner, f"{EDIT}/deploy", files, note="Verification within 6 hours")
    assert response.status_code == 201, response.get_json()
    deployed = response.get_json()["versions"]
    assert {"process_id": "complaint", "version": before + 1,
            "note": "Verification within 6 hours"} in deployed
    after, sources = newest(services)
    assert after == before + 1
    assert '<outputEntry id="Rule_normal_verify"><text>6</text>' in sources["sla.dmn"]


def test_a_refused_deploy_names_the_element_and_deploys_nothing(owner, services):
    before, _sources = newest(services)
    files = files_of_the_page(owner)
    files["complaint.bpmn"] = files["complaint.bpmn"].replace(
        b"record_complete == True</bpmn:conditionExpression>",
        b"record_complete ==</bpmn:conditionExpression>")
    response = send(owner, f"{EDIT}/deploy", files, note="A broken condition")
    assert response.status_code == 422
    problems = response.get_json()["problems"]
    assert any(p["file"] == "complaint.bpmn"
               and p["element"] in ("gw_record_complete", "flow_record_complete")
               for p in problems), problems
    assert newest(services)[0] == before


def test_the_preview_renders_the_edited_form_as_staff_see_it(owner):
    schema = json.loads((PROJECT_ROOT / "forms" / "dispatch.schema.json").read_text())
    ui = (PROJECT_ROOT / "forms" / "dispatch.uischema.json").read_text()
    schema["properties"]["pet_name"] = {"type": "string", "title": "Name of the pet"}
    response = owner.post(f"{EDIT}/preview", {"schema": json.dumps(schema), "uischema": ui},
                          token_from=EDIT, htmx=True)
    assert response.status_code == 200
    html = response.get_data(as_text=True)
    assert '<label for="f-pet_name"' in html and "Name of the pet" in html
    # Choices from the directory are filled in as on the task page.
    assert "Quality" in html


def test_the_preview_names_what_is_wrong_with_the_schema(owner):
    response = owner.post(f"{EDIT}/preview", {"schema": '{"type": "object",', "uischema": ""},
                          token_from=EDIT, htmx=True)
    assert response.status_code == 422
    assert "The preview cannot be shown" in response.get_data(as_text=True)
    response = owner.post(f"{EDIT}/preview", {"schema": '{"type": 5}', "uischema": ""},
                          token_from=EDIT, htmx=True)
    assert response.status_code == 422


def test_the_page_in_chinese(visitor):
    page = visitor("owner", accept_language="zh-CN").get(EDIT).get_data(as_text=True)
    assert "流程建模：complaint" in page
    assert page_data(page)["labels"]["Assignment"] == "指派"
