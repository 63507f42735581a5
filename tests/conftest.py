"""Shared fixtures: a migrated database per test (SQLite, or a real PostgreSQL server when
COMPLAINTS_TEST_DATABASE=postgresql), the engine services with a movable clock, actors, a
desk that works cases through the services, the app and visitors of its pages, and the
served app with a real browser for the journeys."""
from __future__ import annotations

import os
import shutil

import pytest
from argon2.profiles import CHEAPEST

from engine import bootstrap, directory, migrate, versions
from engine.services import Services
from support.browser import chromium
from support.clock import Clock
from support.desk import Desk
from support.pages import Visitor
from support.people import demo_actors
from support.server import Server

BACKEND = os.environ.get("COMPLAINTS_TEST_DATABASE", "sqlite")


def pytest_configure(config):
    # Real argon2, at its cheapest: people are signed in thousands of times in a run. The
    # installations the tests start in processes of their own hash at full cost.
    directory.use_password_parameters(CHEAPEST)
    config.addinivalue_line("markers", "sqlite_only: runs against SQLite only")
    config.addinivalue_line("markers", "slow: takes more than a few seconds")
    config.addinivalue_line("markers", "browser: drives a real Chromium")


def _prepare_template(url: str) -> None:
    migrate.upgrade(url)
    services = Services.create(url)
    versions.deploy_shipped(services)
    bootstrap.create_demo_directory(services)
    services.db.dispose()


@pytest.fixture(scope="session")
def _template(tmp_path_factory):
    """A database migrated once with the shipped process and the demo directory: an
    SQLite file to copy, or on PostgreSQL a database that is put back to it per test."""
    if BACKEND == "postgresql":
        from support.pg_reset import ResettableDatabase
        from support.pg_server import create_database, throwaway_postgres
        with throwaway_postgres() as admin_url:
            template_url = create_database(admin_url, "template_complaints")
            _prepare_template(template_url)
            yield ("postgresql", ResettableDatabase(admin_url, "template_complaints",
                                                    "complaints"))
    else:
        path = tmp_path_factory.mktemp("template") / "template.db"
        _prepare_template(f"sqlite:///{path}")
        yield ("sqlite", path)


@pytest.fixture
def database_url(_template, tmp_path):
    kind, where = _template
    if kind == "sqlite":
        target = tmp_path / "complaints.db"
        shutil.copyfile(where, target)
        return f"sqlite:///{target}"
    return where.fresh()


@pytest.fixture
def clock():
    clock = Clock()
    yield clock
    clock.stop()


@pytest.fixture
def services(database_url, clock, tmp_path):
    services = Services.create(database_url)
    services.clock = clock
    services.attachment_dir = tmp_path / "attachments"
    yield services
    services.db.dispose()


@pytest.fixture
def actors(services):
    """Demo users as the services see them, by user name."""
    return demo_actors(services)


@pytest.fixture
def desk(services, actors, clock):
    """Files complaints and works their tasks through the services, as the demo users."""
    return Desk(services, actors, clock)


@pytest.fixture
def app(services):
    from web import create_app
    app = create_app({"SERVICES": services, "DATABASE_URL": services.db.url, "TESTING": True,
                      "SECRET_KEY": "test-secret", "LOGIN_ATTEMPTS_PER_MINUTE": 1000})
    return app


@pytest.fixture
def client(app):
    return app.test_client()


@pytest.fixture
def visitor(app):
    """Someone at the pages with a fresh session: anonymous (a customer), or signed in as
    the named demo user, with a language preference if given."""
    def arrive(username: str | None = None, accept_language: str | None = None) -> Visitor:
        return Visitor(app, username, accept_language)
    return arrive


@pytest.fixture(scope="session")
def _served_template(_template, tmp_path_factory):
    """An SQLite database as a first start of the server leaves it (migrated, shipped
    processes deployed, demo directory), for served apps, whatever the backend under test."""
    kind, where = _template
    if kind == "sqlite":
        return where
    path = tmp_path_factory.mktemp("served") / "template.db"
    _prepare_template(f"sqlite:///{path}")
    return path


@pytest.fixture
def server(tmp_path, _served_template):
    """The application served in a process of its own from a fresh instance folder. Its
    database starts as a copy of what a first start makes: the server's start then only
    checks it, and what a first start does is tested on its own (test_serve.py)."""
    shutil.copyfile(_served_template, tmp_path / "complaints.db")
    running = Server(tmp_path)
    yield running
    running.stop()


@pytest.fixture(scope="module")
def browser():
    """A headless Chromium, one per test module."""
    with chromium() as launched:
        yield launched
