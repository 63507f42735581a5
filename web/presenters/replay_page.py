"""A case's replay as the pages show it: the version's diagrams with the path marked, the
steps with who, when, how long and whether on time, and the timeline. The replay page
shows all of it; the case page shows the diagram alone, with where the case is now."""
from __future__ import annotations

from pathlib import Path

from flask import current_app, url_for

from engine import process_access, replay, task_forms
from engine.customers import CUSTOMER
from engine.i18n import N_

from .. import formrender
from ..i18n import _, translate
from ..identity import current_actor
from ..services import services
from .history import ON_BEHALF_NAMES

WORKBENCH_FOLDER = "workbench"

ELEMENT_TYPES = {
    "userTask": N_("Task"), "manualTask": N_("Task"), "task": N_("Task"),
    "scriptTask": N_("Script"), "serviceTask": N_("Service call"),
    "businessRuleTask": N_("Decision table"), "sendTask": N_("Message sent"),
    "receiveTask": N_("Message received"),
    "exclusiveGateway": N_("Gateway"), "parallelGateway": N_("Parallel split or join"),
    "inclusiveGateway": N_("Inclusive split or join"), "eventBasedGateway": N_("Event gateway"),
    "startEvent": N_("Start"), "endEvent": N_("End"),
    "boundaryEvent": N_("SLA timer"), "intermediateCatchEvent": N_("Wait"),
    "intermediateThrowEvent": N_("Event"), "callActivity": N_("Called process"),
    "subProcess": N_("Subprocess"),
}
STATES = {"completed": N_("Done"), "active": N_("Now here"), "cancelled": N_("Stopped"),
          "failed": N_("Failed")}
MOMENTS = {
    "filed": N_("Complaint registered"),
    "opened": N_("Step opened"),
    "assigned": N_("Assigned by the procedure"),
    "claimed": N_("Claimed"),
    "released": N_("Released"),
    "reassigned": N_("Reassigned"),
    "paused": N_("SLA clock paused: waiting on the customer"),
    "resumed": N_("SLA clock running again"),
    "reminder": N_("SLA reminder sent"),
    "breach": N_("SLA deadline missed"),
    "escalation": N_("SLA escalated to leadership"),
    "timer": N_("Waiting time over"),
    "completed": N_("Step completed"),
    "cancelled": N_("Step stopped"),
    "failed": N_("Step failed"),
    "subprocess_started": N_("Called process started"),
    "subprocess_ended": N_("Called process ended"),
    "closed": N_("Case closed"),
    "withdrawn": N_("Withdrawn by the customer"),
    "follow_on": N_("Improvement project started"),
}
# The moments that tell of deadlines and waiting, for the timeline's colours.
ALERT_MOMENTS = {"reminder": "warn", "breach": "alert", "escalation": "alert",
                 "paused": "pause", "resumed": "pause", "timer": "timer"}
# Kinds of elements people work or wait on: the steps the table shows by default.
STEP_TYPES = {"userTask", "manualTask", "callActivity", "intermediateCatchEvent",
              "boundaryEvent", "receiveTask"}


def workbench_files() -> dict:
    """The viewer bundle's script and style sheet, when it is built into the static
    folder (`make assets`)."""
    folder = Path(current_app.static_folder) / WORKBENCH_FOLDER

    def urls(pattern: str) -> list[str]:
        return [url_for("static", filename=f"{WORKBENCH_FOLDER}/{path.name}")
                for path in sorted(folder.glob(pattern))]
    return {"scripts": urls("*.js"), "styles": urls("*.css")}


def clock_text(seconds) -> str:
    """A span of clock time, short: "45 min", "2 h 05 min", "3 d 4 h"."""
    if seconds is None:
        return "—"
    minutes = int(round(seconds / 60))
    days, rest = divmod(minutes, 24 * 60)
    hours, minutes = divmod(rest, 60)
    if days:
        return _("%(days)s d %(hours)s h", days=days, hours=hours)
    if hours:
        return _("%(hours)s h %(minutes)02d min", hours=hours, minutes=minutes)
    return _("%(minutes)s min", minutes=minutes)


def business_text(seconds) -> str:
    """Business time in working hours, to the tenth of an hour."""
    if seconds is None:
        return "—"
    return _("%(hours)s working h", hours=f"{seconds / 3600:.1f}")


def _actor_name(username) -> str:
    if not username:
        return ""
    return translate(CUSTOMER.display_name) if username == CUSTOMER.username else username


def _submitted(data: dict, props: dict) -> list[tuple[str, str]]:
    rows = []
    for name, value in data.items():
        prop = props.get(name) or {}
        rows.append((translate(prop.get("title") or formrender.humanize(name)),
                     formrender.display_value(prop, value)))
    return rows


def diagram_data(found: replay.Replay) -> list[dict]:
    """What the page script draws: each diagram's XML, the path's marks, loop counts and
    the steps that missed their deadline."""
    shown = []
    for n, diagram in enumerate(found.diagrams, start=1):
        shown.append({
            "id": f"replay-diagram-{n}", "file": diagram.file,
            "name": translate(diagram.name),
            "data": {"xml": diagram.xml, "marks": diagram.marks(), "loops": diagram.loops,
                     "breached": diagram.breached,
                     "labels": {"passes": _("passes"), "breached": _("Deadline missed")}},
            "visited": diagram.visited,
        })
    return shown


def replay_page_data(ticket: str) -> dict:
    """Everything the replay page shows of the case (NotFound as for the case page)."""
    actor = current_actor()
    with services().db.read() as db:
        found = replay.replay(services(), db, actor, ticket)
        props = task_forms.field_properties(services(), db, found.version_id)
        dept_names = task_forms.department_names(db)
    steps = []
    for n, visit in enumerate(found.visits, start=1):
        steps.append({
            "n": n, "element_id": visit.element_id, "name": translate(visit.name),
            "type": translate(ELEMENT_TYPES.get(visit.type) or formrender.humanize(visit.type)),
            "bpmn_type": visit.type, "is_step": visit.type in STEP_TYPES,
            "state": visit.state, "state_text": translate(STATES.get(visit.state, visit.state)),
            "lane": visit.lane, "loop": visit.loop, "entered_at": visit.entered_at,
            "left_at": visit.left_at, "actor": _actor_name(visit.actor),
            "on_behalf_of": translate(ON_BEHALF_NAMES.get(visit.on_behalf_of,
                                                          visit.on_behalf_of or "")),
            "assignee": visit.assignee,
            "department": dept_names.get(visit.department, visit.department or ""),
            "due_at": visit.due_at, "breached": visit.breached, "paused": visit.paused,
            "business": business_text(visit.business_seconds) if visit.is_task else "",
            "clock": clock_text(visit.clock_seconds),
            "data": _submitted(visit.data, props),
            "file": visit.file,
        })
    timeline = []
    for moment in found.timeline:
        facts = []
        detail = moment.detail
        if moment.kind in ("assigned", "reassigned") and detail.get("to"):
            facts.append((_("To"), detail["to"]))
        if moment.kind == "reassigned":
            if detail.get("previous"):
                facts.append((_("From"), detail["previous"]))
            if detail.get("reason"):
                facts.append((_("Reason"), detail["reason"]))
        if moment.kind in ("reminder", "breach", "escalation", "opened") and detail.get("due_at"):
            facts.append((_("Due"), formrender.display_value(
                {"type": "string", "format": "date-time"}, detail["due_at"])))
        if moment.kind == "opened" and detail.get("department"):
            facts.append((_("Department"), dept_names.get(detail["department"],
                                                          detail["department"])))
        if detail.get("on_behalf_of"):
            facts.append((_("On behalf of"), translate(ON_BEHALF_NAMES.get(
                detail["on_behalf_of"], detail["on_behalf_of"]))))
        for key, label in (("reason", _("Reason")), ("problem", _("What failed")),
                           ("ticket", _("Ticket"))):
            if key in detail and moment.kind in ("closed", "cancelled", "withdrawn",
                                                 "failed", "follow_on"):
                facts.append((label, str(detail[key])))
        timeline.append({
            "at": moment.at, "kind": moment.kind,
            "title": translate(MOMENTS.get(moment.kind, formrender.humanize(moment.kind))),
            "step": translate(moment.title) if moment.title else "",
            "element_id": moment.element_id, "actor": _actor_name(moment.actor),
            "facts": facts, "tone": ALERT_MOMENTS.get(moment.kind, ""),
        })
    tasks_done = [s for s in steps if s["bpmn_type"] in ("userTask", "manualTask")]
    return {
        "replay": found, "steps": steps, "timeline": timeline,
        "diagrams": diagram_data(found), "workbench": workbench_files(),
        "summary": {
            "steps": len(tasks_done),
            "breached": sum(1 for s in tasks_done if s["breached"]),
            "loops": sorted({s["name"] for s in steps if s["loop"] > 1 and s["is_step"]}),
            "active": [s["name"] for s in steps if s["state"] == "active"],
        },
        "may_read_library": process_access.may_read(actor),
    }


def position_data(ticket: str) -> dict:
    """The case page's compact diagram: the case's own process, its path and where it is."""
    actor = current_actor()
    with services().db.read() as db:
        found = replay.replay(services(), db, actor, ticket)
    own = [d for d in diagram_data(found)][:1]
    active = [translate(v.name) for v in found.visits if v.state == "active"]
    return {"diagrams": own, "workbench": workbench_files(), "active": active,
            "version": found.version, "process_id": found.process_id}
