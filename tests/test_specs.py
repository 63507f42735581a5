"""Spec registry: hostile and wrong documents are refused, nothing is deployed for them."""
from __future__ import annotations

import pytest
from sqlalchemy import func, select

from engine import specs, versions
from engine.models import ProcessVersion
from engine.services import COMPLAINT_PROCESS

BPMN_HEAD = ('<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL" '
             'id="d" targetNamespace="http://example.com/x">')


def shipped(services) -> dict[str, bytes]:
    return specs.read_directory(services.processes_dir)


def version_count(services) -> int:
    with services.db.read() as session:
        return session.execute(select(func.count(ProcessVersion.id))).scalar_one()


def try_deploy(services, sources):
    with services.db.write() as session:
        return specs.deploy(session, sources, COMPLAINT_PROCESS, "owner")


HOSTILE = {
    "doctype with external entity": (
        b'<?xml version="1.0"?><!DOCTYPE d [<!ENTITY x SYSTEM "file:///etc/passwd">]>'
        + BPMN_HEAD.encode() + b'<bpmn:process id="p">&x;</bpmn:process></bpmn:definitions>',
        "DOCTYPE"),
    "billion laughs": (
        b'<?xml version="1.0"?><!DOCTYPE lolz [<!ENTITY lol "lol">'
        b'<!ENTITY lol2 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">'
        b'<!ENTITY lol3 "&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;">'
        b'<!ENTITY lol4 "&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;">]>'
        + BPMN_HEAD.encode() + b'<bpmn:process id="p"><bpmn:documentation>&lol4;'
        b'</bpmn:documentation></bpmn:process></bpmn:definitions>', "DOCTYPE"),
    "external DTD": (
        b'<?xml version="1.0"?><!DOCTYPE d SYSTEM "http://example.com/evil.dtd">'
        + BPMN_HEAD.encode() + b'</bpmn:definitions>', "DOCTYPE"),
    "not BPMN": (b'<html><body>hello</body></html>', "not a BPMN 2.0 or DMN document"),
    "malformed": (b'<bpmn:definitions xmlns:bpmn="x"><unclosed>', "not well-formed"),
    "oversized": (BPMN_HEAD.encode() + b"<!--" + b"x" * (specs.MAX_DOCUMENT_BYTES + 1)
                  + b"--></bpmn:definitions>", "over the limit"),
    "fails the BPMN schema": (
        BPMN_HEAD.encode() + b'<bpmn:process id="complaint" isExecutable="true">'
        b'<bpmn:notAnElement/></bpmn:process></bpmn:definitions>', ""),
}


@pytest.mark.parametrize("name", sorted(HOSTILE))
def test_hostile_or_wrong_documents_are_refused(services, name):
    content, message = HOSTILE[name]
    before = version_count(services)
    with pytest.raises(specs.SpecError) as refused:
        try_deploy(services, {"complaint.bpmn": content})
    assert message in str(refused.value)
    assert "complaint.bpmn" in str(refused.value) or name == "fails the BPMN schema"
    assert version_count(services) == before


def test_unchanged_content_is_not_redeployed_and_changes_get_a_new_number(services):
    with services.db.read() as session:  # the files the shipped version holds
        sources = {name: text.encode() for name, text in
                   versions.version_files(session, COMPLAINT_PROCESS, 1).items()}
    version, created = try_deploy(services, sources)
    assert (version.version, created) == (1, False)
    changed = dict(sources)
    changed["complaint.bpmn"] = sources["complaint.bpmn"].replace(
        b'name="Check the record is complete"', b'name="Check that the record is complete"')
    version, created = try_deploy(services, changed)
    assert (version.version, created) == (2, True)
    assert version.content_hash == specs.content_hash(changed)


def test_scripts_that_try_to_escape_are_refused_at_deploy(services):
    sources = dict(shipped(services))
    text = sources["complaint.bpmn"].decode()
    assert "rejection_count = 0" in text
    sources["complaint.bpmn"] = text.replace(
        "rejection_count = 0", "rejection_count = ().__class__.__bases__[0].__subclasses__()",
        1).encode()
    with pytest.raises(specs.SpecError) as refused:
        try_deploy(services, sources)
    assert "__class__" in str(refused.value)


def test_expressions_in_task_properties_are_checked_at_deploy_too(services):
    sources = dict(shipped(services))
    text = sources["complaint.bpmn"].decode()
    honest = "{'ticket': ticket, 'department': department}"
    assert honest in text
    sources["complaint.bpmn"] = text.replace(
        honest, "{'ticket': ().__class__.__base__.__subclasses__()}", 1).encode()
    with pytest.raises(specs.SpecError) as refused:
        try_deploy(services, sources)
    assert "notifyValues" in str(refused.value) and "__class__" in str(refused.value)
