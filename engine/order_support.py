"""Overseas order support (004): an order handed over by sales, or a customer's question
about their order from the public site, run by the order-support process (confirmed with
the customer, production and logistics followed up until delivery, a visit after it).

An order case is a case like an inquiry: a ticket ("D" in front of the complaint
numbering; an "O" would be read as a zero on the phone), a private status link for the
customer, tasks in the same inbox.
"""
from __future__ import annotations

from typing import Any, Optional

from sqlalchemy.orm import Session

from . import forms
from .directory import Actor
from .errors import Forbidden
from .i18n import Message, N_
from .inquiries import REGISTER_ROLES, Filed, file_support_case
from .services import Services

PROCESS = "order_support"
FORM = "order.schema.json"
UI = "order.uischema.json"
TICKET_PREFIX = "D"
# Where the order stands, as the customer reads it on their status page.
ORDER_STATES = {"in_production": N_("In production"), "shipped": N_("Shipped"),
                "delayed": N_("Delayed: we are agreeing a solution with you"),
                "delivered": N_("Delivered")}


def order_form(services: Services, session: Session) -> tuple[dict, dict]:
    """The newest version's order form, as staff fill it in at the hand-over."""
    version_forms = services.forms.newest(session, PROCESS)
    return version_forms.schema(FORM), version_forms.ui_schema(UI)


def customer_form(services: Services, session: Session) -> tuple[dict, dict]:
    """The order question on the public site: no channel or receipt time (set on receipt)."""
    return forms.for_customer(*order_form(services, session))


def file_order(services: Services, record: Any, staff: Optional[Actor] = None,
               customer_locale: Optional[str] = None,
               customer_timezone: Optional[str] = None) -> Filed:
    """Register an order and run it to its first task (the confirmation with the customer).

    Without `staff` it is the customer's own question, from the public site. Raises
    FormInvalid or Forbidden; nothing is stored then."""
    if staff is not None and not staff.roles & REGISTER_ROLES:
        raise Forbidden(N_("Only the overseas support team registers orders."))
    if not isinstance(record, dict):
        raise forms.FormInvalid({"": Message(N_("The order must be a JSON object."))})
    return file_support_case(services, PROCESS, order_form, TICKET_PREFIX, "order_filed",
                             record, staff, customer_locale, customer_timezone)
