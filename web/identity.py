"""Who is signed in, and the checks a page makes of them before it runs.

Pages know the person by the session the login page set up (web/auth.py); the API knows
them by a bearer token (web/api.py).
"""
from __future__ import annotations

import functools
from typing import Optional

from flask import g, make_response, redirect, request, session, url_for

from engine import sign_in, visibility
from engine.directory import Actor, actor_of, get_user
from engine.errors import Forbidden

from .services import services


def start_session(actor: Actor, generation: int) -> None:
    session.clear()
    session["user_id"] = actor.id
    session["generation"] = generation


def end_session() -> None:
    """Sign out here and everywhere: a cookie saved before stops working too."""
    user_id = session.get("user_id")
    session.clear()
    if user_id is not None:
        with services().db.write() as db:
            sign_in.end_sessions(db, user_id)


def current_actor() -> Optional[Actor]:
    if "actor" not in g:
        g.actor = None
        user_id = session.get("user_id")
        if user_id is not None:
            with services().db.read() as db:
                user = get_user(db, user_id)
                if user is not None and user.session_generation == session.get("generation"):
                    g.actor = actor_of(user)
            if g.actor is None:
                session.clear()  # ended by a sign-out elsewhere, a new password, deactivation
    return g.actor


def login_required(view):
    @functools.wraps(view)
    def wrapped(*args, **kwargs):
        if current_actor() is None:
            target = url_for("auth.login", next=request.full_path)
            if request.headers.get("HX-Request") == "true":
                # An in-place update would put the sign-in page inside the section it
                # meant to refresh: have htmx load it as the whole page instead.
                response = make_response("", 200)
                response.headers["HX-Redirect"] = target
                return response
            return redirect(target)
        return view(*args, **kwargs)
    return wrapped


def guarded_page(require):
    """A view decorator: signed in (else to the login page) and let through by
    `require(actor)`, which raises Forbidden (a 403) for anyone else."""
    def decorator(view):
        @functools.wraps(view)
        def wrapped(*args, **kwargs):
            require(current_actor())
            return view(*args, **kwargs)
        return login_required(wrapped)
    return decorator


# Signed in and a staff role.
staff_page = guarded_page(visibility.require_staff)


def require_any_role(roles: set[str], message: str) -> None:
    if not current_actor().roles & roles:
        raise Forbidden(message)
