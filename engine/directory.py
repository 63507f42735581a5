"""Users, roles, departments, passwords (argon2) and API tokens."""
from __future__ import annotations

import datetime as dt
import hashlib
import secrets
from dataclasses import dataclass
from typing import Optional

from argon2 import Parameters, PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy import bindparam, select
from sqlalchemy.orm import Session

from .i18n import N_
from .models import ApiToken, Department, User, UserRole, utcnow
from .prepared import Prepared

ROLES = {
    "cs_agent": N_("Customer service agent"),
    "cs_supervisor": N_("Customer-service supervisor"),
    "cs_director": N_("Customer-service director"),
    "dept_handler": N_("Department handler"),
    "dept_head": N_("Department head"),
    "gm_office": N_("General manager's office"),
    "leadership": N_("Leadership group"),
    "supervisor": N_("Supervision department"),
    # The overseas customer-support team of 004.
    "support_agent": N_("Overseas support agent"),
    "support_manager": N_("Overseas support manager"),
    "process_owner": N_("Process owner"),
    "compliance": N_("Compliance"),
    "admin": N_("Administrator"),
}

TOKEN_LIFETIME = dt.timedelta(hours=12)

_hasher = PasswordHasher()
# A hash to verify against when the user does not exist, so that the answer takes as
# long for an unknown name as for a wrong password. Made on the first sign-in, not on
# import: a hash costs a tenth of a second, and every process (a timer worker, a CLI
# command) would pay it at start whether anyone signs in or not.
_DUMMY_HASH: Optional[str] = None


def _dummy_hash() -> str:
    global _DUMMY_HASH
    if _DUMMY_HASH is None:
        _DUMMY_HASH = _hasher.hash("not-a-real-password")
    return _DUMMY_HASH


def use_password_parameters(parameters: Parameters) -> None:
    """Hash new passwords with these argon2 parameters from now on, in this process.

    The defaults are argon2-cffi's (RFC 9106's low-memory profile), about a tenth of a
    second per hash: right for people, and the only setting an installation uses. A test
    run signs people in thousands of times and sets argon2's cheapest profile instead.
    A stored hash carries its own parameters, so either setting verifies both."""
    global _hasher, _DUMMY_HASH
    _hasher = PasswordHasher.from_parameters(parameters)
    _DUMMY_HASH = None


@dataclass(frozen=True)
class Actor:
    """The person acting, as the services see them (no ORM object leaks out)."""

    id: int
    username: str
    display_name: str
    roles: frozenset[str]
    department: Optional[str]
    locale: Optional[str] = None
    timezone: Optional[str] = None

    def has(self, role: str) -> bool:
        return role in self.roles


def actor_of(user: User) -> Actor:
    return Actor(
        id=user.id,
        username=user.username,
        display_name=user.display_name,
        roles=frozenset(user.role_names),
        department=user.department.code if user.department else None,
        locale=user.locale,
        timezone=user.timezone,
    )


def set_preferences(session: Session, user_id: int, **changes: Optional[str]) -> None:
    """Save a user's language and/or time zone (None clears: follow the browser)."""
    user = session.get(User, user_id)
    if user is None:
        return
    for name in ("locale", "timezone"):
        if name in changes:
            setattr(user, name, changes[name])


def hash_password(password: str) -> str:
    return _hasher.hash(password)


def ensure_department(session: Session, code: str, name: str,
                      calendar: Optional[str] = None) -> Department:
    """The department, created if missing; `calendar` applies only on creation so that an
    admin's later choice stays."""
    dept = session.execute(select(Department).where(Department.code == code)).scalar_one_or_none()
    if dept is None:
        dept = Department(code=code, name=name)
        if calendar:
            dept.calendar = calendar
        session.add(dept)
        session.flush()
    return dept


def create_user(
    session: Session,
    username: str,
    password: str,
    roles: list[str],
    display_name: Optional[str] = None,
    department: Optional[str] = None,
    email: Optional[str] = None,
) -> User:
    unknown = set(roles) - set(ROLES)
    if unknown:
        raise ValueError(f"unknown roles: {', '.join(sorted(unknown))}")
    if session.execute(select(User).where(User.username == username)).scalar_one_or_none():
        raise ValueError(f"user {username!r} already exists")
    dept_id = None
    if department:
        dept = session.execute(
            select(Department).where(Department.code == department)
        ).scalar_one_or_none()
        if dept is None:
            raise ValueError(f"unknown department {department!r}")
        dept_id = dept.id
    user = User(
        username=username,
        display_name=display_name or username,
        email=email,
        password_hash=hash_password(password),
        department_id=dept_id,
        roles=[UserRole(role=r) for r in roles],
    )
    session.add(user)
    session.flush()
    return user


def authenticate(session: Session, username: str, password: str) -> Optional[User]:
    dummy = _dummy_hash()  # before the lookup: the first sign-in pays for it either way
    user = session.execute(
        select(User).where(User.username == username, User.active.is_(True))
    ).scalar_one_or_none()
    try:
        _hasher.verify(user.password_hash if user else dummy, password)
    except (VerificationError, InvalidHashError):
        return None
    return user


def get_user(session: Session, user_id: int) -> Optional[User]:
    user = session.get(User, user_id)
    return user if user is not None and user.active else None


def find_user(session: Session, username: str) -> Optional[User]:
    return session.execute(select(User).where(User.username == username)).scalar_one_or_none()


def departments(session: Session) -> list[Department]:
    return list(session.execute(select(Department).order_by(Department.name)).scalars())


def department_users(session: Session, code: str) -> list[User]:
    return list(
        session.execute(
            select(User)
            .join(Department, User.department_id == Department.id)
            .where(Department.code == code, User.active.is_(True))
            .order_by(User.display_name)
        ).scalars()
    )


def _token_digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def issue_token(session: Session, user: User) -> tuple[str, dt.datetime]:
    token = secrets.token_urlsafe(32)
    expires = utcnow() + TOKEN_LIFETIME
    session.add(ApiToken(token_hash=_token_digest(token), user_id=user.id, expires_at=expires))
    return token, expires


def _actor_by_token_statement():
    tokens, users = ApiToken.__table__, User.__table__
    depts, roles = Department.__table__, UserRole.__table__
    return (
        select(users.c.id, users.c.username, users.c.display_name, depts.c.code, roles.c.role)
        .select_from(tokens.join(users, tokens.c.user_id == users.c.id)
                     .outerjoin(depts, users.c.department_id == depts.c.id)
                     .outerjoin(roles, roles.c.user_id == users.c.id))
        .where(tokens.c.token_hash == bindparam("token_hash"),
               tokens.c.expires_at > bindparam("now", type_=ApiToken.expires_at.type),
               users.c.active.is_(True))
    )


# Built once: it runs on every API call, where building it would cost more than running it.
_ACTOR_BY_TOKEN = Prepared(_actor_by_token_statement())


def actor_for_token(session: Session, token: str) -> Optional[Actor]:
    """The actor a bearer token stands for, or None if unknown or expired."""
    rows = _ACTOR_BY_TOKEN.rows(session.connection(),
                                {"token_hash": _token_digest(token), "now": utcnow()})
    if not rows:
        return None
    first = rows[0]
    return Actor(id=first[0], username=first[1], display_name=first[2],
                 roles=frozenset(r[4] for r in rows if r[4]), department=first[3])
