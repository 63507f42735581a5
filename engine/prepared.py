"""Statements a step runs every time, compiled once and sent on the driver's cursor.

SQLAlchemy's execution path costs about 25 µs per statement on top of the driver's 3 µs
(cache key, parameter processing, result wrapping; measured on an UPDATE of one row), and
a task completion sends about a dozen statements: a fifth of the step on SQLite. A
`Prepared` statement is still written with SQLAlchemy Core, compiled by SQLAlchemy for
each dialect, and its values converted by the columns' own SQLAlchemy types, so that what
is stored is exactly what `Connection.execute` would store; only the per-execution
machinery is skipped. Event listeners on cursor execution still run (statement counts,
tracing), a driver error is raised as the SQLAlchemy error it would have been, and an
engine created with `echo` goes the ordinary way so that its log stays complete.

Only statements whose parameters are all named binds qualify: no expanding IN lists, no
column defaults computed at execution (give every inserted column a value).
"""
from __future__ import annotations

import functools
from collections import namedtuple
from dataclasses import dataclass
from typing import Any, Callable, Optional, Sequence

from sqlalchemy import Table, bindparam, insert
from sqlalchemy.engine import Connection, Dialect
from sqlalchemy.exc import DBAPIError


@dataclass(frozen=True)
class _Compiled:
    sql: str
    names: tuple[str, ...]                 # bind names in the order the driver takes them
    positional: bool
    fixed: dict                            # values written into the statement (literals)
    processors: tuple[tuple[str, Callable], ...]   # bind name -> the type's conversion
    converters: tuple[tuple[int, Callable], ...]   # result column -> the type's conversion
    row_type: Optional[type]               # a SELECT's rows, by position or column name


class Prepared:
    """One statement; `run`, `rows`, `first` or `run_many` on a connection."""

    def __init__(self, statement):
        self.statement = statement
        self._by_dialect: dict[str, _Compiled] = {}

    def _compiled(self, dialect: Dialect) -> _Compiled:
        compiled = self._by_dialect.get(dialect.name)
        if compiled is None:
            compiled = self._by_dialect[dialect.name] = self._compile(dialect)
        return compiled

    def _compile(self, dialect: Dialect) -> _Compiled:
        compiled = self.statement.compile(dialect=dialect)
        fixed, processors = {}, []
        for bind, name in compiled.bind_names.items():
            if bind.expanding or bind.literal_execute or bind.callable is not None:
                raise ValueError(f"{name}: a prepared statement takes plain binds only")
            if not bind.required:
                fixed[name] = bind.value
            processor = bind.type.dialect_impl(dialect).bind_processor(dialect)
            if processor is not None:
                processors.append((name, processor))
        if compiled.insert_prefetch or compiled.update_prefetch:
            raise ValueError("a prepared statement computes no column defaults: give every "
                             "inserted or updated column a value")
        converters, row_type = [], None
        if getattr(self.statement, "is_select", False):
            columns = list(self.statement.selected_columns)
            for position, column in enumerate(columns):
                convert = column.type.dialect_impl(dialect).result_processor(dialect, None)
                if convert is not None:
                    converters.append((position, convert))
            # Names repeated in a join (a task's `state` beside the case's) read by position.
            row_type = namedtuple("Row", [column.key for column in columns], rename=True)
        positional = dialect.positional
        names = tuple(compiled.positiontup) if positional else ()
        return _Compiled(compiled.string, names, positional, fixed, tuple(processors),
                         tuple(converters), row_type)

    def _parameters(self, compiled: _Compiled, values: dict):
        merged = {**compiled.fixed, **values}
        for name, processor in compiled.processors:
            merged[name] = processor(merged[name])
        if compiled.positional:
            return tuple(merged[name] for name in compiled.names)
        return merged

    def run(self, connection: Connection, values: Optional[dict] = None):
        """Execute with `values` (bind name -> value); returns the driver's cursor, whose
        `rowcount` tells the rows changed (on PostgreSQL inside a pipeline: once the
        pipeline has run)."""
        if connection.engine.echo:
            return _Ordinary(connection.execute(self.statement, values or {}))
        compiled = self._compiled(connection.dialect)
        parameters = self._parameters(compiled, values or {})
        return _send(connection, compiled.sql, parameters, many=False)

    def run_many(self, connection: Connection, rows: Sequence[dict]) -> None:
        """Execute once per row, in one driver call (one round trip on PostgreSQL)."""
        if not rows:
            return
        if connection.engine.echo:
            connection.execute(self.statement, list(rows))
            return
        compiled = self._compiled(connection.dialect)
        _send(connection, compiled.sql, [self._parameters(compiled, row) for row in rows],
              many=True)

    def rows(self, connection: Connection, values: Optional[dict] = None) -> list[tuple]:
        """The result rows (named tuples), each value converted as SQLAlchemy would."""
        compiled = self._compiled(connection.dialect)
        if compiled.row_type is None:
            raise TypeError("rows() reads a SELECT; run() the other statements")
        make = compiled.row_type._make
        if connection.engine.echo:
            return [make(row) for row in connection.execute(self.statement, values or {})]
        cursor = _send(connection, compiled.sql, self._parameters(compiled, values or {}),
                       many=False)
        fetched = cursor.fetchall()
        cursor.close()
        converters = compiled.converters
        if not converters:
            return [make(row) for row in fetched]
        rows = []
        for row in fetched:
            row = list(row)
            for position, convert in converters:
                row[position] = convert(row[position])
            rows.append(make(row))
        return rows

    def first(self, connection: Connection, values: Optional[dict] = None) -> Optional[tuple]:
        found = self.rows(connection, values)
        return found[0] if found else None


@functools.lru_cache(maxsize=64)
def insert_of(table: Table, columns: tuple[str, ...]) -> Prepared:
    """The insert into `table` of rows that give these columns."""
    return Prepared(insert(table).values({
        name: bindparam(name, type_=table.c[name].type) for name in columns}))


def insert_rows(connection: Connection, table: Table, rows: Sequence[dict]) -> None:
    """Insert rows that all give the same columns, in one driver call."""
    if rows:
        insert_of(table, tuple(rows[0])).run_many(connection, rows)


class _Ordinary:
    """A SQLAlchemy result where a cursor is expected (an engine with `echo`)."""

    def __init__(self, result):
        self.rowcount = result.rowcount


def _send(connection: Connection, sql: str, parameters: Any, many: bool):
    dbapi_connection = connection.connection.dbapi_connection
    cursor = dbapi_connection.cursor()
    dispatch = connection.dispatch
    for listener in dispatch.before_cursor_execute:
        listener(connection, cursor, sql, parameters, None, many)
    try:
        if many:
            cursor.executemany(sql, parameters)
        else:
            cursor.execute(sql, parameters)
    except connection.dialect.loaded_dbapi.Error as exc:
        raise DBAPIError.instance(sql, parameters, exc, connection.dialect.loaded_dbapi.Error,
                                  dialect=connection.dialect) from exc
    for listener in dispatch.after_cursor_execute:
        listener(connection, cursor, sql, parameters, None, many)
    return cursor
