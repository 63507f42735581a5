"""The statistics page (a month, a quarter or any dates; all departments or one), with
its charts, tables and downloads. Every figure links to the case list showing the cases
behind it. The same figures are at GET /api/v1/statistics (web/api.py)."""
from __future__ import annotations

import datetime as dt
import re
from typing import Optional

from flask import Blueprint, Response, render_template, request, stream_with_context, url_for

from engine import exports, statistics, task_forms, tasks
from engine.errors import NotFound, ServiceError
from engine.form_values import storable_params
from engine.i18n import COMPANY_ZONE, N_
from engine.statistics import NOT_CLASSIFIED, Period, Scope

from . import formrender
from .i18n import _, translate
from .identity import guarded_page
from .services import services

bp = Blueprint("statistics", __name__, url_prefix="/statistics")

TEAM_TITLES = {"customer_service": N_("Customer service"), "gm_office": N_("General manager's office"),
               "leadership": N_("Leadership group"), "supervisor": N_("Supervision department")}
STATUS_TITLES = {"open": N_("Open"), "closed": N_("Closed"), "cancelled": N_("Cancelled"),
                 "error": N_("Error")}
PATH_TITLES = {"general": N_("General"), "major": N_("Major")}
_MONTH = re.compile(r"^(\d{4})-(\d{2})$")
_QUARTER = re.compile(r"^(\d{4})-Q([1-4])$")


# Signed in and a reader of these figures; the figures stay out of every cache
# (web/cache_policy.py).
statistics_page = guarded_page(statistics.require_reader)


# --------------------------------------------------------------------------- the period

def period_from(args) -> tuple[Period, str]:
    """The period the page asks for: `period` is month (`month=YYYY-MM`, the default: this
    month), quarter (`quarter=YYYY-Qn`) or range (`from`, `to`)."""
    kind = args.get("period") or ("range" if args.get("from") or args.get("to") else
                                  "quarter" if args.get("quarter") else "month")
    if kind == "range":
        return Period.parse(args.get("from"), args.get("to")), kind
    if kind == "quarter":
        quarter = args.get("quarter") or _quarter_key(Period.containing(services().now(),
                                                                        "quarter"))
        found = _QUARTER.match(quarter.strip())
        if not found or not 2000 <= int(found[1]) <= 2100:
            raise ServiceError(N_("Give the quarter as YYYY-Qn, e.g. 2026-Q4."))
        return Period.quarter(int(found[1]), int(found[2])), kind
    if kind != "month":
        raise ServiceError(N_("The period is a month, a quarter or a range of dates."))
    month = args.get("month") or ""
    if not month:
        return Period.containing(services().now()), kind
    found = _MONTH.match(month.strip())
    if not found or not 1 <= int(found[2]) <= 12 or not 2000 <= int(found[1]) <= 2100:
        raise ServiceError(N_("Give the month as YYYY-MM, e.g. 2026-11."))
    return Period.month(int(found[1]), int(found[2])), kind


def _quarter_key(period: Period) -> str:
    return f"{period.first.year}-Q{(period.first.month - 1) // 3 + 1}"


def _neighbours(period: Period, kind: str) -> dict:
    """The period before and after, as page arguments (months and quarters only)."""
    if kind == "month":
        before = period.first - dt.timedelta(days=1)
        after = period.last + dt.timedelta(days=1)
        return {"previous": {"period": "month", "month": before.strftime("%Y-%m")},
                "next": {"period": "month", "month": after.strftime("%Y-%m")}}
    if kind == "quarter":
        before = Period.containing(_noon(period.first - dt.timedelta(days=1)), "quarter")
        after = Period.containing(_noon(period.last + dt.timedelta(days=1)), "quarter")
        return {"previous": {"period": "quarter", "quarter": _quarter_key(before)},
                "next": {"period": "quarter", "quarter": _quarter_key(after)}}
    return {}


def _noon(day: dt.date) -> dt.datetime:
    return dt.datetime.combine(day, dt.time(12), COMPANY_ZONE)


# --------------------------------------------------------------------------- the page

class Links:
    """Addresses of the case list showing the complaints behind a figure."""

    def __init__(self, period: Period, department: Optional[str]):
        self.base = {"since": period.first.isoformat(), "until": period.last.isoformat(),
                     "kind": "complaint"}
        if department:
            self.base["department"] = department

    def cases(self, **filters) -> str:
        return url_for("cases.index", **{**self.base, **filters})

    def figure(self, figure: str) -> str:
        return self.cases(figure=figure)


def _labels(props: dict, field: str) -> dict:
    return dict(formrender.choices(props.get(field) or {}) or [])


def _percent(value: Optional[float]) -> str:
    return "—" if value is None else f"{value * 100:.1f} %"


def _hours(value: Optional[float]) -> str:
    return "—" if value is None else _("%(hours)s h", hours=f"{value:.1f}")


def _rows(counts: dict, labels: dict, link) -> list[dict]:
    return [{"value": value, "label": labels.get(value) or value, "count": count,
             "link": link(value)} for value, count in counts.items()]


def page_model(figures: statistics.Statistics, props: dict, departments: dict) -> dict:
    """What the template shows, with every label in the reader's language and every
    figure's link."""
    links = Links(figures.period, figures.department)
    not_set = _("Not set")
    type_labels = {**_labels(props, "complaint_type"), "": not_set}
    channel_labels = {**_labels(props, "channel"), "": not_set}
    urgency_labels = {**_labels(props, "urgency"), NOT_CLASSIFIED: _("Not classified yet")}
    satisfaction_labels = _labels(props, "satisfaction")
    path_labels = {k: _(v) for k, v in PATH_TITLES.items()} | {"": _("Not classified yet")}
    department_names = {code: translate(name) for code, name in departments.items()}
    team_names = {**{lane: _(title) for lane, title in tasks.LANE_TITLES.items()},
                  **department_names, **{k: _(v) for k, v in TEAM_TITLES.items()}}

    def dept_name(code: str) -> str:
        return department_names.get(code, code) if code else _("Not dispatched yet")

    model = {
        "by_type": _rows(figures.by_type, type_labels,
                         lambda v: links.cases(type=v) if v else None),
        "by_channel": _rows(figures.by_channel, channel_labels,
                            lambda v: links.figure(f"channel:{v}")),
        "by_urgency": _rows(figures.by_urgency, urgency_labels,
                            lambda v: links.figure(f"urgency:{v}")),
        "by_path": _rows(figures.by_path, path_labels,
                         lambda v: links.cases(path=v) if v else None),
        "by_status": _rows(figures.by_status, {k: _(v) for k, v in STATUS_TITLES.items()},
                           lambda v: links.cases(status=v)),
        "satisfaction": _rows(figures.satisfaction.levels, satisfaction_labels,
                              lambda v: links.figure(f"satisfaction:{v}")),
        "steps": [{"title": translate(s.title), "figure": s, "rate": _percent(s.rate),
                   "late_link": links.figure(f"late_step:{s.key}")}
                  for s in figures.on_time_by_step],
        "teams": [{"title": team_names.get(t.key, t.key), "figure": t, "rate": _percent(t.rate),
                   "late_link": links.figure(f"late_team:{t.key}")}
                  for t in figures.on_time_by_team],
        "departments": [{"name": dept_name(d.department), "figure": d,
                         "link": links.cases(department=d.department) if d.department
                         else None,
                         "closed_link": links.cases(department=d.department, status="closed")
                         if d.department else None,
                         "on_time": _percent(d.on_time.rate),
                         "median": _hours(d.handling.median_hours),
                         "p90": _hours(d.handling.p90_hours),
                         "satisfied": _percent(d.satisfaction.satisfied_rate)}
                        for d in figures.by_department],
        "summary": {
            "received": links.cases(),
            "closed": links.cases(status="closed"),
            "late": links.figure("late"),
            "repeat": links.figure("repeat"),
            "rejected": links.figure("rejected"),
            "escalated": links.figure("escalated"),
            "breached": links.figure("breached"),
            "rejection_escalated": links.figure("rejection_escalated"),
            "improvements_open": url_for("cases.index", kind="improvement", status="open",
                                         **{k: v for k, v in links.base.items()
                                            if k != "kind"}),
            "improvements_done": url_for("cases.index", kind="improvement", status="closed",
                                         **{k: v for k, v in links.base.items()
                                            if k != "kind"}),
        },
        "on_time_rate": _percent(figures.on_time.rate),
        "satisfied_rate": _percent(figures.satisfaction.satisfied_rate),
        "median": _hours(figures.handling.median_hours),
        "p90": _hours(figures.handling.p90_hours),
        "department_name": dept_name(figures.department) if figures.department else None,
    }
    model["charts"] = _charts(model)
    return model


def _chart(canvas: str, kind: str, rows: list[dict], series: str, percent: bool = False,
           values=None, links=None) -> dict:
    return {"canvas": canvas, "kind": kind, "series": series, "percent": percent,
            "labels": [r.get("label") or r.get("title") or r.get("name") for r in rows],
            "values": values if values is not None else [r["count"] for r in rows],
            "links": links if links is not None else [r.get("link") for r in rows]}


def _charts(model: dict) -> list[dict]:
    complaints = _("Complaints")
    charts = [
        _chart("chart-type", "bar", model["by_type"], complaints),
        _chart("chart-channel", "doughnut", model["by_channel"], complaints),
        _chart("chart-urgency", "bar", model["by_urgency"], complaints),
        _chart("chart-path", "doughnut", model["by_path"], complaints),
        _chart("chart-satisfaction", "doughnut", model["satisfaction"], complaints),
        _chart("chart-steps", "hbar", model["steps"], _("On time"), percent=True,
               values=[s["figure"].rate for s in model["steps"]],
               links=[s["late_link"] for s in model["steps"]]),
        _chart("chart-teams", "hbar", model["teams"], _("On time"), percent=True,
               values=[t["figure"].rate for t in model["teams"]],
               links=[t["late_link"] for t in model["teams"]]),
        _chart("chart-departments", "bar", model["departments"], complaints,
               values=[d["figure"].received for d in model["departments"]]),
    ]
    return [c for c in charts if c["values"]]


@bp.get("")
@statistics_page
def index():
    args = storable_params(request.args)
    department = (args.get("department") or "").strip()[:64] or None
    with services().db.read() as db:
        departments = task_forms.department_names(db)
        props = task_forms.field_properties(services(), db)
    if department and department not in departments:
        department = None
    try:
        period, kind = period_from(args)
    except ServiceError as exc:
        period, kind = Period.containing(services().now()), "month"
        error, status = translate(exc), 400
    else:
        error, status = None, 200
    figures = statistics.for_period(services(), period, department)
    model = page_model(figures, props, departments)
    export_args = {"from": period.first.isoformat(), "to": period.last.isoformat(),
                   **({"department": department} if department else {})}
    return render_template(
        "statistics.html", figures=figures, model=model, period=period, kind=kind,
        departments={code: translate(name) for code, name in departments.items()},
        department=department, error=error, neighbours=_neighbours(period, kind),
        export_args=export_args, quarters=_quarter_choices(period),
        month_value=period.first.strftime("%Y-%m"), quarter_value=_quarter_key(period),
        now=services().now()), status


def _quarter_choices(period: Period) -> list[str]:
    today = services().now().astimezone(COMPANY_ZONE).date()
    keys = []
    year, quarter = today.year, (today.month - 1) // 3 + 1
    for _n in range(12):
        keys.append(f"{year}-Q{quarter}")
        year, quarter = (year, quarter - 1) if quarter > 1 else (year - 1, 4)
    chosen = _quarter_key(period)
    return keys if chosen in keys else [chosen, *keys]


# --------------------------------------------------------------------------- downloads

def export_scope(args) -> Scope:
    """The export's cases: registered `from`..`to` (either may be left out) of one
    `department` or all."""
    days = {}
    for name in ("from", "to"):
        text = (args.get(name) or "").strip()
        if text:
            try:
                days[name] = dt.date.fromisoformat(text)
            except ValueError:
                raise ServiceError(N_("from and to are dates (YYYY-MM-DD).")) from None
    if "from" in days and "to" in days and days["to"] < days["from"]:
        raise ServiceError(N_("The period ends before it starts."))
    return Scope.of_days(days.get("from"), days.get("to"),
                         (args.get("department") or "").strip()[:64] or None)


def export_response(name: str, args) -> Response:
    """A download streamed as it is read from the database."""
    if name not in exports.EXPORTS:
        raise NotFound(N_("No such export."))
    scope = export_scope(args)
    kind = args.get("kind") or "complaint"
    exports.kind_condition(kind)  # refuse an unknown kind before the download starts
    produce, mimetype = exports.EXPORTS[name]
    db = services().db

    def chunks():
        with db.read() as session:
            for piece in produce(session, scope, kind):
                yield piece.encode("utf-8")

    stem, _dot, suffix = name.rpartition(".")
    label = "-".join(filter(None, (stem, args.get("from"), args.get("to"))))
    return Response(stream_with_context(chunks()), mimetype=mimetype, headers={
        "Content-Disposition": f'attachment; filename="{label}.{suffix}"',
        "Cache-Control": "no-store"})


@bp.get("/export/<name>")
@statistics_page
def export(name: str):
    try:
        return export_response(name, storable_params(request.args))
    except ServiceError as exc:
        if exc.status != 400:
            raise
        return render_template("error.html", status=400, heading=_("Not possible here"),
                               message=translate(exc)), 400
