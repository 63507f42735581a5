"""People of the directory: the demo users as actors, and others a test adds."""
from __future__ import annotations

from engine import bootstrap
from engine.directory import Actor, actor_of, create_user, find_user


def demo_actors(services) -> dict[str, Actor]:
    """The demo users as the services see them, by user name."""
    with services.db.read() as session:
        return {name: actor_of(find_user(session, name)) for name, *_ in bootstrap.DEMO_USERS}


def add_user(services, username, roles, department=None) -> Actor:
    """Someone not among the demo users, signing in with the password 'secret-pw'."""
    with services.db.write() as session:
        user = create_user(session, username, "secret-pw", roles, display_name=username,
                           department=department)
        return actor_of(user)
