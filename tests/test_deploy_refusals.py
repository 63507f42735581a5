"""Every way a deploy of the procedure is refused, through the deploy API a process owner
or the modeler uses: each answer names the file, the element where there is one, and what
is wrong in words a process owner follows, and no version is added."""
from __future__ import annotations

import io
import re

import pytest
from sqlalchemy import func, select

from engine.models import ProcessVersion
from support.api import token
from support.bundle import shipped_bundle

BPMN = "complaint.bpmn"
NESTING = 100_000


def edit(name: str, old: bytes, new: bytes):
    def change(files: dict[str, bytes]) -> None:
        assert old in files[name], f"{old!r} is not in {name}"
        files[name] = files[name].replace(old, new, 1)
    return change


def with_doctype(doctype: bytes, body_extra: bytes = b""):
    """The complaint diagram behind a document type declaration (and entity uses)."""
    def change(files: dict[str, bytes]) -> None:
        text = re.sub(rb"^<\?xml[^>]*\?>\s*", b"", files[BPMN])
        text = text.replace(b'name="Check the record is complete"',
                            b'name="Check' + body_extra + b'"', 1)
        files[BPMN] = b'<?xml version="1.0" encoding="UTF-8"?>\n' + doctype + b"\n" + text
    return change


def padded(extra: bytes):
    def change(files: dict[str, bytes]) -> None:
        files[BPMN] = files[BPMN].replace(b"</bpmn:definitions>",
                                          extra + b"</bpmn:definitions>", 1)
    return change


# name: (change to the shipped files, file at fault, element at fault or None, words said)
REFUSALS = {
    "XXE (an external entity)": (
        with_doctype(b'<!DOCTYPE d [<!ENTITY x SYSTEM "file:///etc/passwd">]>', b"&x;"),
        BPMN, None, "DOCTYPE"),
    "entity expansion": (
        with_doctype(b'<!DOCTYPE d [<!ENTITY a "aaaaaaaaaa">'
                     b'<!ENTITY b "&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;">'
                     b'<!ENTITY c "&b;&b;&b;&b;&b;&b;&b;&b;&b;&b;">'
                     b'<!ENTITY d "&c;&c;&c;&c;&c;&c;&c;&c;&c;&c;">]>', b"&d;"),
        BPMN, None, "DOCTYPE"),
    "an external DTD": (
        with_doctype(b'<!DOCTYPE definitions SYSTEM "http://example.com/evil.dtd">'),
        BPMN, None, "DOCTYPE"),
    "a 10 MB diagram": (
        padded(b"<!--" + b"x" * (10 * 1024 * 1024) + b"-->"), BPMN, None, "over the limit"),
    "100,000-deep nesting": (
        padded(b"<bpmn:documentation>" + b"<i>" * NESTING + b"</i>" * NESTING
               + b"</bpmn:documentation>"), BPMN, None, "nest"),
    "a user task without a lane": (
        edit(BPMN, b"<bpmn:flowNodeRef>check_record</bpmn:flowNodeRef>", b""),
        BPMN, "check_record", "lane"),
    "a user task without a form": (
        edit(BPMN, b'<spiffworkflow:property name="formJsonSchemaFilename" '
                   b'value="check_record.schema.json"/>', b""),
        BPMN, "check_record", "form"),
    "a condition that does not compile": (
        edit(BPMN, b"record_complete == True</bpmn:conditionExpression>",
             b"record_complete ==</bpmn:conditionExpression>"),
        BPMN, "flow_record_complete", "record_complete =="),
    "a sandbox escape in a script task": (
        edit(BPMN, b"<bpmn:script>rejection_count = 0",
             b"<bpmn:script>__import__('os').system('id')\nrejection_count = 0"),
        BPMN, "script_init", "__import__"),
    "a sandbox escape in a condition": (
        edit(BPMN, b"record_complete == True</bpmn:conditionExpression>",
             b"().__class__.__bases__[0].__subclasses__()</bpmn:conditionExpression>"),
        BPMN, "flow_record_complete", "__class__"),
    "a failing scenario": (
        # Compiles and checks, but sends a complete record down the "facts missing" branch.
        edit(BPMN, b"record_complete == True</bpmn:conditionExpression>",
             b"record_complete == False</bpmn:conditionExpression>"),
        "general_accepted.scenario.json", None, "General complaint"),
}


def version_count(services) -> int:
    with services.db.read() as session:
        return session.execute(select(func.count(ProcessVersion.id))).scalar_one()


def deploy(client, headers, files: dict[str, bytes]):
    return client.post("/api/v1/processes", headers=headers, content_type="multipart/form-data",
                       data={"note": "An attempt", "files": [
                           (io.BytesIO(content), name) for name, content in files.items()]})


@pytest.mark.parametrize("case", list(REFUSALS))
def test_a_deploy_is_refused_naming_file_and_element_and_nothing_is_deployed(
        client, services, case):
    change, file, element, words = REFUSALS[case]
    files = shipped_bundle()
    change(files)
    before = version_count(services)
    response = deploy(client, token(client, "owner"), files)
    assert response.status_code in (413, 422), response.get_data(as_text=True)[:500]
    problems = response.get_json()["problems"]
    at_fault = [p for p in problems if p["file"] == file
                and (element is None or p.get("element") == element)]
    assert at_fault, problems
    said = " ".join(p["message"] for p in at_fault)
    assert words.lower() in said.lower(), said
    # Plain words: no Python object descriptions or tracebacks.
    assert "Traceback" not in said and "<lxml" not in said and "object at 0x" not in said
    assert version_count(services) == before
