"""What the acknowledgement promises a complainant: the expected handling time (seed 000,
"预计的处理时间") and, for a complaint received outside the departments' working hours, when
they will take it up (seed 000's automatic reply outside working hours).

The handling time is the SLA table's own: the hours by which customer service presents a
solution, counted from receipt in customer service's calendar. Urgency is decided later,
at classification, so the promise is the one for a complaint of normal urgency; an urgent
complaint is then answered sooner than promised, never later.
"""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from types import SimpleNamespace
from typing import Optional

from SpiffWorkflow.bpmn.workflow import BpmnWorkflow

# The complaint process's decision step that sets every step's hours (sla.dmn), and the
# output that says when the customer hears of a solution.
SLA_STEP = "sla_lookup"
SOLUTION_HOURS = "sla_present_hours"
PROMISED_URGENCY = "normal"


@dataclass(frozen=True)
class Promise:
    solution_by: dt.datetime
    # Set when the complaint arrived while the departments were closed.
    departments_from: Optional[dt.datetime] = None


def _solution_hours(workflow: BpmnWorkflow) -> Optional[float]:
    """The hours the deployed SLA table gives a complaint of normal urgency; None when the
    diagram has no such table (a process owner's variant without it)."""
    spec = workflow.spec.task_specs.get(SLA_STEP)
    engine = getattr(spec, "dmnEngine", None)
    if engine is None:
        return None
    # The decision reads only the urgency: a stand-in task carries it, because the step's
    # real task lies in the future until the complaint has been classified.
    stand_in = SimpleNamespace(data={"urgency": PROMISED_URGENCY}, workflow=workflow,
                               task_spec=spec)
    hours = engine.result(stand_in).get(SOLUTION_HOURS)
    return float(hours) if isinstance(hours, (int, float)) else None


def promise_for(calendars, workflow: BpmnWorkflow,
                received_at: dt.datetime) -> Optional[Promise]:
    """`calendars` is the services' engine.sla.CalendarBook (not imported: the SLA
    mails import this module's Promise through the announcements)."""
    hours = _solution_hours(workflow)
    if hours is None:
        return None
    solution_by = calendars.for_team(None).add(received_at, dt.timedelta(hours=hours))
    opening = calendars.company().next_opening(received_at)
    return Promise(solution_by=solution_by,
                   departments_from=opening if opening > received_at else None)
