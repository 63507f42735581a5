"""Who may use which route: every route of the app, tried by every kind of visitor.

ROUTES is the table. Each row names one endpoint and method of the app, how to build a
real address for it (a real ticket, task, status link, evidence file or outbox message)
and, for every visitor, what they must get:

- allowed: a page or a redirect to somewhere other than the sign-in page;
- blind: allowed, but nothing of the case the row is about shows (a list without it, the
  visitor's own status page);
- sign in: a redirect to the sign-in page, or 401 from the API;
- denied: 403 or 404, and the page tells nothing of the case;
- declined: the request is turned away politely (a redirect with a warning).

Visitors: `anonymous`, the `customer` holding the status link of the case, a `bystander`
(the customer of another complaint, holding their own link) and every demo user. Where a
route takes a status link, everyone but the two customers tries a well-formed guess: a
staff session is no key to a customer's page.

A route without a row fails `test_the_table_names_every_route_of_the_app`.
"""
from __future__ import annotations

import io
import shutil
import struct
import zlib
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Optional
from urllib.parse import urlsplit

import pytest
from sqlalchemy import func, select

from support.clock import Clock
from engine import (
    attachments, bootstrap, intake, ledger, mailer, monthly_report, notes, runtime,
    saved_searches, specs, tasks,
    upload_checks,
)
from engine.directory import actor_of, find_user, issue_token
from engine.accounts import token_key
from engine.audit_trail import KIND_GROUPS
from engine.models import (
    Attachment, AuditEvent, User, CaseNote, PasswordResetLink, HumanTask, LedgerEntry, ProcessInstance, ProcessVersion,
    SavedSearch,
)
from engine.services import PROJECT_ROOT, Services
from support.desk import RECORD, Desk
from support.pages import csrf as csrf_on_page, signed_in

pytestmark = pytest.mark.sqlite_only  # the shared state is a copied SQLite file

DEMO = tuple(name for name, *_ in bootstrap.DEMO_USERS)
VISITORS = ("anonymous", "customer", "bystander")
ACTORS = VISITORS + DEMO

OK = "allowed"
BLIND = "allowed, showing nothing of the case"
LOGIN = "sent to sign in"
DENIED = "denied (403/404)"
DECLINED = "turned away with a warning"
_OUTCOMES = {"ok": OK, "blind": BLIND, "login": LOGIN, "denied": DENIED, "declined": DECLINED}

# Who is who for the dispatched case (quality department, task "confirm_receipt" open).
OUTSIDERS = ("handler2", "sales", "owner")  # staff who may not see it
DEPARTMENT = ("handler", "head")           # the queue its open task is in
REGISTRARS = ("agent", "supervisor", "admin")
REPLIERS = ("agent", "supervisor", "director")   # write to the customer
READ_ONLY = ("auditor",)                         # compliance reads, never writes
CANCELLERS = ("supervisor", "admin")
CONTACT_READERS = ("agent", "supervisor", "director", "auditor", "admin")
PROCESS_EDITORS = ("owner", "admin")             # deploy and roll back the procedure
LIBRARY_READERS = PROCESS_EDITORS + READ_ONLY
# Statistics and exports: supervision and compliance, customer service's heads, the
# general manager's office, admins.
STATISTICS_READERS = ("supervisor", "director", "gm", "auditor", "admin")
AUDIT_READERS = ("auditor", "admin")             # compliance and administrators
SUPPORT_METRICS_READERS = ("supportlead", "admin")  # the overseas support manager, admins

STRONG_PASSWORD = "Blue-Kettle-Morning-42"
ACCOUNT_KINDS = tuple(KIND_GROUPS["admin"][1])
NEW_USER = {"username": "meng.qi", "display_name": "Meng Qi", "roles": ["dept_handler"],
            "department": "logistics", "password": STRONG_PASSWORD,
            "confirm": STRONG_PASSWORD}
GUESSED_TOKEN = "Gu3ssedLinkGu3ssedLinkGu3ssedLinkGu3ssedLin"  # as long as a real one


def rule(visitors: str = LOGIN, staff: str = DENIED, **named: tuple[str, ...]) -> dict:
    """Outcome per visitor: the two defaults, then named visitors per outcome
    (e.g. ok=("handler", "head"))."""
    outcomes = {name: visitors for name in VISITORS} | {name: staff for name in DEMO}
    for outcome, names in named.items():
        for name in names:
            assert name in outcomes, f"unknown visitor {name!r}"
            outcomes[name] = _OUTCOMES[outcome]
    return outcomes


# --------------------------------------------------------------------------- the world

@dataclass
class Case:
    ticket: str
    token: str
    task_id: str
    customer_name: str
    customer_phone: str

    @property
    def secrets(self) -> tuple[str, ...]:
        return (self.ticket, self.customer_name, self.customer_phone)


@dataclass
class World:
    """One database with the cases below, the visitors' sessions and API tokens; copied
    from `seed` wherever a request may change something."""

    seed: Path
    clock: Clock
    dispatched: Case      # with the quality department, "confirm_receipt" open
    answering: Case       # waits for the customer to supply missing facts
    sibling: str          # the same customer's second complaint, not dispatched yet
    message_id: int       # an outbox mail of the dispatched case, with an attachment
    shared_file: str      # evidence of the dispatched case shared with the customer
    internal_file: str    # evidence of the dispatched case for staff only
    attachment_dir: Path
    cookies: dict[str, str]
    csrf: dict[str, str]
    bearer: dict[str, str]

    def case(self, name: str) -> Case:
        return getattr(self, name)

    def other(self, name: str) -> Case:
        return self.answering if name == "dispatched" else self.dispatched


def _services(url: str, clock, attachment_dir: Path) -> Services:
    services = Services.create(url)
    services.clock = clock
    services.attachment_dir = attachment_dir  # files are named by content: one store will do
    return services


def tiny_png() -> bytes:
    """A real one-pixel PNG, as a phone would send a photo."""
    def chunk(kind: bytes, data: bytes) -> bytes:
        return (struct.pack(">I", len(data)) + kind + data
                + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF))
    header = struct.pack(">IIBBBBB", 1, 1, 8, 2, 0, 0, 0)
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header)
            + chunk(b"IDAT", zlib.compress(b"\x00\xff\x00\x00")) + chunk(b"IEND", b""))


def evidence(_case=None, _actor=None) -> dict:
    return {"evidence": (io.BytesIO(tiny_png()), "scratch.png")}


def _app(services: Services):
    from web import create_app
    return create_app({"SERVICES": services, "DATABASE_URL": services.db.url, "TESTING": True,
                       "SECRET_KEY": "test-secret", "LOGIN_ATTEMPTS_PER_MINUTE": 10_000,
                       "FILING_LIMIT": "10000/minute",
                       "SIGN_IN_FAILURE_LIMIT": "10000/minute"})


def _file(services, actors, **record) -> tuple[str, str]:
    filed = runtime.file_complaint(services, {**RECORD, **record}, staff=actors["agent"])
    return filed.ticket, filed.status_token


def _open_task(desk: Desk, ticket: str, name: str) -> str:
    return desk.task(ticket, name).id


def _sign_in(app, username: Optional[str]) -> tuple[str, str]:
    """The session cookie and CSRF token of someone who signed in through the form (or
    of a visitor who did not), ready to be replayed on copies of the database."""
    client = signed_in(app, username)
    # Signing in starts a new session: the form token is taken afterwards.
    token = csrf_on_page(client.get("/complaint").get_data(as_text=True))
    return client.get_cookie("session").value, token


@pytest.fixture(scope="module")
def world(_template, tmp_path_factory):
    _kind, template = _template
    folder = tmp_path_factory.mktemp("authorization")
    seed, attachment_dir = folder / "seed.db", folder / "attachments"
    shutil.copyfile(template, seed)
    clock = Clock()
    services = _services(f"sqlite:///{seed}", clock, attachment_dir)
    with services.db.read() as session:
        actors = {name: actor_of(find_user(session, name)) for name in DEMO}
    desk = Desk(services, actors, clock)

    # This customer's own phone, address and order: the complaints other tests file with
    # the usual record must not crowd the sibling out of the "same customer" list.
    customer = {"customer_phone": "13812345678", "customer_email": "wang.lei.world@example.com",
                "order_number": "SO-WORLD-0001"}
    ticket, token = _file(services, actors, **customer)
    desk.run_until(ticket, "confirm_receipt")
    dispatched = Case(ticket, token, _open_task(desk, ticket, "confirm_receipt"),
                      RECORD["customer_name"], customer["customer_phone"])

    other_ticket, other_token = _file(services, actors, customer_name="Huang Mei",
                                      customer_phone="13900007777",
                                      customer_email="huang.mei@example.com")
    desk.do(other_ticket, "check_record", record_complete=False,
            missing_facts="Your order number")
    answering = Case(other_ticket, other_token,
                     _open_task(desk, other_ticket, "supply_missing_facts"),
                     "Huang Mei", "13900007777")
    sibling, _token = _file(services, actors, **customer)

    with services.db.write() as session:
        instance_id = session.execute(select(ProcessInstance.id).where(
            ProcessInstance.ticket == ticket)).scalar_one()
        message_id = mailer.queue(
            session, "wang.lei@example.com", f"Final report on complaint {ticket}",
            "Dear Wang Lei, the report is attached.", instance_id=instance_id,
            attachment=("report.html", "text/html", "<p>Report for Wang Lei</p>")).id
    files = {}
    for share in (True, False):
        name = "shared-photo.png" if share else "internal-photo.png"
        attachments.add_for_staff(services, actors["agent"], ticket,
                                  upload_checks.check_uploads([(name, tiny_png())]), share)
    with services.db.read() as session:
        for row in session.execute(select(Attachment)).scalars():
            files[row.visible_to_customer] = row.id
    notes.reply(services, actors["agent"], ticket, "We are checking your purifier.")
    notes.comment(services, actors["handler"], ticket, "Internal: supplier batch 42 again.")

    app = _app(services)
    cookies, csrf, bearer = {}, {}, {}
    anonymous = _sign_in(app, None)
    for name in VISITORS:
        cookies[name], csrf[name] = anonymous
    for name in DEMO:
        cookies[name], csrf[name] = _sign_in(app, name)
    with services.db.write() as session:  # the token route itself has its row below
        for name in DEMO:
            bearer[name], _expires = issue_token(session, find_user(session, name))
    services.db.dispose()
    yield World(seed, clock, dispatched, answering, sibling, message_id, files[True], files[False],
                attachment_dir, cookies, csrf, bearer)
    clock.stop()


@dataclass
class Site:
    services: Services
    app: object


def _site_on_copy(world: World, target: Path) -> Site:
    shutil.copyfile(world.seed, target)
    services = _services(f"sqlite:///{target}", world.clock, world.attachment_dir)
    return Site(services, _app(services))


@pytest.fixture(scope="module")
def shared(world, tmp_path_factory):
    """For requests that change nothing that matters to the others (reads, sign-in)."""
    site = _site_on_copy(world, tmp_path_factory.mktemp("shared") / "shared.db")
    yield site
    site.services.db.dispose()


@pytest.fixture
def fresh(world, tmp_path):
    """A site of its own, for a request that may change the case."""
    site = _site_on_copy(world, tmp_path / "fresh.db")
    yield site
    site.services.db.dispose()


# --------------------------------------------------------------------------- observations

def case_tasks(services: Services, case: Case):
    with services.db.read() as session:
        return session.execute(
            select(HumanTask.name, HumanTask.state, HumanTask.assignee_id)
            .join(ProcessInstance, HumanTask.instance_id == ProcessInstance.id)
            .where(ProcessInstance.ticket == case.ticket).order_by(HumanTask.id)).all()


def case_status(services: Services, case: Case):
    with services.db.read() as session:
        return session.execute(select(ProcessInstance.status).where(
            ProcessInstance.ticket == case.ticket)).scalar_one()


def case_count(services: Services, case: Case):
    with services.db.read() as session:
        return session.execute(select(func.count(ProcessInstance.id))).scalar_one()


def account_changes(services: Services, _case: Case):
    """The audited changes to accounts, departments and tokens, and who may sign in."""
    with services.db.read() as session:
        return (session.execute(select(func.count(AuditEvent.id)).where(
                    AuditEvent.kind.in_(ACCOUNT_KINDS))).scalar_one(),
                session.execute(select(func.count(User.id)).where(
                    User.active.is_(True))).scalar_one())


def reset_links(services: Services, _case: Case):
    with services.db.read() as session:
        return session.execute(select(func.count(PasswordResetLink.token_hash))).scalar_one()


IMPORTED_USERS = ("username,display_name,email,roles,department\n"
                  "meng.qi,Meng Qi,meng.qi@example.com,dept_handler,logistics\n")


def import_upload(_case=None, _actor=None) -> dict:
    return {"kind": "users", "file": (io.BytesIO(IMPORTED_USERS.encode()), "people.csv",
                                      "text/csv")}


def note_count(services: Services, case: Case):
    with services.db.read() as session:
        return session.execute(
            select(func.count(CaseNote.id))
            .join(ProcessInstance, CaseNote.instance_id == ProcessInstance.id)
            .where(ProcessInstance.ticket == case.ticket)).scalar_one()


def attachment_count(services: Services, case: Case):
    with services.db.read() as session:
        return session.execute(
            select(func.count(Attachment.id))
            .join(ProcessInstance, Attachment.instance_id == ProcessInstance.id)
            .where(ProcessInstance.ticket == case.ticket)).scalar_one()


def complaint_versions(services: Services, case: Case):
    with services.db.read() as session:
        return session.execute(select(func.count(ProcessVersion.id)).where(
            ProcessVersion.process_id == "complaint")).scalar_one()


def edited_processes() -> dict[str, bytes]:
    """The shipped documents with one task of the complaint process renamed."""
    sources = specs.read_directory(PROJECT_ROOT / "processes")
    sources["complaint.bpmn"] = sources["complaint.bpmn"].replace(
        b'name="Check the record is complete"', b'name="Check the record"')
    return sources


def second_version(services: Services, case: Case) -> None:
    """A newer complaint process than the shipped one, so version 1 can be rolled back to."""
    with services.db.write() as session:
        specs.deploy(session, edited_processes(), "complaint", "owner")


def edited_upload(_case=None, _actor=None) -> dict:
    return {"note": "Shorter name", "files": [(io.BytesIO(content), name)
                                              for name, content in edited_processes().items()]}


def saved_search_count(services: Services, case: Case):
    with services.db.read() as session:
        return session.execute(select(func.count(SavedSearch.id))).scalar_one()


def auditors_saved_search(services: Services, case: Case) -> None:
    """The compliance officer's saved search, the first (id 1) of the database."""
    with services.db.write() as session:
        saved_searches.save(session, actor_of(find_user(session, "auditor")), "cases",
                            "Breached major cases", {"path": "major", "breached": "yes"})


def claimed_by_handler(services: Services, case: Case) -> None:
    with services.db.write() as session:
        tasks.claim(session, actor_of(find_user(session, "handler")), case.task_id,
                    services.now())


def ledger_state(services: Services, case: Case):
    with services.db.read() as session:
        return session.execute(select(LedgerEntry.id, LedgerEntry.status)
                               .order_by(LedgerEntry.id)).all()


def proposed_by_director(services: Services, case: Case) -> None:
    """Entry 1 of the site: a warning the director proposed, for the GM office to decide."""
    with services.db.read() as session:
        director = actor_of(find_user(session, "director"))
    ledger.propose(services, director, {"kind": "warning", "ticket": case.ticket,
                                        "person": "handler", "reason": "Late confirmation"})


def november_report(services: Services, case: Case) -> None:
    with services.db.write() as session:
        monthly_report.generate(services, session, "2026-11")


# --------------------------------------------------------------------------- the table

def credentials(case: Case, actor: str) -> dict:
    if actor in DEMO:
        return {"username": actor, "password": "demo"}
    return {"username": "agent", "password": "a guess"}


# New complaints come from other customers, so that a page listing them cannot be taken
# for one showing the dispatched case.
NEW_RECORD = {**RECORD, "customer_name": "Sun Li", "customer_phone": "13700001234",
              "customer_email": "sun.li@example.com"}
CUSTOMER_FORM = {k: str(NEW_RECORD[k]) for k in (
    "customer_name", "customer_phone", "customer_email", "product", "order_number",
    "description", "demand", "amount")}
CUSTOMER_INQUIRY = {"customer_name": "Jane Miller", "customer_email": "jane@example.com",
                    "question": "Which filter fits the AP-300?"}
CUSTOMER_TECHNICAL = {"customer_name": "Jane Miller", "customer_email": "jane@example.com",
                      "model": "Air purifier AP-300", "description": "The fan stops.",
                      "region": "metro", "urgency": "high"}
CUSTOMER_ORDER = {"customer_name": "Jane Miller", "customer_email": "jane@example.com",
                  "order_number": "SO-2611-0042", "specification": "Air purifier AP-300",
                  "quantity": "120", "delivery_date": "2026-12-18"}
PHONE_COMPLAINT = {"customer_name": "Zhao Li", "customer_phone": "13900001111",
                   "product": "Fridge F-2", "description": "Door seal torn on delivery.",
                   "demand": "Send a new seal", "channel": "counter",
                   "received_at": "2026-11-25 09:30"}


@dataclass(frozen=True)
class Route:
    endpoint: str
    method: str
    path: str   # {ticket} {task} {token} {message} {shared_file} {internal_file} {api_token}
    expect: dict
    variant: str = ""           # when one route is tried in more than one way
    case: str = "dispatched"
    body: object = None         # dict, or callable(case, actor) -> dict
    as_json: bool = False
    # What the request may change: allowed requests must change it, refused ones not.
    observe: Optional[Callable] = None
    prepare: Optional[Callable] = None
    # A request whose success would change what other rows rely on gets a database of
    # its own (filing one more complaint changes nothing they rely on); refusals share
    # one, where `observe` shows they changed nothing.
    fresh: bool = False
    # Signing out ends every session of the account, which the other rows replay.
    ends_sessions: bool = False

    @property
    def key(self) -> tuple[str, str]:
        return (self.endpoint, self.method)

    @property
    def name(self) -> str:
        return f"{self.method} {self.endpoint}" + (f" ({self.variant})" if self.variant else "")

    def needs_own_site(self, actor: str) -> bool:
        return bool(self.prepare) or self.ends_sessions or (self.fresh and self.expect[actor] not in (DENIED, LOGIN))

    def body_for(self, case: Case, actor: str) -> dict:
        return dict(self.body(case, actor) if callable(self.body) else self.body or {})


EVERYONE = rule(visitors=OK, staff=OK)
STAFF = rule(staff=OK)
STAFF_SEEING_THE_CASE = rule(staff=OK, blind=OUTSIDERS)
THE_CASE = rule(staff=OK, denied=OUTSIDERS)
WRITING_ON_THE_CASE = rule(staff=OK, denied=OUTSIDERS + READ_ONLY)
ITS_QUEUE = rule(ok=DEPARTMENT)
ADMINS = rule(ok=("admin",))
THE_LINK = rule(visitors=DENIED, ok=("customer",), blind=("bystander",))
EDITORS = rule(ok=("owner", "admin"))     # change the procedure: process owners, admins
# The rewards and penalties ledger: read by management, supervision and compliance (a
# department head: their department's), proposed by management and department heads,
# decided by the general manager's office; monthly reports for supervision and management.
LEDGER_READERS = rule(ok=("gm", "director", "leader", "auditor", "admin", "head"))
LEDGER_PROPOSERS = rule(ok=("gm", "director", "head"))
REPORT_READERS = rule(ok=("gm", "director", "leader", "auditor", "admin"))


def process_files(_case=None, _actor=None) -> dict:
    """The shipped diagrams as the modeler page sends them (fresh streams per request)."""
    files = specs.read_directory(PROJECT_ROOT / "processes")
    return {"files": [(io.BytesIO(content), name) for name, content in files.items()]}


def deploy_request(case=None, actor=None) -> dict:
    return {**process_files(), "note": "Same procedure, deployed again"}

ROUTES = [
    # sign-in, language, health
    Route("auth.login", "GET", "/login", EVERYONE),
    Route("auth.login", "POST", "/login", rule(staff=OK), body=credentials),
    # A reset link is asked for by anyone, signed in or not, and the answer is the same.
    Route("auth.forgot_password", "GET", "/password-reset", EVERYONE),
    Route("auth.forgot_password", "POST", "/password-reset", EVERYONE,
          body={"identifier": "handler2"}, observe=reset_links, fresh=True),
    # A guessed link opens nothing, for anyone (the links' own tests use real ones).
    Route("auth.reset_with_link", "GET", "/password-reset/{token}",
          rule(visitors=DENIED, staff=DENIED)),
    Route("auth.reset_with_link", "POST", "/password-reset/{token}",
          rule(visitors=DENIED, staff=DENIED),
          body={"new": STRONG_PASSWORD, "confirm": STRONG_PASSWORD}, observe=account_changes),
    Route("auth.logout", "POST", "/logout", rule(staff=LOGIN),  # always ends at sign-in
          ends_sessions=True),
    Route("i18n.switch_language", "POST", "/language", EVERYONE, body={"lang": "zh"},
          fresh=True),
    Route("healthz", "GET", "/healthz", EVERYONE),
    # the inbox and tasks
    Route("inbox.index", "GET", "/", STAFF_SEEING_THE_CASE),
    # Filters narrow what one may work; naming another team's queue shows nothing of it.
    Route("inbox.index", "GET", "/?queue=dept_handler:quality", STAFF_SEEING_THE_CASE,
          variant="filtered to the case's queue"),
    Route("inbox.task", "GET", "/tasks/{task}", ITS_QUEUE),
    Route("inbox.complete", "POST", "/tasks/{task}", ITS_QUEUE, body={"handler": "handler"},
          observe=case_tasks, fresh=True),
    Route("inbox.claim", "POST", "/tasks/{task}/claim", ITS_QUEUE, observe=case_tasks,
          fresh=True),
    # Release needs a claimed task: the colleague is told it is taken, nobody else may.
    Route("inbox.release", "POST", "/tasks/{task}/release",
          rule(ok=("handler",), declined=("head",)), prepare=claimed_by_handler,
          observe=case_tasks, fresh=True),
    Route("inbox.reassign", "POST", "/tasks/{task}/reassign", rule(ok=("head",)),
          body=lambda case, _actor: {"assignee": "head", "reason": "Handler is on leave",
                                     "ticket": case.ticket},
          observe=case_tasks, fresh=True),
    # cases
    Route("cases.index", "GET", "/cases", STAFF_SEEING_THE_CASE),
    Route("cases.view", "GET", "/cases/{ticket}", THE_CASE),
    # compliance, supervisors, admins and the staff who may see the case replay it
    Route("cases.replay", "GET", "/cases/{ticket}/replay", THE_CASE),
    # Saved searches are each user's own: anyone on staff saves, only the owner deletes.
    Route("cases.save_search", "POST", "/cases/saved", STAFF,
          body={"name": "Open major cases", "status": "open", "path": "major"},
          observe=saved_search_count),
    Route("cases.delete_search", "POST", "/cases/saved/1/delete", rule(ok=("auditor",)),
          prepare=auditors_saved_search, observe=saved_search_count),
    # the audit trail: compliance and administrators (and the supervision department)
    Route("audit.index", "GET", "/audit", rule(ok=AUDIT_READERS)),
    Route("audit.verify", "GET", "/audit/verify", rule(ok=AUDIT_READERS)),
    Route("audit.case", "GET", "/cases/{ticket}/audit", rule(ok=AUDIT_READERS)),
    Route("cases.reply_template", "GET", "/cases/{ticket}/notes?reply_template=received",
          rule(ok=REPLIERS)),
    Route("cases.add_note", "POST", "/cases/{ticket}/notes", WRITING_ON_THE_CASE,
          variant="internal comment", body={"kind": "comment", "body": "Seen, thanks."},
          observe=note_count, fresh=True),
    Route("cases.add_note", "POST", "/cases/{ticket}/notes", rule(ok=REPLIERS),
          variant="reply to the customer", body={"kind": "reply", "body": "Noted, thanks."},
          observe=note_count, fresh=True),
    Route("attachments.staff_download", "GET", "/cases/{ticket}/attachments/{internal_file}",
          THE_CASE),
    Route("attachments.staff_upload", "POST", "/cases/{ticket}/attachments",
          WRITING_ON_THE_CASE, body=evidence, observe=attachment_count, fresh=True),
    Route("cases.cancel", "POST", "/cases/{ticket}/cancel", rule(ok=CANCELLERS),
          body={"reason": "Duplicate of another complaint"}, observe=case_status, fresh=True),
    # staff registration of a phone or counter complaint
    Route("intake.form", "GET", "/register", rule(ok=REGISTRARS)),
    Route("intake.submit", "POST", "/register", rule(ok=REGISTRARS), body=PHONE_COMPLAINT,
          observe=case_count),
    # Starting a case of another process by hand: the list is everyone's on staff (it
    # names what their role starts); a petition is started by a department head (the
    # petition's lane), its form also shown to admins, who belong to no department.
    Route("start.index", "GET", "/start", STAFF),
    Route("start.form", "GET", "/start/petition?ticket={ticket}", rule(ok=("head", "admin"))),
    Route("start.submit", "POST", "/start/petition", rule(ok=("head",)),
          body=lambda case, _actor: {"ticket": case.ticket, "decision_disputed": "responsibility",
                                     "petition_reason": "The seal tore in transit."},
          observe=case_count, fresh=True),
    # the customer's pages
    Route("public.intake", "GET", "/complaint", EVERYONE),
    Route("public.file", "POST", "/complaint", EVERYONE, body=CUSTOMER_FORM,
          observe=case_count),
    Route("public.filed", "GET", "/complaint/filed", EVERYONE),
    Route("public.inquiry", "GET", "/inquiry", EVERYONE),
    Route("public.file_inquiry", "POST", "/inquiry", EVERYONE, body=CUSTOMER_INQUIRY,
          observe=case_count),
    Route("public.inquiry_filed", "GET", "/inquiry/filed", EVERYONE),
    Route("public.technical", "GET", "/technical-problem", EVERYONE),
    Route("public.file_technical", "POST", "/technical-problem", EVERYONE,
          body=CUSTOMER_TECHNICAL, observe=case_count),
    Route("public.technical_filed", "GET", "/technical-problem/filed", EVERYONE),
    Route("public.order", "GET", "/order-question", EVERYONE),
    Route("public.file_order", "POST", "/order-question", EVERYONE, body=CUSTOMER_ORDER,
          observe=case_count),
    Route("public.order_filed", "GET", "/order-question/filed", EVERYONE),
    Route("public.status", "GET", "/status/{token}", THE_LINK),
    Route("public.answer", "POST", "/status/{token}/tasks/{task}",
          rule(visitors=DENIED, ok=("customer",)), case="answering",
          body={"supply_decision": "supplied", "supplied_facts": "SO-2611-0042"},
          observe=case_tasks, fresh=True),
    Route("public.send_message", "POST", "/status/{token}/messages", THE_LINK,
          body={"body": "Any news?"}, observe=note_count, fresh=True),
    Route("attachments.customer_download", "GET", "/status/{token}/attachments/{shared_file}",
          rule(visitors=DENIED, ok=("customer",)), variant="shared with the customer"),
    Route("attachments.customer_download", "GET",
          "/status/{token}/attachments/{internal_file}", rule(visitors=DENIED),
          variant="for staff only"),
    Route("attachments.customer_upload", "POST", "/status/{token}/attachments", THE_LINK,
          body=evidence, observe=attachment_count, fresh=True),
    Route("public.withdraw", "POST", "/status/{token}/withdraw", THE_LINK,
          body={"reason": "Solved it myself"}, observe=case_status, fresh=True),
    # a staff member's own settings
    Route("settings.edit", "GET", "/settings", STAFF),
    Route("settings.save", "POST", "/settings", STAFF,
          body={"locale": "zh", "timezone": "Asia/Shanghai"}, fresh=True),
    Route("settings.password_form", "GET", "/settings/password", STAFF),
    Route("settings.change_password", "POST", "/settings/password", STAFF,
          body={"current": "demo", "new": STRONG_PASSWORD, "confirm": STRONG_PASSWORD},
          fresh=True),
    # Only one's own tokens: the one named is handler2's (an administrator revokes others'
    # on the account pages).
    Route("settings.revoke_token", "POST", "/settings/tokens/{api_token}/revoke",
          rule(ok=("handler2",)), observe=account_changes, fresh=True),
    # administration
    Route("admin.outbox", "GET", "/admin/outbox", ADMINS),
    Route("admin.message", "GET", "/admin/outbox/{message}", ADMINS),
    Route("admin.attachment", "GET", "/admin/outbox/{message}/attachment", ADMINS),
    # accounts: users, departments and API tokens
    Route("accounts.users", "GET", "/admin/users", ADMINS),
    Route("accounts.create_user", "POST", "/admin/users", ADMINS, body=NEW_USER,
          observe=account_changes, fresh=True),
    Route("accounts.user", "GET", "/admin/users/handler2", ADMINS),
    Route("accounts.update_user", "POST", "/admin/users/handler2", ADMINS,
          body={"display_name": "Chen Jie", "roles": ["dept_handler", "dept_head"],
                "department": "logistics"}, observe=account_changes, fresh=True),
    Route("accounts.reset_password", "POST", "/admin/users/handler2/password", ADMINS,
          body={"password": STRONG_PASSWORD, "confirm": STRONG_PASSWORD},
          observe=account_changes, fresh=True),
    Route("accounts.deactivate_user", "POST", "/admin/users/handler2/deactivate", ADMINS,
          observe=account_changes, fresh=True),
    Route("accounts.create_token", "POST", "/admin/users/handler2/tokens", ADMINS,
          body={"days": "7"}, observe=account_changes, fresh=True),
    # handler2's own token: revoking it is for administrators on these pages.
    Route("accounts.revoke_token", "POST", "/admin/users/handler2/tokens/{api_token}/revoke",
          ADMINS, observe=account_changes, fresh=True),
    Route("accounts.send_reset_link", "POST", "/admin/users/handler2/reset-link", ADMINS,
          observe=account_changes, fresh=True),
    Route("accounts.import_form", "GET", "/admin/import", ADMINS),
    Route("accounts.import_preview", "POST", "/admin/import/preview", ADMINS,
          body=import_upload),
    Route("accounts.import_apply", "POST", "/admin/import", ADMINS,
          body={"kind": "users", "text": IMPORTED_USERS, "send_links": "yes"},
          observe=account_changes, fresh=True),
    Route("accounts.departments", "GET", "/admin/departments", ADMINS),
    Route("accounts.create_department", "POST", "/admin/departments", ADMINS,
          body={"code": "after_sales", "name": "After-sales"}, observe=account_changes,
          fresh=True),
    Route("accounts.update_department", "POST", "/admin/departments/logistics", ADMINS,
          body={"name": "Logistics", "head": "handler2"}, observe=account_changes,
          fresh=True),
    Route("accounts.calendars", "GET", "/admin/calendars", ADMINS),
    Route("accounts.set_calendar_day", "POST", "/admin/calendars/days", ADMINS,
          body={"calendar": "cn-standard", "day": "2026-12-24", "is_open": "closed",
                "reason": "Company day"}, observe=account_changes, fresh=True),
    Route("accounts.set_department_calendar", "POST", "/admin/calendars/departments/sales",
          ADMINS, body={"calendar": "eu-central"}, observe=account_changes, fresh=True),
    # the process library
    Route("processes.index", "GET", "/processes", rule(ok=LIBRARY_READERS)),
    Route("processes.version", "GET", "/processes/complaint/versions/1",
          rule(ok=LIBRARY_READERS)),
    Route("processes.download", "GET", "/processes/complaint/versions/1/files/complaint.bpmn",
          rule(ok=LIBRARY_READERS)),
    Route("processes.download_all", "GET", "/processes/complaint/versions/1/files.zip",
          rule(ok=LIBRARY_READERS)),
    Route("processes.diff", "GET", "/processes/complaint/diff?from=1&to=1",
          rule(ok=LIBRARY_READERS)),
    Route("processes.rollback", "POST", "/processes/complaint/versions/1/rollback",
          rule(ok=PROCESS_EDITORS), body={"note": "Back to the shipped procedure"},
          prepare=second_version, observe=complaint_versions, fresh=True),
    # the process owners' modeler
    Route("modeler.edit", "GET", "/processes/complaint/edit", EDITORS),
    Route("modeler.preview", "POST", "/processes/complaint/edit/preview", EDITORS,
          body={"schema": '{"type": "object", "properties": {"a": {"type": "string"}}}',
                "uischema": "{}"}),
    Route("modeler.validate", "POST", "/processes/complaint/edit/validate", EDITORS,
          body=process_files),
    Route("modeler.scenarios", "POST", "/processes/complaint/edit/scenarios", EDITORS,
          body=process_files),
    # The shipped files again: a deploy that succeeds gets a site of its own all the same.
    Route("modeler.deploy", "POST", "/processes/complaint/edit/deploy", EDITORS,
          body=deploy_request, fresh=True),
    # statistics and exports
    Route("statistics.index", "GET", "/statistics", rule(ok=STATISTICS_READERS)),
    Route("statistics.index", "GET", "/statistics?period=quarter&quarter=2026-Q4",
          rule(ok=STATISTICS_READERS), variant="a quarter"),
    Route("statistics.export", "GET", "/statistics/export/events.xes?from=2026-11-01",
          rule(ok=STATISTICS_READERS)),
    Route("statistics.export", "GET", "/statistics/export/cases.csv",
          rule(ok=STATISTICS_READERS), variant="cases as CSV"),
    # the overseas support manager's metrics
    Route("support_metrics.metrics", "GET", "/support/metrics?month=2026-11",
          rule(ok=SUPPORT_METRICS_READERS)),
    # the rewards and penalties ledger, the monthly reports
    Route("ledger.index", "GET", "/ledger?period=2026-11", LEDGER_READERS),
    Route("ledger.propose_form", "GET", "/ledger/new?ticket={ticket}", LEDGER_PROPOSERS),
    Route("ledger.propose", "POST", "/ledger/new", LEDGER_PROPOSERS,
          body=lambda case, _actor: {"kind": "warning", "ticket": case.ticket,
                                     "person": "handler", "reason": "Late confirmation"},
          observe=ledger_state, fresh=True),
    Route("ledger.decide", "POST", "/ledger/1/decision", rule(ok=("gm",)),
          body={"decision": "approve"}, prepare=proposed_by_director, observe=ledger_state),
    Route("ledger.report_csv", "GET", "/ledger/reports/2026-11.csv", REPORT_READERS,
          prepare=november_report),
    Route("ledger.report_pdf", "GET", "/ledger/reports/2026-11.pdf", REPORT_READERS,
          prepare=november_report),
    # the JSON API (bearer tokens)
    Route("api.openapi", "GET", "/api/v1/openapi.json", EVERYONE),
    Route("api.token", "POST", "/api/v1/token", rule(staff=OK), body=credentials,
          as_json=True),
    Route("api.file_complaint", "POST", "/api/v1/complaints", EVERYONE,
          body={k: v for k, v in NEW_RECORD.items() if intake.customer_may_set(k)},
          as_json=True, observe=case_count),
    Route("api.get_complaint", "GET", "/api/v1/complaints/{ticket}", THE_CASE),
    Route("api.get_replay", "GET", "/api/v1/complaints/{ticket}/replay", THE_CASE),
    Route("api.list_complaints", "GET", "/api/v1/complaints", STAFF_SEEING_THE_CASE),
    Route("api.list_complaints", "GET", "/api/v1/complaints?department=quality&status=open",
          STAFF_SEEING_THE_CASE, variant="filtered to the case's department"),
    Route("api.verify_audit", "GET", "/api/v1/audit/verify", rule(ok=AUDIT_READERS)),
    Route("api.list_tasks", "GET", "/api/v1/tasks", STAFF_SEEING_THE_CASE),
    Route("api.list_tasks", "GET", "/api/v1/tasks?queue=dept_handler:quality",
          STAFF_SEEING_THE_CASE, variant="filtered to the case's queue"),
    Route("api.get_task", "GET", "/api/v1/tasks/{task}", ITS_QUEUE),
    Route("api.list_processes", "GET", "/api/v1/processes", STAFF),
    Route("api.get_process", "GET", "/api/v1/processes/complaint", STAFF),
    Route("api.get_process_version", "GET", "/api/v1/processes/complaint/versions/1", STAFF),
    Route("api.deploy_processes", "POST", "/api/v1/processes", rule(ok=PROCESS_EDITORS),
          body=edited_upload, observe=complaint_versions, fresh=True),
    Route("api.start_instance", "POST", "/api/v1/processes/complaint/instances",
          rule(ok=REGISTRARS), body=NEW_RECORD, as_json=True, observe=case_count),
    Route("api.complete_task", "POST", "/api/v1/tasks/{task}", ITS_QUEUE,
          body={"handler": "handler"}, as_json=True, observe=case_tasks, fresh=True),
    Route("api.get_statistics", "GET", "/api/v1/statistics?from=2026-11-01&to=2026-11-30",
          rule(ok=STATISTICS_READERS)),
    Route("api.export", "GET", "/api/v1/exports/events.xes?from=2026-11-01&to=2026-11-30",
          rule(ok=STATISTICS_READERS)),
    Route("api.export", "GET", "/api/v1/exports/task-events.csv",
          rule(ok=STATISTICS_READERS), variant="task events as CSV"),
    Route("api.export", "GET", "/api/v1/exports/cases.csv",
          rule(ok=STATISTICS_READERS), variant="cases as CSV"),
]

IGNORED_ENDPOINTS = {"static"}  # the style sheet and scripts


# --------------------------------------------------------------------------- requests

def address(route: Route, world: World, actor: str) -> str:
    case = world.case(route.case)
    token = {"customer": case.token, "bystander": world.other(route.case).token}
    return route.path.format(ticket=case.ticket, task=case.task_id, message=world.message_id,
                             shared_file=world.shared_file, internal_file=world.internal_file,
                             token=token.get(actor, GUESSED_TOKEN),
                             api_token=token_key(world.bearer["handler2"]))


def visit(site: Site, world: World, route: Route, actor: str):
    client = site.app.test_client()
    client.set_cookie("session", world.cookies[actor])
    headers = {}
    if route.path.startswith("/api/") and actor in world.bearer:
        headers["Authorization"] = f"Bearer {world.bearer[actor]}"
    path = address(route, world, actor)
    body = route.body_for(world.case(route.case), actor)
    if route.method == "GET":
        return client.get(path, headers=headers)
    if route.as_json:
        return client.open(path, method=route.method, json=body, headers=headers)
    return client.open(path, method=route.method, headers=headers,
                       data={**body, "csrf_token": world.csrf[actor]})


def outcome_of(response) -> str:
    status = response.status_code
    if status == 401:
        return LOGIN
    if 300 <= status < 400:
        return LOGIN if urlsplit(response.headers["Location"]).path == "/login" else OK
    if status in (403, 404):
        return DENIED
    if 200 <= status < 300:
        return OK
    return f"status {status}"


def describe(response) -> str:
    where = response.headers.get("Location")
    return f"{response.status_code}" + (f" to {where}" if where else "")


# --------------------------------------------------------------------------- tests

def test_the_table_names_every_route_of_the_app(shared, world):
    routed = {(r.endpoint, method) for r in shared.app.url_map.iter_rules()
              if r.endpoint not in IGNORED_ENDPOINTS
              for method in r.methods - {"HEAD", "OPTIONS"}}
    listed = [route.key for route in ROUTES]
    missing = sorted(routed - set(listed))
    assert not missing, "routes without a row in ROUTES: " + ", ".join(
        f"{method} {endpoint}" for endpoint, method in missing)
    assert not set(listed) - routed, f"rows for routes that are gone: {set(listed) - routed}"
    names = [route.name for route in ROUTES]
    assert len(names) == len(set(names)), "two rows try a route the same way"
    adapter = shared.app.url_map.bind("localhost")
    for route in ROUTES:
        assert set(route.expect) == set(ACTORS), f"{route.key} misses visitors"
        for actor in ("customer", "agent"):
            endpoint, _args = adapter.match(urlsplit(address(route, world, actor)).path,
                                            method=route.method)
            assert endpoint == route.endpoint, f"the address of {route.key} leads elsewhere"


@pytest.mark.parametrize(("route", "actor"), [(r, a) for r in ROUTES for a in ACTORS],
                         ids=[f"{r.name} as {a}" for r in ROUTES for a in ACTORS])
def test_each_visitor_gets_what_the_table_says(route, actor, world, shared, request):
    site = request.getfixturevalue("fresh") if route.needs_own_site(actor) else shared
    case = world.case(route.case)
    expected = route.expect[actor]
    if route.prepare:
        route.prepare(site.services, case)
    before = route.observe(site.services, case) if route.observe else None

    response = visit(site, world, route, actor)

    seen = outcome_of(response)
    assert seen == (OK if expected in (BLIND, DECLINED) else expected), (
        f"{route.name} as {actor}: expected {expected}, "
        f"got {describe(response)}")
    if expected in (DENIED, BLIND):
        body = response.get_data(as_text=True)
        leaked = [s for s in case.secrets if s in body]
        assert not leaked, f"{route.name} as {actor} shows {leaked}"
    if route.observe:
        after = route.observe(site.services, case)
        if expected == OK:
            assert after != before, f"{route.name} as {actor} was let in but did nothing"
        else:
            assert after == before, f"{route.name} as {actor} was refused but changed {after}"


@pytest.mark.parametrize("actor", [a for a in DEMO if a not in OUTSIDERS])
def test_contact_data_shows_in_full_only_to_those_who_contact_customers(actor, world, shared):
    case = world.dispatched
    pages = ("cases.view", "api.get_complaint") + (("inbox.task",) if actor in DEPARTMENT else ())
    for route in (r for r in ROUTES if r.endpoint in pages):
        body = visit(shared, world, route, actor).get_data(as_text=True)
        assert case.ticket in body
        full = case.customer_phone in body or "wang.lei.world@example.com" in body
        masked = "138****5678" in body
        if actor in CONTACT_READERS:
            assert full, f"{actor} needs the customer's contact data ({route.endpoint})"
        else:
            assert masked and not full, f"{actor} sees contact data ({route.endpoint})"


@pytest.mark.parametrize("target", ["https://evil.example/", "//evil.example/",
                                    "/\\evil.example/", "/\t/evil.example/",
                                    "/\n/evil.example/"])
def test_signing_in_never_leads_off_the_site(target, world, shared):
    client = shared.app.test_client()
    client.set_cookie("session", world.cookies["anonymous"])
    response = client.post("/login", query_string={"next": target},
                           data={"username": "agent", "password": "demo",
                                 "csrf_token": world.csrf["anonymous"]})
    assert response.status_code == 302
    location = response.headers["Location"]
    followed = "".join(c for c in location if c >= " ").replace("\\", "/")
    assert followed.startswith("/") and not followed.startswith("//"), location
    assert "evil.example" not in location


def test_signing_in_returns_to_the_page_asked_for(world, shared):
    page = shared.app.test_client().get(f"/cases/{world.dispatched.ticket}")
    assert urlsplit(page.headers["Location"]).path == "/login"
    client = shared.app.test_client()
    client.set_cookie("session", world.cookies["anonymous"])
    response = client.post(page.headers["Location"], data={
        "username": "agent", "password": "demo", "csrf_token": world.csrf["anonymous"]})
    assert urlsplit(response.headers["Location"]).path == f"/cases/{world.dispatched.ticket}"


def test_the_customer_sees_replies_and_shared_files_but_nothing_internal(world, shared):
    status = next(r for r in ROUTES if r.endpoint == "public.status")
    page = visit(shared, world, status, "customer").get_data(as_text=True)
    assert "We are checking your purifier." in page and "shared-photo.png" in page
    assert "supplier batch 42" not in page
    assert "internal-photo.png" not in page and world.internal_file not in page


@pytest.mark.parametrize(("actor", "shown"), [("agent", True), ("handler", False),
                                             ("head", False)])
def test_the_same_customers_other_complaints_show_only_where_they_may_be_seen(
        actor, shown, world, shared):
    view = next(r for r in ROUTES if r.endpoint == "cases.view")
    page = visit(shared, world, view, actor).get_data(as_text=True)
    assert (world.sibling in page) == shown
