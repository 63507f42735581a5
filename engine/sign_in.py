"""Signing in, the same on the pages and the API: failures are counted per account
across both (and attempts per client address), each used-up tier of failures makes the
next wait longer, and the account's owner is told by mail when their account is paused.

User names longer than any account's are turned away before anything is counted or
stored: an attacker's megabyte-long names never reach the counters or the database.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Optional

from sqlalchemy import update
from sqlalchemy.orm import Session

from . import audit, mailer
from .directory import Actor, actor_of, authenticate, find_user, hash_password
from .form_values import storable
from .i18n import translator
from .models import ApiToken, User
from .rate_limits import SIGN_IN_ADDRESS, SIGN_IN_FAILURES
from .services import Services

MAX_USERNAME = User.__table__.c.username.type.length
# Longer passwords would only make each failed check cost more CPU time.
MAX_PASSWORD = 1024


@dataclass(frozen=True)
class SignIn:
    actor: Optional[Actor] = None
    # The session generation the new session carries (see end_sessions).
    generation: int = 0
    # Refused without looking at the password: try again in this many seconds.
    retry_after: Optional[int] = None


def acceptable_name(username: str) -> bool:
    """A name that can be an account's: within the column, and free of characters that
    no database holds (PostgreSQL refuses a NUL outright)."""
    return 0 < len(username) <= MAX_USERNAME and storable(username)


def sign_in(services: Services, username: str, password: str, address: str,
            via: str = "page") -> SignIn:
    """Checks the password within the limits; each checked attempt, right or wrong, is an
    audit event (`via` says where: the sign-in page or the API). Attempts refused by the
    limits are not: each would lock the audit chain for nothing but an attacker's count;
    the moment an account is paused is recorded instead."""
    if not acceptable_name(username) or len(password) > MAX_PASSWORD or \
            not storable(password):
        return SignIn()
    limits = services.limits
    from_address = limits.hit(SIGN_IN_ADDRESS, address or "unknown")
    if not from_address.allowed:
        return SignIn(retry_after=from_address.retry_after)
    # Counted before the password is checked, so that guesses sent side by side each
    # take a turn of the limit; a right password gives the turns back.
    attempt = limits.hit(SIGN_IN_FAILURES, username)
    if not attempt.allowed:
        return SignIn(retry_after=attempt.retry_after)
    with services.db.read() as db:
        user = authenticate(db, username, password)
        signed_in = user and SignIn(actor=actor_of(user), generation=user.session_generation)
    where = {"via": via, "address": (address or "unknown")[:64]}
    if signed_in:
        limits.forgive(SIGN_IN_FAILURES, username)
        with services.db.write() as db:
            audit.record(db, "login", username, **where)
        return signed_in
    # The limits keep their counts in the database too: asked before the write begins,
    # never inside it (SQLite has one writer at a time).
    wait = limits.wait(SIGN_IN_FAILURES, username) if attempt.just_exhausted else None
    with services.db.write() as db:
        audit.record(db, "login_failed", username, **where)
        if wait is not None:
            audit.record(db, "sign_in_paused", username, **where, minutes=max(1, -(-wait // 60)))
    if wait is not None:
        _tell_owner(services, username, wait)
    return SignIn()


def _tell_owner(services: Services, username: str, wait_seconds: int) -> None:
    with services.db.write() as db:
        user = find_user(db, username)
        if user is None or not user.active or not user.email:
            return
        _ = translator(user.locale)
        minutes = max(1, -(-wait_seconds // 60))
        body = "\n\n".join([
            _("Hello %(name)s,", name=user.display_name),
            _("someone has repeatedly failed to sign in to your account %(username)s. "
              "Further attempts are refused for %(minutes)s minutes.",
              username=user.username, minutes=minutes),
            _("If it was you, wait and try again. If it was not, tell your administrator."),
            _("Complaint Desk"),
        ])
        try:
            mailer.queue(db, user.email, _("Sign-in to your account is paused"), body,
                         now=services.now())
        except ValueError:
            pass  # an unusable address on file must not break signing in


def end_sessions(session: Session, user_id: int) -> None:
    """Every session of the account stops working at its next request."""
    session.execute(update(User).where(User.id == user_id)
                    .values(session_generation=User.session_generation + 1))


def change_password(session: Session, user: User, password: str) -> None:
    """A new password ends every session and API token of the account: it is what an
    operator does for an account someone else may know the password of."""
    user.password_hash = hash_password(password)
    session.flush()
    end_sessions(session, user.id)
    session.execute(ApiToken.__table__.delete().where(ApiToken.user_id == user.id))


def deactivate(session: Session, user: User) -> None:
    user.active = False
    session.flush()
    end_sessions(session, user.id)
    session.execute(ApiToken.__table__.delete().where(ApiToken.user_id == user.id))
