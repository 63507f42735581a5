"""The staff inbox: my tasks, my team's queue, claim/release, and working a task."""
from __future__ import annotations

import dataclasses

from flask import (
    Blueprint, current_app, flash, make_response, redirect, render_template, request, url_for,
)

from engine import cases as case_service
from engine import forms, ledger, notifications, reassignment, runtime, task_forms, tasks
from engine.errors import AlreadyClaimed, AlreadyCompleted, NotFound, ProcessError
from engine.form_values import storable_params
from engine.forms import FormInvalid

from . import formrender
from .htmx import swap_target
from .i18n import _, current_zone, local_time, translate
from .identity import current_actor, staff_page
from .presenters.history import history_fields, history_rows
from .presenters import reviewed_item
from .presenters.queues import queue_label
from .services import services

bp = Blueprint("inbox", __name__)


# --------------------------------------------------------------------------- inbox

# The parts of the inbox that htmx asks for by their element id; any other request gets
# the whole page, so everything works without JavaScript.
PARTIALS = {"inbox-content": "_inbox_content.html", "inbox-results": "_inbox_results.html"}


# Rows per inbox list before "show all": enough for a day's work, small enough to be quick.
LIST_LIMIT = 100


def _htmx_region():
    """The id of the inbox part to answer with, or None for the whole page."""
    return swap_target(PARTIALS, default="inbox-content")


def notice_text(notice: notifications.Notice, department_names: dict[str, str]) -> str:
    """A notice in the reader's language, its times in the reader's zone."""
    zone = current_zone()
    return notifications.text_of(
        notice, translate, lambda moment: f"{local_time(moment)} {zone.key}",
        department_names)


def no_match_text(filters: tasks.WorklistFilter, queue_name: str) -> str:
    """Why a filtered list is empty, in the filters' own words."""
    if filters.queue and filters.overdue:
        text = _("No overdue tasks in the queue %(queue)s.", queue=queue_name)
    elif filters.queue:
        text = _("No open tasks in the queue %(queue)s.", queue=queue_name)
    elif filters.overdue:
        text = _("No overdue tasks.")
    else:
        text = _("No open tasks match.")
    narrowed = []
    if filters.title:
        narrowed.append(_("task type “%(task)s”", task=translate(filters.title)))
    if filters.text:
        narrowed.append(_("ticket or customer “%(text)s”", text=filters.text))
    if narrowed:
        text += " " + _("Filtered by %(filters)s.", filters=_(", ").join(narrowed))
    return text


def _inbox(filters: tasks.WorklistFilter):
    """The inbox (or the part htmx asked for) with the given filters."""
    actor = current_actor()
    now = services().now()
    region = _htmx_region()
    with services().db.read() as db:
        views = tasks.worklist(db, actor, filters=filters, now=now)
        summary = tasks.worklist_summary(db, actor, now)
        department_names = task_forms.department_names(db)
        notices = notifications.for_actor(db, actor) if region is None else []
    notices = [dataclasses.replace(n, subject=notice_text(n, department_names))
               for n in notices]
    labels = {item.queue.key: queue_label(item.queue, department_names)
              for item in summary.queues}
    if filters.queue and filters.queue.key not in labels:
        labels[filters.queue.key] = queue_label(filters.queue, department_names)
    titles = sorted({*summary.titles, *([filters.title] if filters.title else [])},
                    key=translate)
    response = make_response(render_template(
        PARTIALS.get(region, "inbox.html"),
        mine=[v for v in views if v.assignee == actor.username],
        queue=[v for v in views if v.assignee != actor.username],
        summary=summary, filters=filters, filter_args=filters.params(), queue_labels=labels,
        task_titles=titles, notices=notices, now=now, region=region,
        list_limit=LIST_LIMIT, show_all=request.args.get("all") == "1",
        no_match=no_match_text(filters, labels.get(filters.queue.key, "") if filters.queue
                               else "") if filters.active else None))
    response.vary.update(("HX-Request", "HX-Target"))
    if region and request.method == "GET":
        # The address bar shows the filters without empty parameters.
        response.headers["HX-Push-Url"] = url_for("inbox.index", **filters.params())
    return response


def _back_to_inbox():
    """After claim/release: the inbox part for htmx, else a redirect to the inbox with the
    filters the person was using (carried in the form's address)."""
    filters = tasks.WorklistFilter.from_params(storable_params(request.args))
    if _htmx_region() is not None:
        return _inbox(filters)
    return redirect(url_for("inbox.index", **filters.params()))


def _message(exc: Exception) -> str:
    return translate(exc.args[0] if exc.args else str(exc))


@bp.get("/")
@staff_page
def index():
    return _inbox(tasks.WorklistFilter.from_params(storable_params(request.args)))


@bp.post("/tasks/<task_id>/claim")
@staff_page
def claim(task_id: str):
    try:
        with services().db.write() as db:
            view = tasks.claim(db, current_actor(), task_id, services().now())
    except (AlreadyCompleted, AlreadyClaimed) as exc:
        flash(_message(exc), "warning")
        return _back_to_inbox()
    flash(_("Claimed: %(task)s (%(ticket)s)", task=translate(view.title), ticket=view.ticket),
          "success")
    if request.form.get("then") == "open":
        return redirect(url_for("inbox.task", task_id=task_id))
    return _back_to_inbox()


@bp.post("/tasks/<task_id>/release")
@staff_page
def release(task_id: str):
    try:
        with services().db.write() as db:
            view = tasks.release(db, current_actor(), task_id)
    except (AlreadyCompleted, AlreadyClaimed) as exc:
        flash(_message(exc), "warning")
        return _back_to_inbox()
    flash(_("Released to the team queue: %(task)s (%(ticket)s)", task=translate(view.title),
            ticket=view.ticket), "success")
    return _back_to_inbox()


@bp.post("/tasks/<task_id>/reassign")
@staff_page
def reassign(task_id: str):
    ticket = request.form.get("ticket", "")
    try:
        with services().db.write() as db:
            view = reassignment.reassign(db, current_actor(), task_id, request.form.get("assignee", ""),
                                  request.form.get("reason", ""), services().now())
    except FormInvalid as exc:
        flash(_("Not reassigned: %(reasons)s",
                reasons=" ".join(translate(v) for v in exc.fields.values())), "warning")
        return redirect(url_for("cases.view", ticket=ticket) if ticket else url_for("inbox.index"))
    except AlreadyCompleted as exc:
        flash(_message(exc), "warning")
        return redirect(url_for("inbox.index"))
    flash(_("Reassigned to %(person)s: %(task)s (%(ticket)s)", person=view.assignee,
            task=translate(view.title), ticket=view.ticket), "success")
    return redirect(url_for("cases.view", ticket=view.ticket))


# --------------------------------------------------------------------------- a task

def _case_summary(ticket: str):
    """The case record and earlier steps for the side panel (None if not visible)."""
    with services().db.read() as db:
        try:
            case = case_service.load_case(services(), db, current_actor(), ticket)
        except NotFound:
            return None, [], []
        schema, ui = case_service.record_form(services(), db, case)
        history_props = history_fields(db, schema, case)
    steps = [h for h in history_rows(case, history_props) if h["kind"] == "task_completed"]
    return case, formrender.record_rows(schema, ui, case.record), steps


def _task_page(detail, values, errors=None, status=200):
    case, record, steps = _case_summary(detail.task.ticket)
    form_schema, form_ui = reviewed_item.form_without_copies(detail.schema, detail.ui,
                                                             detail.reviewed)
    with services().db.read() as db:
        department_names = task_forms.department_names(db)
    return render_template(
        "task.html", detail=detail, task=detail.task, values=values, errors=errors or {},
        reviewed=reviewed_item.present(detail.reviewed), form_schema=form_schema,
        form_ui=form_ui,
        case=case, record=record, steps=steps, now=services().now(),
        queue_name=queue_label(detail.task.queue, department_names),
        ledger_link=_ledger_link(detail),
    ), status


def _ledger_link(detail):
    """Where this step proposes rewards and penalties for its case (the responsibility
    step, the monthly review), for those who may propose them."""
    source = ledger.PROPOSING_STEPS.get(detail.task.name)
    if source is None or not ledger.may_propose(current_actor()):
        return None
    if source == "monthly_review":
        return url_for("ledger.propose_form", source=source, source_ticket=detail.task.ticket,
                       period=detail.values.get("period") or "")
    return url_for("ledger.propose_form", source=source, ticket=detail.task.ticket)


@bp.get("/tasks/<task_id>")
@staff_page
def task(task_id: str):
    try:
        detail = runtime.task_detail(services(), current_actor(), task_id)
    except (AlreadyCompleted, AlreadyClaimed) as exc:
        flash(_message(exc), "warning")
        return redirect(url_for("inbox.index"))
    return _task_page(detail, detail.values)


@bp.post("/tasks/<task_id>")
@staff_page
def complete(task_id: str):
    actor = current_actor()

    def read_form(schema: dict, ui: dict) -> dict:
        return forms.coerce_submission(schema, formrender.posted(schema, ui, request.form))

    try:
        # One read of the task, its case and its form; the page is built again only when
        # the step failed and nothing was saved.
        result = runtime.complete_task(services(), actor, task_id, read_form=read_form)
    except (AlreadyCompleted, AlreadyClaimed) as exc:
        flash(_message(exc), "warning")
        return redirect(url_for("inbox.index"))
    except FormInvalid as exc:
        detail = runtime.task_detail(services(), actor, task_id)
        return _task_page(detail, request.form, exc.fields or {"": str(exc)}, status=422)
    except ProcessError as exc:
        # Nothing was changed: keep the input and say what failed.
        current_app.logger.error("task %s failed: %s", task_id, exc)
        detail = runtime.task_detail(services(), actor, task_id)
        return _task_page(detail, request.form, {
            "": _("The process could not continue: %(problem)s Nothing was saved; tell the "
                  "process owner.", problem=translate(exc))}, status=exc.status)
    flash(_("Done: %(task)s (%(ticket)s)", task=translate(result["task_title"]),
            ticket=result["ticket"]), "success")
    if result.get("linked_ticket"):
        flash(_("A linked complaint was registered: %(ticket)s", ticket=result["linked_ticket"]),
              "info")
    if result.get("status") == "closed":
        flash(_("Case %(ticket)s is closed.", ticket=result["ticket"]), "info")
    return redirect(url_for("inbox.index"))
