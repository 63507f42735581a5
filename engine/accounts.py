"""Accounts in the browser: everyone changes their own password; administrators keep the
users, departments (and their heads) and API tokens. Every change is an audit event named
after the person who made it."""
from __future__ import annotations

import datetime as dt
import hashlib
import re
import secrets
from dataclasses import dataclass
from typing import Optional

from sqlalchemy import select
from sqlalchemy.orm import Session

from . import audit, calendars_admin, sign_in
from .bootstrap import DEMO_PASSWORD
from .calendars import CALENDARS
from .directory import ROLES, Actor, authenticate, create_user as directory_create_user
from .errors import Forbidden, NotFound, ServiceError
from .form_values import EARLIEST_DAY, LATEST_DAY, storable
from .i18n import N_, Message
from .models import ApiToken, ClosedDay, Department, User, UserRole, utcnow
from .services import Services

ADMIN = "admin"
MIN_PASSWORD = 10
# Passwords anyone would try first, the demo's among them.
COMMON_PASSWORDS = frozenset({
    "demo", "password", "password1", "passw0rd", "1234567890", "12345678910", "qwertyuiop",
    "123456789a", "admin12345", "administrator", "letmein123", "changeme123", "iloveyou12",
})
USERNAME = re.compile(r"^[a-z0-9][a-z0-9._-]{0,63}$")
DEPARTMENT_CODE = re.compile(r"^[a-z0-9][a-z0-9_]{0,63}$")
EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
MAX_NAME = 200
MAX_EMAIL = 254
TOKEN_KEY_LENGTH = 12
MAX_TOKEN_DAYS = 365


class AccountInvalid(ServiceError):
    """Bad input; `field` names the form field it is about."""

    status = 422

    def __init__(self, field: str, message: str):
        super().__init__(message)
        self.field = field


def require_admin(actor: Optional[Actor]) -> None:
    if actor is None or not actor.has(ADMIN):
        raise Forbidden(N_("Only administrators manage accounts."))


# ------------------------------------------------------------------------ passwords

def password_problem(password: str, username: str) -> Optional[Message]:
    """Why a new password is not good enough, or None: the rule for every password set,
    by an administrator, on the command line or by the account's owner."""
    if len(password) < MIN_PASSWORD:
        return Message(N_("Choose a password of at least %(count)s characters."),
                       count=MIN_PASSWORD)
    if len(password) > sign_in.MAX_PASSWORD or not storable(password):
        return Message(N_("This password is too long or contains characters that cannot "
                          "be stored."))
    lowered = password.lower()
    if lowered in COMMON_PASSWORDS or len(set(password)) < 4:
        return Message(N_("This password is too easy to guess: choose another."))
    if username and username.lower() in lowered:
        return Message(N_("The password must not contain the user name."))
    return None


def _check_password(password: str, confirm: Optional[str], username: str,
                    field: str = "password") -> None:
    problem = password_problem(password, username)
    if problem:
        raise AccountInvalid(field, problem)
    if confirm is not None and confirm != password:
        raise AccountInvalid("confirm", Message(N_("The two passwords differ: type the new "
                                                   "password twice.")))


def check_new_password(password: str, confirm: Optional[str], username: str,
                       field: str = "password") -> None:
    """AccountInvalid naming the field when the new password breaks the rule or the two
    typings differ."""
    _check_password(password, confirm, username, field)


def change_own_password(services: Services, actor: Actor, current: str, new: str,
                        confirm: str) -> int:
    """The signed-in person's new password; returns the session generation their own
    session continues with (every other session and API token of theirs ends)."""
    if len(current) > sign_in.MAX_PASSWORD or not storable(current):
        raise AccountInvalid("current", Message(N_("Your current password is not right.")))
    with services.db.read() as db:
        checked = authenticate(db, actor.username, current)
    if checked is None or checked.id != actor.id:
        with services.db.write() as db:
            audit.record(db, "password_change_refused", actor.username, via="settings")
        raise AccountInvalid("current", Message(N_("Your current password is not right.")))
    _check_password(new, confirm, actor.username, field="new")
    if new == current:
        raise AccountInvalid("new", Message(N_("Choose a password other than the current "
                                               "one.")))
    with services.db.write() as db:
        user = db.get(User, actor.id)
        sign_in.change_password(db, user, new)
        audit.record(db, "password_changed", actor.username, username=actor.username,
                     via="settings")
        db.flush()
        db.refresh(user)
        return user.session_generation


# ---------------------------------------------------------------------------- users

@dataclass(frozen=True)
class UserRow:
    username: str
    display_name: str
    email: Optional[str]
    roles: tuple[str, ...]
    department: Optional[str]
    department_name: Optional[str]
    active: bool
    created_at: dt.datetime


def _row(user: User) -> UserRow:
    return UserRow(user.username, user.display_name, user.email, tuple(sorted(user.role_names)),
                   user.department.code if user.department else None,
                   user.department.name if user.department else None, user.active,
                   user.created_at)


def users(session: Session) -> list[UserRow]:
    found = session.execute(select(User).order_by(User.active.desc(), User.username)).scalars()
    return [_row(u) for u in found]


def user(session: Session, username: str) -> UserRow:
    return _row(_user(session, username))


def account(session: Session, username: str) -> User:
    """The account itself (NotFound if none), for services that change it."""
    return _user(session, username)


def _user(session: Session, username: str) -> User:
    found = session.execute(select(User).where(User.username == username)
                            ).scalar_one_or_none() if len(username) <= 64 else None
    if found is None:
        raise NotFound(N_("There is no such user."))
    return found


def _text(value: str, field: str, limit: int, required: bool = False) -> str:
    value = (value or "").strip()
    if required and not value:
        raise AccountInvalid(field, Message(N_("This field is required.")))
    if len(value) > limit or not storable(value):
        raise AccountInvalid(field, Message(N_("Use at most %(count)s characters."),
                                            count=limit))
    return value


def _profile(session: Session, display_name: str, email: str, roles: list[str],
             department: str) -> tuple[str, Optional[str], list[str], Optional[Department]]:
    name = _text(display_name, "display_name", MAX_NAME, required=True)
    mail = _text(email, "email", MAX_EMAIL) or None
    if mail and not EMAIL.match(mail):
        raise AccountInvalid("email", Message(N_("Enter an e-mail address like "
                                                 "name@example.com.")))
    unknown = sorted(set(roles) - set(ROLES))
    if unknown:
        raise AccountInvalid("roles", Message(N_("Unknown role: %(role)s."),
                                              role=", ".join(r[:64] for r in unknown)))
    if not roles:
        raise AccountInvalid("roles", Message(N_("Give the user at least one role.")))
    dept = None
    if department:
        dept = _department(session, department, field="department")
    return name, mail, sorted(set(roles)), dept


def _department(session: Session, code: str, field: str = "department") -> Department:
    found = session.execute(select(Department).where(Department.code == code[:64])
                            ).scalar_one_or_none()
    if found is None:
        raise AccountInvalid(field, Message(N_("Unknown department: %(code)s."), code=code[:64]))
    return found


def create(services: Services, actor: Actor, username: str, password: str, confirm: str,
           display_name: str, email: str, roles: list[str], department: str) -> str:
    require_admin(actor)
    username = (username or "").strip()
    if not USERNAME.match(username):
        raise AccountInvalid("username", Message(N_(
            "Use lower-case letters, digits, dots, hyphens and underscores (at most 64).")))
    with services.db.write() as db:
        if db.execute(select(User.id).where(User.username == username)).first():
            raise AccountInvalid("username", Message(N_("The user name %(username)s is taken."),
                                                     username=username))
        name, mail, roles, dept = _profile(db, display_name, email, roles, department)
        _check_password(password, confirm, username)
        directory_create_user(db, username, password, roles, display_name=name,
                              department=dept.code if dept else None, email=mail)
        audit.record(db, "user_created", actor.username, username=username, roles=roles,
                     department=dept.code if dept else None, via="browser")
    return username


def update(services: Services, actor: Actor, username: str, display_name: str, email: str,
           roles: list[str], department: str) -> None:
    """Sessions carry no roles (each request reads the account), so a change applies
    from the person's next click."""
    require_admin(actor)
    with services.db.write() as db:
        target = _user(db, username)
        name, mail, roles, dept = _profile(db, display_name, email, roles, department)
        if target.id == actor.id and ADMIN not in roles:
            raise AccountInvalid("roles", Message(N_(
                "You cannot take the administrator role from yourself.")))
        before = _row(target)
        target.display_name, target.email = name, mail
        target.department_id = dept.id if dept else None
        kept = {r.role: r for r in target.roles}
        target.roles = [kept.get(r) or UserRole(role=r) for r in roles]
        db.flush()
        changes = {k: v for k, v in {
            "display_name": name if name != before.display_name else None,
            "email": mail if mail != before.email else None,
            "roles": roles if tuple(roles) != before.roles else None,
            "department": (dept.code if dept else "") if (dept.code if dept else None)
            != before.department else None}.items() if v is not None}
        audit.record(db, "user_updated", actor.username, username=username, **changes)


def deactivate(services: Services, actor: Actor, username: str) -> None:
    require_admin(actor)
    with services.db.write() as db:
        target = _user(db, username)
        if target.id == actor.id:
            raise AccountInvalid("deactivate", Message(N_("You cannot deactivate your own "
                                                          "account.")))
        if not target.active:
            return
        sign_in.deactivate(db, target)
        audit.record(db, "user_deactivated", actor.username, username=username, via="browser")


def reset_password(services: Services, actor: Actor, username: str, password: str,
                   confirm: str) -> None:
    """An administrator's new password for someone: their sessions and tokens end."""
    require_admin(actor)
    with services.db.write() as db:
        target = _user(db, username)
        _check_password(password, confirm, username)
        sign_in.change_password(db, target, password)
        audit.record(db, "password_reset", actor.username, username=username, via="browser")


# ---------------------------------------------------------------------- departments

@dataclass(frozen=True)
class DepartmentRow:
    code: str
    name: str
    calendar: str
    heads: tuple[str, ...]      # display names of the active heads
    members: int


def departments(session: Session) -> list[DepartmentRow]:
    rows = []
    for dept in session.execute(select(Department).order_by(Department.name)).scalars():
        people = session.execute(select(User).where(User.department_id == dept.id,
                                                    User.active.is_(True))
                                 .order_by(User.display_name)).scalars().all()
        heads = tuple(u.display_name for u in people if "dept_head" in u.role_names)
        rows.append(DepartmentRow(dept.code, dept.name, dept.calendar, heads, len(people)))
    return rows


def create_department(services: Services, actor: Actor, code: str, name: str) -> None:
    require_admin(actor)
    code = (code or "").strip()
    if not DEPARTMENT_CODE.match(code):
        raise AccountInvalid("code", Message(N_(
            "Use lower-case letters, digits and underscores (at most 64).")))
    name = _text(name, "name", MAX_NAME, required=True)
    with services.db.write() as db:
        if db.execute(select(Department.id).where(Department.code == code)).first():
            raise AccountInvalid("code", Message(N_("The department %(code)s exists already."),
                                                 code=code))
        db.add(Department(code=code, name=name))
        audit.record(db, "department_created", actor.username, department=code, name=name)


def update_department(services: Services, actor: Actor, code: str, name: str,
                      head: str) -> None:
    """Rename a department and/or make a user its head (they join it, with the head's
    role; an earlier head keeps theirs until an administrator changes it)."""
    require_admin(actor)
    name = _text(name, "name", MAX_NAME, required=True)
    head = (head or "").strip()
    with services.db.write() as db:
        dept = db.execute(select(Department).where(Department.code == code[:64])
                          ).scalar_one_or_none()
        if dept is None:
            raise NotFound(N_("There is no such department."))
        if name != dept.name:
            dept.name = name
            audit.record(db, "department_updated", actor.username, department=code, name=name)
        if head:
            person = db.execute(select(User).where(User.username == head[:64],
                                                   User.active.is_(True))).scalar_one_or_none()
            if person is None:
                raise AccountInvalid("head", Message(N_("Unknown user: %(username)s."),
                                                     username=head[:64]))
            person.department_id = dept.id
            if "dept_head" not in person.role_names:
                person.roles.append(UserRole(role="dept_head"))
            db.flush()
            audit.record(db, "department_head_set", actor.username, department=code,
                         username=person.username)


# ------------------------------------------------------------------------ API tokens

@dataclass(frozen=True)
class TokenRow:
    key: str             # the start of the token's digest: names it, unlocks nothing
    created_at: dt.datetime
    expires_at: dt.datetime
    expired: bool


def token_key(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()[:TOKEN_KEY_LENGTH]


def tokens(session: Session, username: str) -> list[TokenRow]:
    # Tokens expire by the server's clock (directory.actor_for_token), not a scenario's.
    now = utcnow()
    owner = _user(session, username)
    found = session.execute(select(ApiToken).where(ApiToken.user_id == owner.id)
                            .order_by(ApiToken.created_at.desc())).scalars()
    return [TokenRow(t.token_hash[:TOKEN_KEY_LENGTH], t.created_at, t.expires_at,
                     t.expires_at <= now) for t in found]


def create_token(services: Services, actor: Actor, username: str,
                 days: str) -> tuple[str, dt.datetime]:
    """A new token for the account, valid `days` days; the token itself is shown once."""
    require_admin(actor)
    try:
        count = int((days or "").strip())
    except ValueError:
        count = 0
    if not 1 <= count <= MAX_TOKEN_DAYS:
        raise AccountInvalid("days", Message(N_("Give a number of days from 1 to %(max)s."),
                                             max=MAX_TOKEN_DAYS))
    token = secrets.token_urlsafe(32)
    expires = utcnow() + dt.timedelta(days=count)
    with services.db.write() as db:
        owner = _user(db, username)
        if not owner.active:
            raise AccountInvalid("days", Message(N_("This account is deactivated.")))
        digest = hashlib.sha256(token.encode()).hexdigest()
        db.add(ApiToken(token_hash=digest, user_id=owner.id, created_at=utcnow(),
                        expires_at=expires))
        audit.record(db, "api_token_created", actor.username, username=username,
                     token=digest[:TOKEN_KEY_LENGTH], expires=expires.isoformat())
    return token, expires


def revoke_token(services: Services, actor: Actor, username: str, key: str) -> None:
    """Administrators revoke anyone's token, others only their own."""
    if actor is None or (not actor.has(ADMIN) and actor.username != username):
        raise Forbidden(N_("You may revoke only your own API tokens."))
    if not re.fullmatch(r"[0-9a-f]{%d}" % TOKEN_KEY_LENGTH, key or ""):
        raise NotFound(N_("There is no such token."))
    with services.db.write() as db:
        owner = _user(db, username)
        found = db.execute(select(ApiToken).where(ApiToken.user_id == owner.id,
                                                  ApiToken.token_hash.startswith(key))
                           ).scalars().all()
        if len(found) != 1:
            raise NotFound(N_("There is no such token."))
        db.delete(found[0])
        audit.record(db, "api_token_revoked", actor.username, username=username, token=key)


# ------------------------------------------------------------------ a real installation

PRODUCTION = "production"


def production_problems(session: Session, secret_key: Optional[str]) -> list[str]:
    """What stops a production server from starting: the demo's passwords and keys are
    public (they are in this repository), so no account may still accept them."""
    problems = []
    if not secret_key:
        problems.append(
            "SECRET_KEY is not set: set it to a long random value, the same for every web "
            "process (python -c 'import secrets; print(secrets.token_hex(32))')")
    demo = [u.username for u in session.execute(
        select(User).where(User.active.is_(True)).order_by(User.username)).scalars()
        if authenticate(session, u.username, DEMO_PASSWORD) is not None]
    if demo:
        problems.append(
            f"these accounts still accept the demo password: {', '.join(demo)}; give each a "
            f"new password (flask --app web set-password NAME) or deactivate it (flask --app "
            f"web deactivate-user NAME)")
    admins = session.execute(select(User.id).join(UserRole).where(
        User.active.is_(True), UserRole.role == ADMIN)).first()
    if admins is None:
        problems.append("there is no administrator: create one with "
                        "flask --app web create-admin NAME")
    return problems


# ------------------------------------------------------------------------ calendars

@dataclass(frozen=True)
class CalendarDay:
    calendar: str
    day: dt.date
    is_open: bool
    reason: str


def calendar_names() -> list[str]:
    return sorted(CALENDARS)


def calendar_days(session: Session, limit: int = 200) -> list[CalendarDay]:
    """The days administrators closed or opened beyond the public-holiday rules, the
    latest first."""
    rows = session.execute(select(ClosedDay).order_by(ClosedDay.day.desc(),
                                                      ClosedDay.calendar).limit(limit))
    return [CalendarDay(r.calendar, r.day, r.is_open, r.reason) for r in rows.scalars()]


def _calendar(name: str, field: str = "calendar") -> str:
    if name not in CALENDARS:
        raise AccountInvalid(field, Message(N_("Choose one of the offered calendars.")))
    return name


def set_calendar_day(services: Services, actor: Actor, calendar: str, day: str,
                     is_open: str, reason: str) -> dt.date:
    """Close a day on a calendar (a company holiday) or open one (a working weekend)."""
    require_admin(actor)
    calendar = _calendar(calendar)
    try:
        chosen = dt.date.fromisoformat((day or "").strip())
    except ValueError:
        chosen = None
    if chosen is None or not EARLIEST_DAY <= chosen <= LATEST_DAY:
        raise AccountInvalid("day", Message(N_("Choose a date.")))
    if is_open not in ("open", "closed"):
        raise AccountInvalid("is_open", Message(N_("Choose whether the day is closed or "
                                                   "open.")))
    reason = _text(reason, "reason", ClosedDay.__table__.c.reason.type.length)
    calendars_admin.set_day(services, calendar, chosen, is_open == "open", reason,
                            actor=actor.username)
    return chosen


def set_department_calendar(services: Services, actor: Actor, department: str,
                            calendar: str) -> None:
    require_admin(actor)
    calendar = _calendar(calendar, field=f"{department[:64]}:calendar")
    with services.db.read() as db:
        if db.execute(select(Department.id).where(Department.code == department[:64])
                      ).first() is None:
            raise NotFound(N_("There is no such department."))
    calendars_admin.set_department_calendar(services, department, calendar,
                                            actor=actor.username)
