"""What follows the close of a case: a closed major complaint, or a general one its
department flagged, starts a separate improvement project linked to it."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Optional

from .intake import subject_of
from .services import COMPLAINT_PROCESS

IMPROVEMENT_PROCESS = "improvement"
IMPROVEMENT_FIELDS = ("ticket", "lead_department", "department", "root_cause", "capa_measures",
                      "complaint_type", "measures", "path")


@dataclass(frozen=True)
class FollowOn:
    process_id: str
    ticket: str
    data: dict
    columns: dict


def follow_on_process(process_id: str, ticket: str, data: dict) -> Optional[FollowOn]:
    """The process a closing case starts, if any (an improvement project carries its
    complaint's path, so closing one starts nothing)."""
    if process_id != COMPLAINT_PROCESS:
        return None
    if data.get("path") != "major" and not data.get("improvement_requested"):
        return None
    return improvement_for(ticket, data)


def improvement_for(ticket: str, data: dict) -> FollowOn:
    """The improvement project of the complaint with this ticket and case data."""
    start = {k: data.get(k) for k in IMPROVEMENT_FIELDS}
    start["complaint_ticket"] = ticket
    start["lead_department"] = start.get("lead_department") or data.get("department")
    return FollowOn(process_id=IMPROVEMENT_PROCESS, ticket=f"I{ticket}", data=start,
                    columns={"parent_ticket": ticket, "subject": subject_of(data),
                             "department_code": start["lead_department"],
                             "complaint_type": data.get("complaint_type")})
