"""Overseas technical support (004): a customer's technical problem, filed on the public
site or registered by the support team, run by the technical-support process (remote help,
an on-site visit in the window of onsite.dmn), and its cause and solution kept as a
knowledge record that agents find from the next similar problem.

A technical problem is a case like an inquiry: a ticket ("T" in front of the complaint
numbering), a private status link for the customer, tasks in the same inbox.
"""
from __future__ import annotations

import re
from dataclasses import dataclass
import datetime as dt
from typing import Any, Optional

from sqlalchemy import case, func, literal, or_, select
from sqlalchemy.orm import Session

from . import forms
from .directory import Actor
from .errors import Forbidden
from .i18n import Message, N_
from .inquiries import REGISTER_ROLES, Filed, file_support_case
from .models import KnowledgeRecord
from .services import Services

PROCESS = "technical_support"
FORM = "technical_problem.schema.json"
UI = "technical_problem.uischema.json"
TICKET_PREFIX = "T"
# The step whose completion keeps the knowledge record, and the one that looks records up.
EXPLAIN_STEP = "explain_solution"
REMOTE_HELP_STEP = "remote_help"
SIMILAR_LIMIT = 5
# Words of a description that say nothing about the problem.
_STOP_WORDS = frozenset("""about after again also been before being does doesn from have
into just more once only other over same some than that their then there they this very
were what when which while with without would your""".split())
_WORDS_USED = 8


@dataclass(frozen=True)
class Similar:
    ticket: str
    model: str
    problem: str
    cause: str
    solution: str
    solved_on_site: bool
    recorded_at: dt.datetime


def problem_form(services: Services, session: Session) -> tuple[dict, dict]:
    """The newest version's problem form, as staff fill it in."""
    version_forms = services.forms.newest(session, PROCESS)
    return version_forms.schema(FORM), version_forms.ui_schema(UI)


def customer_form(services: Services, session: Session) -> tuple[dict, dict]:
    """The problem form on the public site: no channel or receipt time (set on receipt)."""
    return forms.for_customer(*problem_form(services, session))


def file_problem(services: Services, record: Any, staff: Optional[Actor] = None,
                 customer_locale: Optional[str] = None,
                 customer_timezone: Optional[str] = None) -> Filed:
    """Register a technical problem and run it to its first task (remote help).

    Without `staff` it is the customer's own, from the public site. Raises FormInvalid
    or Forbidden; nothing is stored then."""
    if staff is not None and not staff.roles & REGISTER_ROLES:
        raise Forbidden(N_("Only the overseas support team registers technical problems."))
    if not isinstance(record, dict):
        raise forms.FormInvalid({"": Message(N_("The technical problem must be a JSON object."))})
    return file_support_case(services, PROCESS, problem_form, TICKET_PREFIX,
                             "technical_problem_filed", record, staff, customer_locale,
                             customer_timezone)


def keep_knowledge(session: Session, instance_id: int, ticket: str, data: dict,
                   actor: Optional[str], now: dt.datetime) -> None:
    """Keep the cause and solution just explained to the customer, in the step's unit of
    work: the knowledge record of this case (a second explanation replaces the first)."""
    row = session.execute(select(KnowledgeRecord).where(
        KnowledgeRecord.instance_id == instance_id)).scalar_one_or_none()
    if row is None:
        row = KnowledgeRecord(instance_id=instance_id, ticket=ticket)
        session.add(row)
    row.model = " ".join(str(data.get("model") or "").split())[:200]
    row.problem = str(data.get("description") or "")
    row.cause = str(data.get("cause") or "")
    row.solution = str(data.get("solution") or "")
    row.solved_on_site = data.get("remote_result") == "onsite"
    row.recorded_by = actor
    row.recorded_at = now


def description_words(text: str) -> list[str]:
    """The words of a description worth matching: four letters or more, no filler, the
    first few distinct ones."""
    words = []
    for word in re.findall(r"\w+", (text or "").lower()):
        if len(word) >= 4 and word not in _STOP_WORDS and word not in words:
            words.append(word)
    return words[:_WORDS_USED]


def similar_records(session: Session, model: Optional[str], description: Optional[str],
                    exclude_ticket: Optional[str] = None,
                    limit: int = SIMILAR_LIMIT) -> list[Similar]:
    """Earlier knowledge records of the same model or with words of this description, the
    best matches first (the same model counts most, then the number of shared words), in
    one query."""
    model_key = " ".join((model or "").split()).lower()
    words = description_words(description)
    if not model_key and not words:
        return []
    same_model = func.lower(KnowledgeRecord.model) == model_key
    word_hits = [func.lower(KnowledgeRecord.problem).contains(word, autoescape=True)
                 for word in words]
    score = case((same_model, len(words) + 1), else_=0) if model_key else literal(0)
    for hit in word_hits:
        score = score + case((hit, 1), else_=0)
    conditions = ([same_model] if model_key else []) + word_hits
    query = (select(KnowledgeRecord).where(or_(*conditions))
             .order_by(score.desc(), KnowledgeRecord.recorded_at.desc()).limit(limit))
    if exclude_ticket:
        query = query.where(KnowledgeRecord.ticket != exclude_ticket)
    return [Similar(ticket=r.ticket, model=r.model, problem=r.problem, cause=r.cause,
                    solution=r.solution, solved_on_site=r.solved_on_site,
                    recorded_at=r.recorded_at)
            for r in session.execute(query).scalars()]
