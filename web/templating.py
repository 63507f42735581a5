"""What every template may use: who is signed in and what their navigation offers, the
form renderers, the evidence rules, and the filters for times and stored values."""
from __future__ import annotations

from flask import Flask

from engine import (
    audit_trail, intake, ledger, process_access, statistics, support_metrics, tasks, urgency,
    visibility,
)
from engine.directory import ROLES

from . import evidence, formrender
from .i18n import gettext, local_time, relative_time
from .identity import current_actor


def page_helpers() -> dict:
    actor = current_actor()
    roles = actor.roles if actor else frozenset()
    return {
        "actor": actor,
        "nav": {
            "staff": bool(roles & visibility.STAFF_ROLES),
            "register": intake.may_register(actor),
            "processes": process_access.may_read(actor),
            "statistics": statistics.may_read(actor),
            "support_metrics": support_metrics.may_read(actor),
            "ledger": bool(actor) and ledger.may_read(actor),
            "audit": audit_trail.may_read(actor),
        },
        "lane_titles": tasks.LANE_TITLES,
        "role_titles": ROLES,
        "urgency_labels": urgency.STATE_LABELS,
        "render_fields": formrender.render_fields,
        "render_error_summary": formrender.render_error_summary,
        "evidence_rules": evidence.rules(),
    }


def init_app(app: Flask) -> None:
    app.context_processor(page_helpers)
    app.add_template_filter(local_time, "localtime")
    app.add_template_filter(relative_time, "ago")
    app.add_template_filter(lambda value, now: urgency.phrase(value, now, gettext), "due_in")
    app.add_template_filter(lambda value: formrender.display_value(None, value), "shown")
    app.add_template_filter(lambda value: formrender.humanize(str(value)), "humanize")
