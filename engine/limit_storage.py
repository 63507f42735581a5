"""A storage for the `limits` library in the application's own database, so that every
web process (and every host) counts against the same limits; neither `limits` nor
Flask-Limiter ships one on SQL.

Fixed windows only: a counter row holds the hits of its key's current window and when
that window ends. Ended windows are deleted now and then, so the table holds no more
rows than keys were used in the longest window.
"""
from __future__ import annotations

import contextlib
import hashlib
import threading
import time
from typing import Callable, Iterator, Optional

from limits.storage import Storage
from sqlalchemy import case, delete, func, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import Connection, Engine
from sqlalchemy.exc import SQLAlchemyError

from .models import RateLimitCounter

_TABLE = RateLimitCounter.__table__
KEY_LENGTH = _TABLE.c.key.type.length
SWEEP_SECONDS = 60.0


def stored_key(key: str) -> str:
    """Keys fit their column whatever a caller put in them (a user name, an address)."""
    if len(key) <= KEY_LENGTH:
        return key
    return key[:KEY_LENGTH - 65] + "#" + hashlib.sha256(key.encode()).hexdigest()


class SqlStorage(Storage):
    STORAGE_SCHEME = ["complaints+sql"]

    def __init__(self, engine: Engine, clock: Callable[[], float] = time.time,
                 sweep_seconds: float = SWEEP_SECONDS, connection: Optional[Connection] = None):
        super().__init__()
        # On SQLite a counter is a write: take the write lock up front (engine/db.py).
        self.engine = engine.execution_options(writer=True)
        self.clock = clock
        self.sweep_seconds = sweep_seconds
        self.connection = connection
        self._insert = (postgresql.insert if engine.dialect.name == "postgresql"
                        else sqlite.insert)
        self._last_sweep = -1e18
        self._sweep_lock = threading.Lock()

    def within(self, connection: Connection) -> "SqlStorage":
        """The same counters, counted in the caller's transaction (which may hold the
        SQLite write lock a transaction of our own would wait for)."""
        return SqlStorage(self.engine, self.clock, self.sweep_seconds, connection)

    @contextlib.contextmanager
    def _begin(self) -> Iterator[Connection]:
        if self.connection is not None:
            yield self.connection
            return
        with self.engine.begin() as conn:
            yield conn

    @contextlib.contextmanager
    def _connect(self) -> Iterator[Connection]:
        if self.connection is not None:
            yield self.connection
            return
        with self.engine.connect() as conn:
            yield conn

    @property
    def base_exceptions(self):
        return SQLAlchemyError

    def incr(self, key: str, expiry: int, amount: int = 1) -> int:
        now = self.clock()
        live = _TABLE.c.expires_at > now
        statement = self._insert(_TABLE).values(
            key=stored_key(key), hits=amount, expires_at=now + expiry)
        statement = statement.on_conflict_do_update(
            index_elements=[_TABLE.c.key],
            set_={"hits": case((live, _TABLE.c.hits + amount), else_=amount),
                  "expires_at": case((live, _TABLE.c.expires_at), else_=now + expiry)},
        ).returning(_TABLE.c.hits)
        with self._begin() as conn:
            hits = conn.execute(statement).scalar_one()
        if self.connection is None:
            self._sweep_now_and_then(now)
        return hits

    def get(self, key: str) -> int:
        with self._connect() as conn:
            hits = conn.execute(select(_TABLE.c.hits).where(
                _TABLE.c.key == stored_key(key), _TABLE.c.expires_at > self.clock())
            ).scalar_one_or_none()
        return hits or 0

    def get_expiry(self, key: str) -> float:
        now = self.clock()
        with self._connect() as conn:
            expires = conn.execute(select(_TABLE.c.expires_at).where(
                _TABLE.c.key == stored_key(key), _TABLE.c.expires_at > now)
            ).scalar_one_or_none()
        return expires if expires is not None else now

    def check(self) -> bool:
        try:
            with self._connect() as conn:
                conn.execute(select(func.count()).select_from(_TABLE).limit(1))
            return True
        except SQLAlchemyError:
            return False

    def reset(self) -> int:
        with self._begin() as conn:
            return conn.execute(delete(_TABLE)).rowcount

    def clear(self, key: str) -> None:
        with self._begin() as conn:
            conn.execute(delete(_TABLE).where(_TABLE.c.key == stored_key(key)))

    def remove_expired(self) -> int:
        with self._begin() as conn:
            return conn.execute(delete(_TABLE).where(_TABLE.c.expires_at <= self.clock())).rowcount

    def _sweep_now_and_then(self, now: float) -> None:
        with self._sweep_lock:
            if now - self._last_sweep < self.sweep_seconds:
                return
            self._last_sweep = now
        self.remove_expired()
