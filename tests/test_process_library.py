"""The process library as a process owner and compliance use it: every process with its
versions and the cases on each, the files of a version to download, the differences
between two versions, and rolling back to an earlier one."""
from __future__ import annotations

import io
import re
import zipfile

from engine import runtime, specs, versions
from support.bundle import shipped_bundle
from support.library import NEW_TITLE, deploy_edited, version_of

CHINESE = "zh-CN,zh;q=0.9"


def text_of(response) -> str:
    return response.get_data(as_text=True)


def shipped(services) -> dict[str, bytes]:
    """Every shipped file: diagrams, decision tables, forms and scenarios."""
    return shipped_bundle()


def complaint_files(services) -> dict[str, bytes]:
    """The shipped files that the first complaint version holds: those it uses."""
    with services.db.read() as session:
        names = versions.version_files(session, "complaint", 1)
    assert "complaint.bpmn" in names and "verify.schema.json" in names
    return {name: shipped_bundle()[name] for name in names}


def rows_of(page: str, process_id: str) -> list[str]:
    section = page.split(f'id="process-{process_id}"', 1)[1].split("</section>", 1)[0]
    return re.findall(r"<tr>(.*?)</tr>", section, re.S)[1:]  # the head row is first


def cell(row: str, label: str) -> str:
    match = re.search(rf'data-label="{label}"[^>]*>(.*?)</td>', row, re.S)
    return re.sub(r"<[^>]+>", "", match.group(1)).strip()


def test_the_library_lists_each_process_with_its_versions_and_cases(visitor, desk, actors,
                                                                    services):
    first, second = desk.file(), desk.file()
    runtime.cancel(services, actors["supervisor"], second, "Filed twice")
    desk.file()
    page = text_of(visitor("owner").get("/processes"))
    assert "Customer complaint" in page and "Improvement project" in page
    [complaint] = rows_of(page, "complaint")
    assert cell(complaint, "Version") .startswith("Version 1")
    assert cell(complaint, "Open cases") == "2"
    assert cell(complaint, "Closed cases") == "1"
    assert cell(complaint, "By") == "Shipped with the application"
    with services.db.read() as session:
        digest = specs.latest_version(session, "complaint").content_hash
    assert digest[:12] in cell(complaint, "Content hash")
    [improvement] = rows_of(page, "improvement")
    assert cell(improvement, "Open cases") == "0"
    assert first  # filed on version 1
    assert version_of(services, first) == 1


def test_a_new_version_shows_with_its_author_and_note_and_cases_stay_on_theirs(
        visitor, desk, services):
    old = desk.file()
    deploy_edited(services)
    new = desk.file()
    page = text_of(visitor("auditor").get("/processes"))
    newest, older = rows_of(page, "complaint")
    assert cell(newest, "Version").startswith("Version 2") and "Newest" in newest
    assert cell(newest, "By") == "owner"
    assert cell(newest, "Change note") == "Name the check more precisely"
    assert (cell(newest, "Open cases"), cell(older, "Open cases")) == ("1", "1")
    assert (version_of(services, old), version_of(services, new)) == (1, 2)


def test_a_version_page_shows_its_diagram_and_files_to_download(visitor, services):
    owner = visitor("owner")
    page = text_of(owner.get("/processes/complaint/versions/1"))
    assert "Customer complaint, version 1" in page and 'data-viewer="diagram-1"' in page
    # The diagram's own text is on the page (the viewer draws from it).
    assert "Check the record is complete" in page
    for name in complaint_files(services):
        assert f"/processes/complaint/versions/1/files/{name}" in page


def test_each_file_downloads_exactly_as_deployed(visitor, services):
    owner = visitor("auditor")
    for name, content in complaint_files(services).items():
        response = owner.get(f"/processes/complaint/versions/1/files/{name}")
        assert response.status_code == 200, name
        assert response.data == content
        assert "attachment" in response.headers["Content-Disposition"]
        assert name in response.headers["Content-Disposition"]
    assert owner.get("/processes/complaint/versions/1/files/nothing.bpmn").status_code == 404
    assert owner.get("/processes/complaint/versions/9/files/complaint.bpmn").status_code == 404


def test_all_files_of_a_version_download_as_one_zip(visitor, services):
    response = visitor("owner").get("/processes/complaint/versions/1/files.zip")
    assert response.status_code == 200
    assert response.headers["Content-Type"] == "application/zip"
    archive = zipfile.ZipFile(io.BytesIO(response.data))
    assert {name: archive.read(name) for name in archive.namelist()} == complaint_files(services)


def test_the_diff_lists_the_changed_element(visitor, services):
    deploy_edited(services)
    page = text_of(visitor("auditor").get("/processes/complaint/diff?from=1&to=2"))
    assert "version 1 and version 2" in page
    changed = re.findall(r'<tr class="diff-row diff-row--(\w+)" data-element="([^"]+)"', page)
    assert changed == [("changed", "check_record")]
    assert f"name: Check the record is complete → {NEW_TITLE}" in page
    # Both diagrams are there, the changed element marked on each.
    assert 'id="before-1"' in page and 'id="after-1"' in page
    assert page.count('&#34;changed&#34;: [&#34;check_record&#34;]') == 2 or \
        page.count('"changed": ["check_record"]') == 2


def test_the_diff_of_a_version_with_itself_says_nothing_differs(visitor):
    page = text_of(visitor("owner").get("/processes/complaint/diff?from=1&to=1"))
    assert "no element differs" in page


def test_the_diff_of_an_unknown_version_is_not_found(visitor):
    owner = visitor("owner")
    assert owner.get("/processes/complaint/diff?from=1&to=7").status_code == 404
    assert owner.get("/processes/nothing/diff").status_code == 404


def test_rollback_creates_a_new_version_that_new_cases_follow(visitor, desk, services):
    deploy_edited(services)
    on_two = desk.file()
    owner = visitor("owner")
    response = owner.post("/processes/complaint/versions/1/rollback",
                          {"note": "The new name confused the agents"},
                          token_from="/processes/complaint/versions/1")
    assert response.status_code == 302
    assert response.headers["Location"].endswith("/processes/complaint/versions/3")
    page = text_of(owner.get(response.headers["Location"]))
    assert "Version 3 restores the content of version 1" in page
    assert "The new name confused the agents" in page
    new = desk.file()
    assert (version_of(services, on_two), version_of(services, new)) == (2, 3)
    assert desk.task(new, "check_record").title == "Check the record is complete"
    with services.db.read() as session:
        assert versions.version_files(session, "complaint", 3) == \
            versions.version_files(session, "complaint", 1)


def test_rollback_needs_a_note_and_changes_nothing_without_one(visitor, services):
    deploy_edited(services)
    owner = visitor("owner")
    response = owner.post("/processes/complaint/versions/1/rollback", {"note": "  "},
                          token_from="/processes/complaint/versions/1")
    assert response.status_code == 422
    assert "Say why the procedure goes back to this version" in text_of(response)
    with services.db.read() as session:
        [complaint] = [p for p in versions.library(session)
                       if p.process_id == "complaint"]
    assert [v.version for v in complaint.versions] == [2, 1]


def test_compliance_reads_the_library_but_is_offered_no_rollback(visitor, services):
    deploy_edited(services)
    page = text_of(visitor("auditor").get("/processes/complaint/versions/1"))
    assert "Roll back" not in page
    page = text_of(visitor("owner").get("/processes/complaint/versions/1"))
    assert "Roll back" in page
    # The newest version is what new cases follow already: nothing to roll back to.
    assert "Roll back" not in text_of(visitor("owner").get("/processes/complaint/versions/2"))


def test_the_library_pages_speak_chinese(visitor, services):
    deploy_edited(services)
    owner = visitor("owner", accept_language=CHINESE)
    library = text_of(owner.get("/processes"))
    assert "流程库" in library and "Process library" not in library
    version = text_of(owner.get("/processes/complaint/versions/1"))
    assert "回滚到此版本" in version and "Roll back to this version" not in version
    diff = text_of(owner.get("/processes/complaint/diff?from=1&to=2"))
    assert "变更" in diff and "What changed" not in diff


def test_the_menu_leads_readers_of_the_library_there(visitor):
    assert 'href="/processes"' in text_of(visitor("owner").get("/settings"))
    assert 'href="/processes"' in text_of(visitor("auditor").get("/settings"))
    assert 'href="/processes"' not in text_of(visitor("agent").get("/settings"))


def test_a_case_history_shows_values_with_the_questions_of_its_own_version(visitor, desk,
                                                                          services):
    before = desk.file()
    desk.do(before, "check_record")
    files = shipped(services)
    files["check_record.schema.json"] = files["check_record.schema.json"].replace(
        b'"title": "Is the record complete?"', b'"title": "Is every fact on record?"')
    versions.deploy_bundle(services, files, note="A plainer question", actor="owner")
    after = desk.file()
    desk.do(after, "check_record")
    auditor = visitor("auditor")
    newer = text_of(auditor.get(f"/cases/{after}"))
    older = text_of(auditor.get(f"/cases/{before}"))
    assert "Is every fact on record?" in newer and "Is the record complete?" not in newer
    assert "Is the record complete?" in older and "Is every fact on record?" not in older
