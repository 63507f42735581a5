"""The monthly supervision report: last month's figures, the closed cases still without a
responsibility and penalty decision, and the rewards and penalties approved, stored once
per month, downloadable as CSV and PDF, mailed to supervision.

`figures_for(session, period, calendar, as_of)` is the one place the report takes its
figures from: the statistics of the month (engine/statistics.py), the same figures the
statistics page shows for it, about the complaints registered in the month as of the
moment the report is made.
"""
from __future__ import annotations

import csv
import datetime as dt
import io
import logging
import os
from pathlib import Path
from typing import Callable, Optional

from sqlalchemy import select
from sqlalchemy.orm import Session, undefer

from . import ledger, mailer, periods, statistics
from .calendars import BusinessCalendar
from .directory import Actor
from .errors import Forbidden, NotFound
from .i18n import COMPANY_ZONE, N_, translator
from .models import LedgerEntry, MonthlyReport, User, UserRole
from .services import Services

log = logging.getLogger("engine.monthly_report")

READER_ROLES = frozenset({"supervisor", "compliance", "gm_office", "leadership",
                          "cs_director", "admin"})
# Who the report is mailed to: the supervision department (and compliance, who reviews).
RECIPIENT_ROLES = ("supervisor", "compliance")
# Fonts with Chinese glyphs, in order of preference: (file, face in a collection).
CJK_FONTS = (
    ("/usr/share/fonts/opentype/noto/NotoSansCJK-Regular.ttc", 2),  # the SC face
    ("/usr/share/fonts/opentype/noto/NotoSerifCJK-Regular.ttc", 2),
    ("/usr/share/fonts/truetype/wqy/wqy-microhei.ttc", 0),
    ("/usr/share/fonts/truetype/arphic/uming.ttc", 0),
)
FONT_VARIABLE = "COMPLAINTS_PDF_FONT"  # a .ttf/.otf (or .ttc, face 0) to use instead


def require_reader(actor: Actor) -> None:
    if not actor.roles & READER_ROLES:
        raise Forbidden(N_("Monthly reports are for supervision, compliance and "
                           "management."))


# --------------------------------------------------------------------------- figures

def figures_for(session: Session, period: str, calendar: BusinessCalendar,
                as_of: dt.datetime) -> dict:
    """The month's figures as the report stores them (plain JSON): the complaints
    registered in the month, how many of them are closed, their steps with a deadline
    (done, or open past it) and how many kept it, and the supervision figures beside."""
    year, month = (int(part) for part in period.split("-"))
    figures = statistics.compute(session, statistics.Period.month(year, month),
                                 calendar=calendar, as_of=as_of)
    rate = figures.on_time.rate

    def hours(value: Optional[float]) -> Optional[float]:
        return round(value, 2) if value is not None else None
    satisfied = figures.satisfaction.satisfied_rate
    mean_score = figures.satisfaction.mean_score
    return {"complaints_received": figures.received,
            "complaints_closed": figures.by_status.get("closed", 0),
            "steps_with_deadline": figures.on_time.decided,
            "steps_on_time": figures.on_time.on_time,
            "on_time_rate": round(rate, 4) if rate is not None else None,
            "handling_median_hours": hours(figures.handling.median_hours),
            "handling_p90_hours": hours(figures.handling.p90_hours),
            "follow_up_visits": figures.satisfaction.visits,
            "satisfied_rate": round(satisfied, 4) if satisfied is not None else None,
            "mean_satisfaction_score": round(mean_score, 2) if mean_score is not None
            else None,
            "repeat_complaints": figures.repeat_complaints,
            "rejections": figures.rejections,
            "escalated_steps": figures.escalated_steps,
            "improvements_open": figures.improvements_open,
            "improvements_done": figures.improvements_done}


# --------------------------------------------------------------------------- building

MAX_LISTED = 500  # closed cases listed by ticket in the report and the review


def build(session: Session, period: str, now: dt.datetime,
          calendar: BusinessCalendar) -> dict:
    """The report of a month as stored: plain JSON. Handling times count in `calendar`'s
    business hours."""
    start, end = periods.bounds(period)
    closed = ledger.closed_cases(session, start, end)
    missing = [c for c in closed if not c.decided]
    rows = session.execute(
        select(LedgerEntry).where(LedgerEntry.period == period,
                                  LedgerEntry.status.in_(("approved", "proposed")))
        .order_by(LedgerEntry.department_code, LedgerEntry.id)).unique().scalars()
    views = [ledger.view_of(row) for row in rows]
    approved = [v for v in views if v.status == "approved"]
    return {
        "period": period,
        "generated_at": now.isoformat(),
        "figures": figures_for(session, period, calendar, now),
        "decisions": {"closed": len(closed), "missing": len(missing),
                      "missing_tickets": [c.ticket for c in missing][:MAX_LISTED]},
        "ledger": {
            "proposed": len(views) - len(approved),
            "approved": [{"who": v.who, "person": v.person, "department": v.department,
                          "kind": v.kind, "ticket": v.ticket, "points": v.points,
                          "amount": str(v.amount) if v.amount is not None else None}
                         for v in approved],
            "tallies": [{"who": t.who, "person": t.person, "department": t.department,
                         "rewards": t.rewards, "penalties": t.penalties, "points": t.points,
                         "amount": str(t.amount)}
                        for t in ledger.tallies(approved)],
        },
    }


CSV_COLUMNS = ("section", "period", "name", "person", "department", "ticket", "kind",
               "points", "amount_yuan", "value")


def to_csv(report: dict) -> str:
    """One table (one header) for spreadsheets: the figures, the cases without a decision,
    the approved entries and each person's or team's totals."""
    out = io.StringIO()
    writer = csv.DictWriter(out, CSV_COLUMNS, lineterminator="\r\n")
    writer.writeheader()
    period = report["period"]
    for name, value in report["figures"].items():
        writer.writerow({"section": "figure", "period": period, "name": name,
                         "value": "" if value is None else value})
    writer.writerow({"section": "figure", "period": period, "name": "closed_without_decision",
                     "value": report["decisions"]["missing"]})
    writer.writerow({"section": "figure", "period": period, "name": "ledger_proposals_open",
                     "value": report["ledger"]["proposed"]})
    for ticket in report["decisions"]["missing_tickets"]:
        writer.writerow({"section": "missing_decision", "period": period, "ticket": ticket})
    for entry in report["ledger"]["approved"]:
        writer.writerow({"section": "ledger", "period": period, "name": entry["who"],
                         "person": entry["person"] or "", "department": entry["department"] or "",
                         "ticket": entry["ticket"] or "", "kind": entry["kind"],
                         "points": "" if entry["points"] is None else entry["points"],
                         "amount_yuan": entry["amount"] or ""})
    for tally in report["ledger"]["tallies"]:
        writer.writerow({"section": "tally", "period": period, "name": tally["who"],
                         "person": tally["person"] or "", "department": tally["department"] or "",
                         "points": tally["points"], "amount_yuan": tally["amount"],
                         "value": f"{tally['rewards']} rewards, {tally['penalties']} penalties"})
    return out.getvalue()


# --------------------------------------------------------------------------- storing

def generate(services: Services, session: Session, period: str,
             worker: Optional[str] = None) -> MonthlyReport:
    """Build and store the month's report and mail it to supervision, in the caller's
    transaction (the caller makes sure it happens once)."""
    now = services.now()
    report = build(session, period, now, services.calendars.for_team(None))
    row = MonthlyReport(period=period, generated_at=now, generated_by=worker, figures=report,
                        csv=to_csv(report))
    session.add(row)
    session.flush()
    _mail(services, session, row)
    return row


def _mail(services: Services, session: Session, row: MonthlyReport) -> None:
    recipients = session.execute(
        select(User.email, User.locale).join(UserRole, UserRole.user_id == User.id)
        .where(UserRole.role.in_(RECIPIENT_ROLES), User.active.is_(True),
               User.email.is_not(None)).distinct()).all()
    figures = row.figures["figures"]
    for address, locale in sorted(set(recipients)):
        _ = translator(locale)
        rate = figures["on_time_rate"]
        body = "\n".join([
            _("The supervision report of %(period)s is attached as CSV.", period=row.period),
            "",
            _("Complaints received: %(count)s", count=figures["complaints_received"]),
            _("Complaints closed: %(count)s", count=figures["complaints_closed"]),
            _("Steps done on time: %(rate)s",
              rate=f"{rate * 100:.1f} %" if rate is not None else "-"),
            _("Closed cases without a responsibility decision: %(count)s",
              count=row.figures["decisions"]["missing"]),
            _("Rewards and penalties approved: %(count)s",
              count=len(row.figures["ledger"]["approved"])),
            "",
            _("The PDF: %(link)s", link=f"{services.public_url.rstrip('/')}"
                                        f"/ledger/reports/{row.period}.pdf"),
        ])
        try:
            mailer.queue(session, address,
                         _("Monthly complaint report %(period)s", period=row.period), body,
                         attachment=(f"complaints-{row.period}.csv", "text/csv", row.csv),
                         now=row.generated_at)
        except ValueError:
            log.warning("not a mail address for the monthly report: %r", address)


def reports(session: Session, actor: Actor, limit: int = 24) -> list[MonthlyReport]:
    require_reader(actor)
    return list(session.execute(select(MonthlyReport).order_by(MonthlyReport.period.desc())
                                .limit(limit)).scalars())


def report(session: Session, actor: Actor, period: str) -> MonthlyReport:
    require_reader(actor)
    period = periods.parse(period)
    row = session.execute(select(MonthlyReport).options(undefer(MonthlyReport.csv))
                          .where(MonthlyReport.period == period)).scalar_one_or_none() \
        if period else None
    if row is None:
        raise NotFound(N_("No report for this month."))
    return row


# --------------------------------------------------------------------------- PDF

def cjk_font() -> Optional[tuple[str, int]]:
    """A font file with Chinese glyphs (and the face in a collection), or None."""
    chosen = os.environ.get(FONT_VARIABLE)
    candidates = ((chosen, 0),) if chosen else CJK_FONTS
    for path, face in candidates:
        if path and Path(path).is_file():
            return path, face
    return None


def to_pdf(report: dict, locale: Optional[str], font: Optional[tuple[str, int]] = None,
           find_font: Callable[[], Optional[tuple[str, int]]] = cjk_font) -> bytes:
    """The report as a PDF in the reader's language. Without a Chinese font the PDF is in
    English with the built-in Helvetica and says so; names it cannot show become '?'."""
    from fpdf import FPDF
    from fpdf.fonts import FontFace

    font = font or find_font()
    _ = translator(locale if font else "en")
    pdf = FPDF(format="A4")
    pdf.set_title(f"Monthly complaint report {report['period']}")
    pdf.set_creator("complaintflow")
    if font:
        path, face = font
        pdf.add_font("body", "", path, collection_font_number=face)
        family = "body"

        def show(text) -> str:
            return str(text)
    else:
        family = "helvetica"

        def show(text) -> str:
            return str(text).encode("latin-1", "replace").decode("latin-1")
    pdf.add_page()
    pdf.set_font(family, size=16)
    pdf.multi_cell(0, 10, show(_("Monthly complaint report %(period)s",
                                 period=report["period"])), new_x="LMARGIN", new_y="NEXT")
    pdf.set_font(family, size=9)
    pdf.multi_cell(0, 6, show(_("Generated %(when)s", when=report["generated_at"][:16]
                                .replace("T", " ") + " UTC")), new_x="LMARGIN", new_y="NEXT")
    if not font:
        pdf.multi_cell(0, 6, show(_("No font with Chinese characters was found on the "
                                    "server (install fonts-noto-cjk): this PDF is in English "
                                    "and Chinese names show as '?'.")),
                       new_x="LMARGIN", new_y="NEXT")
    pdf.ln(4)
    plain = FontFace(emphasis="")
    figures = report["figures"]
    start, end = periods.bounds(report["period"])
    pdf.multi_cell(0, 6, show(_("Complaints registered from %(first)s to %(last)s",
                                first=start.astimezone(COMPANY_ZONE).date(),
                                last=(end - dt.timedelta(seconds=1))
                                .astimezone(COMPANY_ZONE).date())),
                   new_x="LMARGIN", new_y="NEXT")
    pdf.ln(2)

    def percent(value) -> str:
        return f"{value * 100:.1f} %" if value is not None else "-"

    def hours(value) -> str:
        return _("%(hours)s h", hours=f"{value:.1f}") if value is not None else "-"
    rows = [
        (_("Complaints received"), figures["complaints_received"]),
        (_("Complaints closed"), figures["complaints_closed"]),
        (_("Steps with a deadline, done or overdue"), figures["steps_with_deadline"]),
        (_("Steps done on time"), percent(figures["on_time_rate"])),
        *([(_("Handling time (business hours)"), ", ".join((
            _("median %(median)s", median=hours(figures["handling_median_hours"])),
            _("90th percentile") + " " + hours(figures["handling_p90_hours"])))),
           (_("Satisfied at the follow-up visit"), percent(figures["satisfied_rate"])),
           (_("Repeat complaints (same customer within 90 days)"),
            figures["repeat_complaints"]),
           (_("Rejections by the customer"), figures["rejections"]),
           (_("Escalated steps"), figures["escalated_steps"])]
          if "repeat_complaints" in figures else []),  # reports stored before these
        (_("Closed cases without a responsibility decision"),
         report["decisions"]["missing"]),
        (_("Ledger proposals awaiting approval"), report["ledger"]["proposed"]),
    ]
    pdf.set_font(family, size=11)
    with pdf.table(col_widths=(3, 1), headings_style=plain, first_row_as_headings=False) as t:
        for label, value in rows:
            row = t.row()
            row.cell(show(label))
            row.cell(show(value))
    if report["decisions"]["missing_tickets"]:
        pdf.ln(4)
        pdf.multi_cell(0, 7, show(_("Closed without a decision: %(tickets)s",
                                    tickets=", ".join(report["decisions"]["missing_tickets"]))),
                       new_x="LMARGIN", new_y="NEXT")
    pdf.ln(4)
    pdf.set_font(family, size=13)
    pdf.multi_cell(0, 9, show(_("Rewards and penalties approved")), new_x="LMARGIN",
                   new_y="NEXT")
    pdf.set_font(family, size=10)
    tallies = report["ledger"]["tallies"]
    if not tallies:
        pdf.multi_cell(0, 7, show(_("None this month.")), new_x="LMARGIN", new_y="NEXT")
    else:
        with pdf.table(col_widths=(3, 1, 1, 1, 1), headings_style=plain) as t:
            head = t.row()
            for label in (_("Person or team"), _("Rewards"), _("Penalties"), _("Points"),
                          _("Amount (CNY)")):
                head.cell(show(label))
            for tally in tallies:
                row = t.row()
                for value in (tally["who"], tally["rewards"], tally["penalties"],
                              tally["points"], tally["amount"]):
                    row.cell(show(value))
        pdf.ln(4)
        with pdf.table(col_widths=(3, 3, 2, 1, 1), headings_style=plain) as t:
            head = t.row()
            for label in (_("Person or team"), _("Kind"), _("Case"), _("Points"),
                          _("Amount (CNY)")):
                head.cell(show(label))
            for entry in report["ledger"]["approved"]:
                kind = ledger.KINDS.get(entry["kind"])
                row = t.row()
                for value in (entry["who"], _(kind.label) if kind else entry["kind"],
                              entry["ticket"] or "", "" if entry["points"] is None
                              else entry["points"], entry["amount"] or ""):
                    row.cell(show(value))
    return bytes(pdf.output())
