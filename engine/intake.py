"""The complaint record as it is filed: its schema and form, and the checks every channel
(the public page, staff registration, the API) applies before a case is started."""
from __future__ import annotations

import datetime as dt
import hashlib
from typing import Any, Optional

from sqlalchemy.orm import Session

from . import forms
from .directory import Actor
from .errors import Forbidden
from .i18n import Message, N_
from .services import COMPLAINT_PROCESS, Services
from .task_forms import choice_source

INTAKE_FORM = "intake.schema.json"
INTAKE_UI = "intake.uischema.json"
STAFF_CHANNELS_DEFAULT = "hotline"
# Customer service registers complaints received by phone, at the counter or by another
# system; anyone else who files one files it as a customer would.
REGISTER_ROLES = frozenset({"cs_agent", "cs_supervisor", "admin"})
# Set when the complaint is received: what a customer sends for them is replaced.
RECEIPT_FIELDS = frozenset({"channel", "received_at"})
# The company's own assessment, and who of its staff was involved: customer service sets
# them, a customer may not (the grade alone would route a complaint to the major path).
STAFF_ONLY_FIELDS = frozenset({"urgency", "grade", "spread_risk", "legal_threat",
                               "routine_solvable", "employee_number"})
STAFF_ONLY = N_("Only customer service sets this field.")


def token_digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def intake_forms(services: Services, session: Session,
                 version_id: Optional[int] = None) -> forms.FormSet:
    """The complaint record's form as the given version of the complaint process has it
    (without a version, or for another process's case: the newest complaint version)."""
    if version_id is not None:
        version_forms = services.forms.of_version(session, version_id)
        if INTAKE_FORM in version_forms.names():
            return version_forms
    return services.forms.newest(session, COMPLAINT_PROCESS)


def intake_schema(services: Services, session: Optional[Session] = None,
                  version_id: Optional[int] = None) -> dict:
    if session is None:
        with services.db.read() as session:
            return intake_forms(services, session, version_id).schema(INTAKE_FORM)
    return intake_forms(services, session, version_id).schema(INTAKE_FORM)


def intake_form(services: Services, session: Session) -> tuple[dict, dict]:
    """The form a new complaint is filed with: the newest complaint version's."""
    version_forms = intake_forms(services, session)
    schema = version_forms.schema(INTAKE_FORM)
    ui = version_forms.ui_schema(INTAKE_UI)
    return forms.resolve_choices(schema, ui, choice_source(session, None)), ui


def customer_may_set(field: str) -> bool:
    """Whether a customer (the public page, the API without a registering token) gives
    this field of the complaint record."""
    return field not in RECEIPT_FIELDS and field not in STAFF_ONLY_FIELDS


def customer_form(services: Services, session: Session) -> tuple[dict, dict]:
    """The intake form as a customer fills it in: the fields they may set."""
    schema, ui = intake_form(services, session)
    schema = {**schema,
              "properties": {name: prop for name, prop in schema.get("properties", {}).items()
                             if customer_may_set(name)},
              "required": [name for name in schema.get("required", []) if customer_may_set(name)]}
    ui = {key: hints for key, hints in ui.items() if customer_may_set(key)}
    if "ui:order" in ui:
        ui["ui:order"] = [name for name in ui["ui:order"] if customer_may_set(name)]
    return forms.for_customer(schema, ui)


def _refused_from_customer(record: dict) -> dict[str, Message]:
    """The staff-only fields a customer gave a value (a null sets nothing)."""
    return {name: Message(STAFF_ONLY) for name, value in record.items()
            if name in STAFF_ONLY_FIELDS and value is not None}


def may_register(actor: Optional[Actor]) -> bool:
    """Whether the person registers complaints on a customer's behalf (sets the channel,
    the time of receipt and the staff's assessment)."""
    return actor is not None and bool(actor.roles & REGISTER_ROLES)


def require_registrar(actor: Optional[Actor]) -> None:
    if not may_register(actor):
        raise Forbidden(N_("Only customer service registers complaints."))


def normalise_record(services: Services, record: Any, now: dt.datetime,
                     staff: Optional[Actor], session: Optional[Session] = None) -> dict:
    """Validate an intake record. Without `staff` it is a customer's: the channel and time
    are set on receipt, and a staff-only field is refused beside the record's other
    errors, so that one answer names everything to fix."""
    if not isinstance(record, dict):
        raise forms.FormInvalid({"": Message(N_("The complaint record must be a JSON object."))})
    record = dict(record)
    if isinstance(record.get("customer_email"), str):
        # As the pages do: space around an address is how it was pasted, not part of it.
        record["customer_email"] = record["customer_email"].strip()
    refused = {}
    if staff is None:
        refused = _refused_from_customer(record)
        record = {name: value for name, value in record.items() if name not in refused}
        record["channel"] = "web"
        record["received_at"] = now.isoformat()
    else:
        record.setdefault("channel", STAFF_CHANNELS_DEFAULT)
        record.setdefault("received_at", now.isoformat())
    schema = intake_schema(services, session)
    problems = dict(refused)
    try:
        forms.validate(schema, record)
    except forms.FormInvalid as exc:
        problems = {**exc.fields, **refused}
    for name, message in {**_receipt_problems(record.get("received_at"), now),
                          **_goods_problems(record, now)}.items():
        problems.setdefault(name, message)
    if problems:
        raise forms.FormInvalid(problems)
    full = {name: None for name in schema.get("properties", {})}
    full.update(record)
    return full


def _receipt_problems(received_at: Any, now: dt.datetime) -> dict[str, Message]:
    """What is wrong with a receipt time the schema lets through (its format is the
    schema's to report)."""
    try:
        received = dt.datetime.fromisoformat(str(received_at))
    except ValueError:
        return {}
    if received.tzinfo is None:
        return {"received_at": Message(N_("Give the time with its time zone."))}
    if received > now + dt.timedelta(minutes=5):
        return {"received_at": Message(N_("The receipt time lies in the future."))}
    return {}


def _goods_problems(record: dict, now: dt.datetime) -> dict[str, Message]:
    """What is wrong with the goods' facts together that the schema cannot say: more
    defective units than delivered, or a ship date yet to come."""
    problems = {}
    quantity, defective = record.get("quantity"), record.get("defective_quantity")
    if all(isinstance(n, int) and not isinstance(n, bool) for n in (quantity, defective)) \
            and defective > quantity:
        problems["defective_quantity"] = Message(N_("More units are defective than were "
                                                    "delivered."))
    try:
        shipped = dt.date.fromisoformat(str(record.get("ship_date")))
    except ValueError:
        return problems
    # Today anywhere on earth: no time zone runs more than 14 hours ahead of UTC.
    if shipped > (now.astimezone(dt.timezone.utc) + dt.timedelta(hours=14)).date():
        problems["ship_date"] = Message(N_("The ship date lies in the future."))
    return problems


def subject_of(data: dict) -> Optional[str]:
    """What a case is about, on one line, as its lists show it: the product."""
    product = data.get("product")
    text = " ".join(product.split()) if isinstance(product, str) else ""
    return text[:200] or None


def match_key(value) -> Optional[str]:
    """E-mail addresses and order numbers as compared across cases: trimmed, lower case."""
    text = str(value or "").strip().lower()
    return text[:128] or None
