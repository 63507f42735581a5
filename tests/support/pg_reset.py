"""One PostgreSQL database per test worker, put back to the template's content before
each test instead of a new database per test.

Creating a database from the template copies the whole catalog (about 9 MB) and takes
about 0.2 s; a thousand tests spent over three minutes on it. This database is made from
the template once, keeps a copy of the template's rows in a schema of its own
(`pristine`), and before each test:

- ends every connection still open to it (a test's leftover pool, a stopped server's);
- empties every table with TRUNCATE (fresh files, so rows come back in the template's
  physical order, as in a new database) and copies the template's rows back;
- sets every sequence to the template's value.

A test that changed the schema (a migration run down and up, a column's storage) is
noticed by an event trigger; the database is then dropped and made again from the template.
"""
from __future__ import annotations

import psycopg
from psycopg import sql
from sqlalchemy.engine import make_url

PRISTINE = "pristine"

_NOTE_DDL = f"""
CREATE TABLE {PRISTINE}.schema_changed (at timestamptz NOT NULL DEFAULT now());
CREATE FUNCTION {PRISTINE}.note_schema_change() RETURNS event_trigger LANGUAGE plpgsql AS $$
BEGIN
  INSERT INTO {PRISTINE}.schema_changed DEFAULT VALUES;
END $$;
CREATE EVENT TRIGGER note_schema_change ON ddl_command_end
  EXECUTE FUNCTION {PRISTINE}.note_schema_change();
"""


def _connect(url: str, dbname: str) -> psycopg.Connection:
    u = make_url(url)
    return psycopg.connect(host=u.host, port=u.port, user=u.username, password=u.password,
                           dbname=dbname, autocommit=True, connect_timeout=10)


class ResettableDatabase:
    def __init__(self, admin_url: str, template: str, name: str):
        self.admin_url, self.template, self.name = admin_url, template, name
        self.url = make_url(admin_url).set(database=name).render_as_string(hide_password=False)
        self._restore_script = ""
        self._used = False

    def fresh(self) -> str:
        """The database's URL, with the template's content and nothing else."""
        if not self._restore_script:
            self._create()
        elif self._used:
            self._reset()
        self._used = True
        return self.url

    def drop(self) -> None:
        with _connect(self.admin_url, "postgres") as admin:
            admin.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)")
                          .format(sql.Identifier(self.name)))

    def _create(self) -> None:
        self.drop()
        with _connect(self.admin_url, "postgres") as admin:
            admin.execute(sql.SQL("CREATE DATABASE {} TEMPLATE {}").format(
                sql.Identifier(self.name), sql.Identifier(self.template)))
        with _connect(self.admin_url, self.name) as conn:
            self._restore_script = self._snapshot(conn)
            conn.execute(_NOTE_DDL)

    @staticmethod
    def _snapshot(conn: psycopg.Connection) -> str:
        """Copy the template's rows aside; return the script that puts them back."""
        tables = [row[0] for row in conn.execute(
            "SELECT tablename FROM pg_tables WHERE schemaname = 'public' ORDER BY tablename")]
        conn.execute(sql.SQL("CREATE SCHEMA {}").format(sql.Identifier(PRISTINE)))
        kept = []
        for table in tables:
            if conn.execute(sql.SQL("SELECT EXISTS (SELECT 1 FROM public.{})")
                            .format(sql.Identifier(table))).fetchone()[0]:
                conn.execute(sql.SQL("CREATE TABLE {}.{} AS TABLE public.{}").format(
                    sql.Identifier(PRISTINE), sql.Identifier(table), sql.Identifier(table)))
                kept.append(table)
        sequences = conn.execute(
            "SELECT sequencename, last_value FROM pg_sequences WHERE schemaname = 'public'"
        ).fetchall()
        script = [sql.SQL("BEGIN"),
                  # Rows go back as they were, without foreign-key or other triggers.
                  sql.SQL("SET LOCAL session_replication_role = replica"),
                  sql.SQL("TRUNCATE {}").format(sql.SQL(", ").join(
                      sql.SQL("public.{}").format(sql.Identifier(t)) for t in tables))]
        script += [sql.SQL("INSERT INTO public.{} OVERRIDING SYSTEM VALUE "
                           "SELECT * FROM {}.{}").format(
            sql.Identifier(t), sql.Identifier(PRISTINE), sql.Identifier(t)) for t in kept]
        script += [sql.SQL("SELECT setval({}, {}, {})").format(
            sql.Literal(f'public."{name}"'), sql.Literal(value if value is not None else 1),
            sql.Literal(value is not None)) for name, value in sequences]
        script.append(sql.SQL("COMMIT"))
        return sql.SQL(";\n").join(script).as_string(conn)

    def _reset(self) -> None:
        with _connect(self.admin_url, self.name) as conn:
            conn.execute("SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                          "WHERE datname = current_database() AND pid <> pg_backend_pid()")
            changed = conn.execute(sql.SQL("SELECT EXISTS (SELECT 1 FROM {}.schema_changed)")
                                   .format(sql.Identifier(PRISTINE))).fetchone()[0]
            if not changed:
                conn.execute(self._restore_script)
                return
        self._create()
