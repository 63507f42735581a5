"""The process library from a test's side: which version a case runs on, and a second
version of the complaint process deployed the way a process owner would."""
from __future__ import annotations

from sqlalchemy import select

from engine import versions
from engine.models import ProcessInstance
from support.bundle import shipped_bundle

NEW_TITLE = "Check the record is complete and plausible"


def version_of(services, ticket: str) -> int:
    """The version number of the process the case runs on."""
    with services.db.read() as session:
        return session.execute(select(ProcessInstance).where(
            ProcessInstance.ticket == ticket)).scalar_one().version.version


def deploy_edited(services, note: str = "Name the check more precisely") -> None:
    """A second version of the complaint process: one user task renamed."""
    files = shipped_bundle()
    files["complaint.bpmn"] = files["complaint.bpmn"].replace(
        b'name="Check the record is complete"', f'name="{NEW_TITLE}"'.encode())
    versions.deploy_bundle(services, files, note=note, actor="owner")
