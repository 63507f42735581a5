"""Password reset links by e-mail: anyone asks for one by user name or e-mail address and
always gets the same answer (whether an account exists is never told), an administrator
sends one from the user's page. A link is a random token of which only the digest is
stored; it opens once, within an hour by the services' clock, and sets a password under
the same rules as every other password (accounts.password_problem)."""
from __future__ import annotations

import datetime as dt
import hashlib
import secrets
from dataclasses import dataclass
from typing import Optional

from sqlalchemy import func, select, update
from sqlalchemy.orm import Session

from . import accounts, audit, mailer, sign_in
from .directory import Actor
from .form_values import storable
from .i18n import N_, Message, translator
from .models import PasswordResetLink, User
from .public_address import public_url
from .rate_limits import PASSWORD_RESETS, SIGN_IN_ADDRESS
from .services import Services

VALID_FOR = dt.timedelta(hours=1)
PATH = "/password-reset/"
# token_urlsafe(32) gives 43 characters; anything much longer is no link of ours.
MAX_TOKEN = 64
MAX_IDENTIFIER = 254


class LinkRefused(accounts.AccountInvalid):
    """The link opens nothing: unknown (404), or used or expired (410)."""

    def __init__(self, message: str, status: int):
        super().__init__("link", message)
        self.status = status


@dataclass(frozen=True)
class Request:
    # Refused by the limits: try again in this many seconds (else None).
    retry_after: Optional[int] = None


def _digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def link_for(token: str) -> str:
    return f"{public_url()}{PATH}{token}"


def _find(session: Session, identifier: str) -> Optional[User]:
    """The active account named by its user name or (case aside) its e-mail address;
    None when none or more than one account has that address."""
    found = session.execute(select(User).where(User.username == identifier,
                                               User.active.is_(True))).scalar_one_or_none()
    if found is None and "@" in identifier:
        matches = session.execute(select(User).where(
            func.lower(User.email) == identifier.lower(), User.active.is_(True))
            .limit(2)).scalars().all()
        found = matches[0] if len(matches) == 1 else None
    return found


def issue(session: Session, services: Services, user: User,
           locale: Optional[str]) -> None:
    """A new link for the account, mailed to it in the caller's transaction; links sent
    earlier stop working (only the newest mail counts)."""
    now = services.now()
    _retire(session, user.id, now)
    token = secrets.token_urlsafe(32)
    session.add(PasswordResetLink(token_hash=_digest(token), user_id=user.id,
                                  created_at=now, expires_at=now + VALID_FOR))
    _ = translator(user.locale or locale)
    body = "\n\n".join([
        _("Hello %(name)s,", name=user.display_name),
        _("to set a new password for your account %(username)s, open this link within "
          "one hour:", username=user.username),
        link_for(token),
        _("The link works once. If you did not ask for it, ignore this mail: your "
          "password stays as it is."),
        _("Complaint Desk"),
    ])
    mailer.queue(session, user.email, _("Set your password"), body, now=now)


def _retire(session: Session, user_id: int, now: dt.datetime) -> None:
    session.execute(update(PasswordResetLink).where(
        PasswordResetLink.user_id == user_id, PasswordResetLink.used_at.is_(None),
        PasswordResetLink.expires_at > now).values(expires_at=now))


def request_link(services: Services, identifier: str, address: str,
                 locale: Optional[str] = None) -> Request:
    """Mail a link to the account named (by user name or e-mail address) if there is one
    with an address; the caller tells everyone the same thing either way."""
    identifier = (identifier or "").strip()
    if not identifier or len(identifier) > MAX_IDENTIFIER or not storable(identifier):
        return Request()
    limits = services.limits
    from_address = limits.hit(SIGN_IN_ADDRESS, address or "unknown")
    if not from_address.allowed:
        return Request(retry_after=from_address.retry_after)
    asked = limits.hit(PASSWORD_RESETS, identifier.lower())
    if not asked.allowed:
        return Request(retry_after=asked.retry_after)
    with services.db.write() as db:
        user = _find(db, identifier)
        if user is None or not user.email:
            return Request()
        try:
            issue(db, services, user, locale)
        except ValueError:
            return Request()  # an unusable address on file: nothing to send to
        audit.record(db, "password_reset_requested", user.username, username=user.username,
                     address=(address or "unknown")[:64])
    return Request()


def send_link(services: Services, actor: Actor, username: str) -> str:
    """An administrator mails the account's owner a link; returns the address used."""
    accounts.require_admin(actor)
    with services.db.write() as db:
        user = accounts.account(db, username)
        if not user.active:
            raise accounts.AccountInvalid("reset_link", Message(N_(
                "This account is deactivated.")))
        if not user.email:
            raise accounts.AccountInvalid("reset_link", Message(N_(
                "This user has no e-mail address: add one first.")))
        try:
            issue(db, services, user, None)
        except ValueError:
            raise accounts.AccountInvalid("reset_link", Message(N_(
                "The e-mail address of this user cannot receive mail: correct it first.")))
        audit.record(db, "password_reset_link_sent", actor.username, username=username)
        return user.email


def _open(session: Session, services: Services, token: str) -> tuple[PasswordResetLink, User]:
    link = None
    if token and len(token) <= MAX_TOKEN and token.isascii():
        link = session.get(PasswordResetLink, _digest(token))
    if link is None:
        raise LinkRefused(Message(N_("This link is not valid. Ask for a new one.")), 404)
    if link.used_at is not None:
        raise LinkRefused(Message(N_("This link has been used already. Ask for a new one "
                                     "if you need to set your password again.")), 410)
    user = session.get(User, link.user_id)
    if link.expires_at <= services.now() or user is None or not user.active:
        raise LinkRefused(Message(N_("This link has expired: links work for one hour. Ask "
                                     "for a new one.")), 410)
    return link, user


def check_link(services: Services, token: str) -> str:
    """The user name the link sets the password of; LinkRefused when it opens nothing."""
    with services.db.read() as db:
        return _open(db, services, token)[1].username


def use_link(services: Services, token: str, password: str, confirm: str) -> str:
    """Set the password through the link (which then stops working); every session and
    API token of the account ends. Returns the user name."""
    with services.db.write() as db:
        link, user = _open(db, services, token)
        accounts.check_new_password(password, confirm, user.username, field="new")
        sign_in.change_password(db, user, password)
        link.used_at = services.now()
        _retire(db, user.id, services.now())
        audit.record(db, "password_reset_by_link", user.username, username=user.username)
        return user.username
