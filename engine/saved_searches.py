"""Searches a user named to run again: their own, kept in the database (so they follow the
user to any browser), as the canonical query string of the page they belong to."""
from __future__ import annotations

from dataclasses import dataclass
from urllib.parse import urlencode

from sqlalchemy import delete, func, select
from sqlalchemy.orm import Session

from .directory import Actor
from .errors import NotFound
from .form_values import storable_part
from .forms import FormInvalid
from .i18n import N_
from .models import SavedSearch, utcnow

SCOPES = ("cases", "audit")
MAX_PER_USER = 50
MAX_NAME = SavedSearch.__table__.c.name.type.length
MAX_QUERY = 2000


@dataclass(frozen=True)
class Saved:
    id: int
    name: str
    query: str


def listed(session: Session, actor: Actor, scope: str) -> list[Saved]:
    return [Saved(i, n, q) for i, n, q in session.execute(
        select(SavedSearch.id, SavedSearch.name, SavedSearch.query)
        .where(SavedSearch.user_id == actor.id, SavedSearch.scope == scope)
        .order_by(SavedSearch.name))]


def save(session: Session, actor: Actor, scope: str, name: str, params: dict) -> Saved:
    """Save the filters under a name; a search of the same name is replaced."""
    assert scope in SCOPES
    name = " ".join(storable_part(name).split())
    if not name:
        raise FormInvalid({"name": N_("Give the search a name.")})
    if len(name) > MAX_NAME:
        raise FormInvalid({"name": N_("Keep the name under 100 characters.")})
    query = urlencode(params)
    if not params:
        raise FormInvalid({"name": N_("Choose at least one filter to save.")})
    if len(query) > MAX_QUERY:
        raise FormInvalid({"name": N_("These filters are too long to save.")})
    row = session.execute(select(SavedSearch).where(
        SavedSearch.user_id == actor.id, SavedSearch.scope == scope,
        SavedSearch.name == name)).scalar_one_or_none()
    if row is None:
        count = session.execute(select(func.count(SavedSearch.id)).where(
            SavedSearch.user_id == actor.id)).scalar_one()
        if count >= MAX_PER_USER:
            raise FormInvalid({"name": N_("You have saved 50 searches: delete one first.")})
        row = SavedSearch(user_id=actor.id, scope=scope, name=name, query=query,
                          created_at=utcnow())
        session.add(row)
    else:
        row.query = query
    session.flush()
    return Saved(row.id, row.name, row.query)


def remove(session: Session, actor: Actor, saved_id: int) -> None:
    """Delete one of the user's own saved searches (another's is not found)."""
    gone = session.execute(delete(SavedSearch).where(
        SavedSearch.id == saved_id, SavedSearch.user_id == actor.id))
    if gone.rowcount == 0:
        raise NotFound(N_("No such saved search."))
