"""Users and departments imported from a CSV file by an administrator.

The file is UTF-8 text (a byte-order mark is fine: it is what spreadsheets write for
"CSV UTF-8"), comma-separated, with a header row naming the columns in any order:

- users: username, display_name, email, roles, department. Roles are the role codes
  separated by ";" or spaces; department is a department code (empty: none).
- departments: code, name, head (the user name of the head, may be empty).

A row names an account or department that exists: it is changed to what the row says;
else it is created. Nothing is written until the preview (`preview`) shows no problem;
`apply` checks everything again inside the one transaction that writes it all, so
a file with a single bad row writes nothing. Created users have no usable password: they
set one through a reset link (engine/password_reset.py).

A whole file is refused, before any row is looked at, when it is too large, not a CSV
file, not UTF-8 text, lacks a column, or has a cell a spreadsheet would run as a formula
(CSV injection: the file is likely to be opened in one again).
"""
from __future__ import annotations

import csv
import io
import re
from dataclasses import dataclass, field

from sqlalchemy import select
from sqlalchemy.orm import Session

from . import accounts, audit, password_reset
from .directory import ROLES, Actor
from .errors import ServiceError
from .form_values import storable
from .i18n import N_, Message
from .models import Department, User, UserRole
from .services import Services

MAX_BYTES = 256 * 1024
MAX_ROWS = 2000
COLUMNS = {
    "users": ("username", "display_name", "email", "roles", "department"),
    "departments": ("code", "name", "head"),
}
REQUIRED = {"users": ("username", "display_name", "roles"), "departments": ("code", "name")}
CSV_TYPES = frozenset({"text/csv", "application/csv", "text/plain", "text/x-csv",
                       "application/vnd.ms-excel", "application/octet-stream", ""})
# A cell starting with one of these is a formula to a spreadsheet.
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r", "|")
ROLE_SEPARATOR = re.compile(r"[;\s]+")
# An imported account's password hash: no password verifies against it.
UNUSABLE_PASSWORD = "!imported"
USER_FIELDS = ("display_name", "email", "roles", "department")


class ImportRefused(ServiceError):
    """The whole file is refused; nothing is written."""

    def __init__(self, message: str, status: int = 422):
        super().__init__(message)
        self.status = status


@dataclass
class Row:
    line: int                     # the line of the file, the header being line 1
    key: str                      # user name or department code as given
    action: str = "unchanged"     # create | update | unchanged | invalid
    changes: tuple[str, ...] = ()
    problems: list[Message] = field(default_factory=list)
    values: dict = field(default_factory=dict)


@dataclass
class Plan:
    kind: str
    rows: list[Row]

    @property
    def problems(self) -> int:
        return sum(len(r.problems) for r in self.rows)

    @property
    def valid(self) -> bool:
        return bool(self.rows) and self.problems == 0

    def count(self, action: str) -> int:
        return sum(1 for r in self.rows if r.action == action)


# ------------------------------------------------------------------------ reading

def read_upload(filename: str, content_type: str, data: bytes) -> str:
    """The uploaded file's text, or ImportRefused saying why it is no CSV file of ours."""
    if len(data) > MAX_BYTES:
        raise ImportRefused(Message(N_("The file is larger than %(size)s KiB: split it into "
                                       "smaller files."), size=MAX_BYTES // 1024), 413)
    kind = (content_type or "").split(";")[0].strip().lower()
    if not (filename or "").lower().endswith(".csv") or kind not in CSV_TYPES:
        raise ImportRefused(Message(N_("Upload a CSV file (a name ending in .csv).")), 415)
    if not data.strip():
        raise ImportRefused(Message(N_("The file is empty.")))
    if b"\x00" in data:
        raise ImportRefused(Message(N_("This is not a text file: save the sheet as "
                                       "\"CSV UTF-8\" and upload that.")), 415)
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise ImportRefused(Message(N_("The file is not UTF-8 text (it may be GBK or "
                                       "another encoding): save it as \"CSV UTF-8\" and "
                                       "upload again.")))


def parse(kind: str, text: str) -> list[tuple[int, dict]]:
    """(line, {column: value}) for each data row, or ImportRefused for the whole file."""
    if kind not in COLUMNS:
        raise ImportRefused(Message(N_("Choose what the file holds: users or departments.")))
    if len(text.encode("utf-8")) > MAX_BYTES:
        raise ImportRefused(Message(N_("The file is larger than %(size)s KiB: split it into "
                                       "smaller files."), size=MAX_BYTES // 1024), 413)
    if not storable(text.replace("\t", " ")):
        raise ImportRefused(Message(N_("This is not a text file: save the sheet as "
                                       "\"CSV UTF-8\" and upload that.")), 415)
    reader = csv.reader(io.StringIO(text.lstrip("\ufeff"), newline=""))
    try:
        header = next(reader, None)
        if header is None:
            raise ImportRefused(Message(N_("The file is empty.")))
        names = [h.strip().lower() for h in header]
        wanted = COLUMNS[kind]
        unknown = [n for n in names if n not in wanted]
        missing = [n for n in REQUIRED[kind] if n not in names]
        if unknown or missing or len(set(names)) != len(names):
            raise ImportRefused(Message(N_(
                "The first row must name the columns %(columns)s (in any order); this file "
                "has %(found)s."), columns=", ".join(wanted),
                found=", ".join(n[:40] for n in names[:10]) or "—"))
        rows = []
        for cells in reader:
            if not any(c.strip() for c in cells):
                continue
            line = reader.line_num
            if len(rows) >= MAX_ROWS:
                raise ImportRefused(Message(N_("The file has more than %(count)s rows: split "
                                               "it into smaller files."), count=MAX_ROWS))
            if len(cells) > len(names):
                raise ImportRefused(Message(N_("Line %(line)s has more cells than the header "
                                               "names."), line=line))
            for name, cell in zip(names, cells):
                if cell.lstrip(" ").startswith(FORMULA_STARTS):
                    raise ImportRefused(Message(N_(
                        "Line %(line)s, column %(column)s starts with \"%(sign)s\": a "
                        "spreadsheet would run it as a formula. Remove the sign and upload "
                        "again."), line=line, column=name, sign=cell.lstrip(" ")[0].strip()
                        or "tab"))
            values = {n: "" for n in wanted}
            values.update({n: c.strip() for n, c in zip(names, cells)})
            rows.append((line, values))
    except csv.Error as exc:
        raise ImportRefused(Message(N_("The file is not valid CSV near line %(line)s."),
                                    line=reader.line_num)) from exc
    if not rows:
        raise ImportRefused(Message(N_("The file has a header but no rows.")))
    return rows


# ----------------------------------------------------------------------- planning

def _plan_users(session: Session, actor: Actor, rows: list[tuple[int, dict]]) -> Plan:
    departments = {d.code: d for d in session.execute(select(Department)).scalars()}
    planned, seen = [], set()
    for line, v in rows:
        row = Row(line, v["username"][:64], values=v)
        problems = row.problems
        username = v["username"]
        if not accounts.USERNAME.match(username):
            problems.append(Message(N_("The user name must be lower-case letters, digits, "
                                       "dots, hyphens and underscores (at most 64).")))
        elif username in seen:
            problems.append(Message(N_("The user name %(username)s is in the file twice."),
                                    username=username))
        seen.add(username)
        if not v["display_name"]:
            problems.append(Message(N_("The display name is missing.")))
        elif len(v["display_name"]) > accounts.MAX_NAME:
            problems.append(Message(N_("The display name is longer than %(count)s "
                                       "characters."), count=accounts.MAX_NAME))
        email = v["email"]
        if email and (len(email) > accounts.MAX_EMAIL or not accounts.EMAIL.match(email)):
            problems.append(Message(N_("%(email)s is not an e-mail address."),
                                    email=email[:80]))
        roles = sorted({r for r in ROLE_SEPARATOR.split(v["roles"]) if r})
        unknown = [r for r in roles if r not in ROLES]
        for role in unknown:
            problems.append(Message(N_("Unknown role: %(role)s."), role=role[:64]))
        if not roles:
            problems.append(Message(N_("Give the user at least one role.")))
        code = v["department"]
        if code and code not in departments:
            problems.append(Message(N_("Unknown department: %(code)s."), code=code[:64]))
        v["roles"] = roles
        existing = session.execute(select(User).where(User.username == username)
                                   ).scalar_one_or_none() if not problems else None
        if existing is not None:
            if existing.id == actor.id and accounts.ADMIN not in roles:
                problems.append(Message(N_("You cannot take the administrator role from "
                                           "yourself.")))
            now = {"display_name": existing.display_name, "email": existing.email or "",
                   "roles": sorted(existing.role_names),
                   "department": existing.department.code if existing.department else ""}
            row.changes = tuple(f for f in USER_FIELDS if now[f] != v[f])
            row.action = "update" if row.changes else "unchanged"
        elif not problems:
            row.action = "create"
        if problems:
            row.action = "invalid"
        planned.append(row)
    return Plan("users", planned)


def _plan_departments(session: Session, rows: list[tuple[int, dict]]) -> Plan:
    planned, seen = [], set()
    for line, v in rows:
        row = Row(line, v["code"][:64], values=v)
        problems = row.problems
        code = v["code"]
        if not accounts.DEPARTMENT_CODE.match(code):
            problems.append(Message(N_("The department code must be lower-case letters, "
                                       "digits and underscores (at most 64).")))
        elif code in seen:
            problems.append(Message(N_("The department %(code)s is in the file twice."),
                                    code=code))
        seen.add(code)
        if not v["name"]:
            problems.append(Message(N_("The department name is missing.")))
        elif len(v["name"]) > accounts.MAX_NAME:
            problems.append(Message(N_("The department name is longer than %(count)s "
                                       "characters."), count=accounts.MAX_NAME))
        head = None
        if v["head"]:
            head = session.execute(select(User).where(User.username == v["head"][:64],
                                                      User.active.is_(True))
                                   ).scalar_one_or_none()
            if head is None:
                problems.append(Message(N_("Unknown user: %(username)s."),
                                        username=v["head"][:64]))
        if problems:
            row.action = "invalid"
        else:
            existing = session.execute(select(Department).where(Department.code == code)
                                       ).scalar_one_or_none()
            if existing is None:
                row.action = "create"
                row.changes = ("name",) + (("head",) if head else ())
            else:
                is_head = head is not None and head.department_id == existing.id and \
                    "dept_head" in head.role_names
                row.changes = tuple(f for f, differs in (
                    ("name", existing.name != v["name"]), ("head", head is not None and
                                                           not is_head)) if differs)
                row.action = "update" if row.changes else "unchanged"
        planned.append(row)
    return Plan("departments", planned)


def _plan(session: Session, actor: Actor, kind: str, text: str) -> Plan:
    rows = parse(kind, text)
    if kind == "users":
        return _plan_users(session, actor, rows)
    return _plan_departments(session, rows)


def preview(services: Services, actor: Actor, kind: str, text: str) -> Plan:
    """What the file would create and change, and every row's problems; writes nothing."""
    accounts.require_admin(actor)
    with services.db.read() as db:
        return _plan(db, actor, kind, text)


# ------------------------------------------------------------------------ applying

def apply(services: Services, actor: Actor, kind: str, text: str, filename: str = "",
          send_links: bool = False) -> Plan:
    """Write what the file says in one transaction; ImportRefused (nothing written) when a
    row has a problem. New users with an e-mail address get a link to set their password
    when `send_links`."""
    accounts.require_admin(actor)
    with services.db.write() as db:
        plan = _plan(db, actor, kind, text)
        if not plan.valid:
            raise ImportRefused(Message(N_("The file has %(count)s problems: nothing was "
                                           "imported. Correct them and upload it again."),
                                        count=plan.problems))
        if kind == "users":
            _apply_users(db, services, actor, plan, send_links)
        else:
            _apply_departments(db, actor, plan)
        audit.record(db, "accounts_imported", actor.username, contents=kind,
                     file=" ".join((filename or "").split())[:120],
                     created=plan.count("create"), changed=plan.count("update"))
    return plan


def _apply_users(db: Session, services: Services, actor: Actor, plan: Plan,
                 send_links: bool) -> None:
    departments = {d.code: d for d in db.execute(select(Department)).scalars()}
    for row in plan.rows:
        v = row.values
        dept = departments.get(v["department"]) if v["department"] else None
        if row.action == "create":
            user = User(username=v["username"], display_name=v["display_name"],
                        email=v["email"] or None, password_hash=UNUSABLE_PASSWORD,
                        department_id=dept.id if dept else None,
                        roles=[UserRole(role=r) for r in v["roles"]])
            db.add(user)
            db.flush()
            audit.record(db, "user_created", actor.username, username=user.username,
                         roles=v["roles"], department=dept.code if dept else None,
                         via="import")
            if send_links and user.email:
                try:
                    password_reset.issue(db, services, user, None)
                except ValueError:
                    pass  # the address was checked; a mailer refusal leaves them to ask
        elif row.action == "update":
            user = db.execute(select(User).where(User.username == v["username"])).scalar_one()
            user.display_name, user.email = v["display_name"], v["email"] or None
            user.department_id = dept.id if dept else None
            kept = {r.role: r for r in user.roles}
            user.roles = [kept.get(r) or UserRole(role=r) for r in v["roles"]]
            db.flush()
            audit.record(db, "user_updated", actor.username, username=user.username,
                         via="import", **{f: v[f] for f in row.changes})


def _apply_departments(db: Session, actor: Actor, plan: Plan) -> None:
    for row in plan.rows:
        v = row.values
        if row.action == "unchanged":
            continue
        dept = db.execute(select(Department).where(Department.code == v["code"])
                          ).scalar_one_or_none()
        if dept is None:
            dept = Department(code=v["code"], name=v["name"])
            db.add(dept)
            db.flush()
            audit.record(db, "department_created", actor.username, department=v["code"],
                         name=v["name"], via="import")
        elif dept.name != v["name"]:
            dept.name = v["name"]
            audit.record(db, "department_updated", actor.username, department=v["code"],
                         name=v["name"], via="import")
        if "head" in row.changes:
            person = db.execute(select(User).where(User.username == v["head"])).scalar_one()
            person.department_id = dept.id
            if "dept_head" not in person.role_names:
                person.roles.append(UserRole(role="dept_head"))
            db.flush()
            audit.record(db, "department_head_set", actor.username, department=v["code"],
                         username=person.username, via="import")
