"""The overseas support manager's page: a month's first responses, resolution and
satisfaction per agent and for the team, and the proposed customer service star
(engine/support_metrics.py computes them)."""
from __future__ import annotations

from typing import Optional

from flask import Blueprint, render_template, request

from engine import periods, support_metrics
from engine.i18n import N_
from engine.statistics import Period

from .i18n import _
from .identity import guarded_page
from .services import services

bp = Blueprint("support_metrics", __name__, url_prefix="/support")

RATING_TITLES = {"satisfied": N_("Satisfied"), "fairly_satisfied": N_("Fairly satisfied"),
                 "not_satisfied": N_("Not satisfied")}


# Signed in and a reader of these figures; the figures stay out of every cache
# (web/cache_policy.py).
metrics_page = guarded_page(support_metrics.require_reader)


def percent(value: Optional[float]) -> str:
    return "—" if value is None else f"{value * 100:.1f} %"


def hours(value: Optional[float]) -> str:
    return "—" if value is None else _("%(hours)s h", hours=f"{value:.1f}")


def row_of(figures: support_metrics.Figures) -> dict:
    """One line of figures as the page shows them."""
    return {"cases": figures.cases, "responses": figures.responses,
            "median": hours(figures.median_response_hours),
            "on_time": percent(figures.first_response.rate),
            "on_time_count": figures.first_response.on_time,
            "due_count": figures.first_response.decided,
            "resolved": figures.resolved, "resolution": percent(figures.resolution_rate),
            "ratings": figures.satisfaction.visits,
            "satisfied": percent(figures.satisfaction.satisfied_rate),
            "levels": [(_(RATING_TITLES[level]), count)
                       for level, count in figures.satisfaction.levels.items()]}


@bp.get("/metrics")
@metrics_page
def metrics():
    asked = request.args.get("month", "")[:16]
    month, error, status = periods.parse(asked), None, 200
    if month is None:
        if asked:
            error, status = _("Give the month as YYYY-MM, e.g. 2026-11."), 400
        month = periods.of(services().now())
    year, number = (int(part) for part in month.split("-"))
    found = support_metrics.for_month(services(), Period.month(year, number))
    agents = [{"name": a.name, "username": a.username, **row_of(a.figures)}
              for a in found.agents]
    star = next((a for a in agents if found.star and a["username"] == found.star.username),
                None)
    return render_template(
        "support_metrics.html", found=found, month=month, team=row_of(found.team),
        agents=agents, star=star, min_cases=support_metrics.STAR_MIN_CASES, error=error,
        previous=periods.previous(month), following=periods.following(month)), status
