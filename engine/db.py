"""Database engine and unit of work.

SQLite is the embedded default, PostgreSQL the production database; both are reached
through the same `Database` object so the services never branch on the dialect.
"""
from __future__ import annotations

import contextlib
import time
from typing import Iterator

from sqlalchemy import create_engine, event
from sqlalchemy.exc import DBAPIError, DisconnectionError
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session, sessionmaker


def _configure_sqlite(engine: Engine) -> None:
    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection, _record):
        # Let SQLAlchemy emit BEGIN itself (pysqlite's implicit transactions would
        # otherwise start a deferred transaction that fails instead of waiting when a
        # reader later needs to write).
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute("PRAGMA busy_timeout=10000")
        cursor.execute("PRAGMA synchronous=NORMAL")
        # A page cache that holds the hot part of a large database (the default is 2 MB).
        cursor.execute("PRAGMA cache_size=-65536")
        cursor.execute("PRAGMA mmap_size=268435456")
        cursor.execute("PRAGMA temp_store=MEMORY")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(conn):
        # Writers take the write lock up front: two concurrent completions then queue
        # behind each other instead of one failing with "database is locked".
        if conn.get_execution_options().get("writer"):
            conn.exec_driver_sql("BEGIN IMMEDIATE")
        else:
            conn.exec_driver_sql("BEGIN")


# A pooled connection idle for longer than this is tested before use (a database restart
# or a proxy's idle timeout may have closed it); a busy one is not, which saves a round
# trip per unit of work.
IDLE_BEFORE_PING = 10.0


def _ping_idle_connections(engine: Engine) -> None:
    @event.listens_for(engine, "checkin")
    def _on_checkin(_dbapi_connection, record):
        record.info["checked_in"] = time.monotonic()

    @event.listens_for(engine, "checkout")
    def _on_checkout(dbapi_connection, record, _proxy):
        idle_since = record.info.get("checked_in")
        if idle_since is None or time.monotonic() - idle_since < IDLE_BEFORE_PING:
            return
        try:
            cursor = dbapi_connection.cursor()
            cursor.execute("SELECT 1")
            cursor.close()
            dbapi_connection.rollback()
        except Exception as exc:  # the pool replaces the connection and tries again
            raise DisconnectionError() from exc


@contextlib.contextmanager
def batched(session: Session) -> Iterator[None]:
    """Statements whose results nobody reads (inserts, updates without a row count to
    check), sent to PostgreSQL together with psycopg's pipeline mode: one round trip for
    the batch instead of one per statement. Nothing inside may read a result. A failing
    statement fails the batch at its end, as the SQLAlchemy error it would have been.
    SQLite runs the statements as they come."""
    connection = session.connection()
    if connection.dialect.name != "postgresql":
        yield
        return
    import psycopg  # only where PostgreSQL is used
    driver = connection.connection.driver_connection
    try:
        with driver.pipeline():
            yield
    except psycopg.Error as exc:
        raise DBAPIError.instance(None, None, exc, psycopg.Error) from exc


class Database:
    def __init__(self, url: str, echo: bool = False):
        self.url = url
        kwargs: dict = {"echo": echo, "future": True}
        if url.startswith("sqlite"):
            kwargs["connect_args"] = {"check_same_thread": False, "timeout": 10}
        else:
            kwargs.update(pool_size=10, max_overflow=20)
        self.engine = create_engine(url, **kwargs)
        self.is_sqlite = self.engine.dialect.name == "sqlite"
        reading = self.engine
        if self.is_sqlite:
            _configure_sqlite(self.engine)
        else:
            _ping_idle_connections(self.engine)
            # Several rows of one insert (a group's mails, SLA marks and notices) go as
            # psycopg's executemany: one round trip (its pipeline mode), the statement
            # parsed once. SQLAlchemy's multi-row VALUES (what it does for psycopg2) is new
            # SQL text for every row count, too long for psycopg's parse cache, and
            # parsing it took a tenth of a timer worker's time.
            self.engine.dialect.use_insertmanyvalues_wo_returning = False
            # Reads run statement by statement: under READ COMMITTED a read transaction
            # gives no firmer view, and BEGIN and ROLLBACK would be two more round trips.
            reading = self.engine.execution_options(isolation_level="AUTOCOMMIT")
        self._reader = sessionmaker(bind=reading, expire_on_commit=False)
        self._writer = sessionmaker(
            bind=self.engine.execution_options(writer=True), expire_on_commit=False
        )

    @contextlib.contextmanager
    def read(self) -> Iterator[Session]:
        """A session for queries; rolled back at the end, never commits."""
        session = self._reader()
        try:
            yield session
        finally:
            # Objects read here stay usable (loaded, detached) after the session ends.
            session.expunge_all()
            session.rollback()
            session.close()

    @contextlib.contextmanager
    def write(self) -> Iterator[Session]:
        """The unit of work: everything inside commits together or not at all."""
        session = self._writer()
        try:
            yield session
            session.commit()
        except BaseException:
            session.rollback()
            raise
        finally:
            session.close()

    def ping(self) -> bool:
        with self.engine.connect() as conn:
            conn.exec_driver_sql("SELECT 1")
        return True

    def dispose(self) -> None:
        self.engine.dispose()
