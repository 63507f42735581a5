"""Start a throwaway PostgreSQL cluster for a test run and stop it afterwards.

Usage::

    with throwaway_postgres() as url:      # postgresql+psycopg://postgres@127.0.0.1:PORT/complaints_test
        other = create_database(url, "module_x")
        ...
        drop_database(url, "module_x")

The cluster lives in a fresh temporary directory which is removed on exit.  When
running as root the server runs as the unprivileged ``postgres`` system user
(falling back to ``nobody``), because initdb/postgres refuse to run as root.
"""

from __future__ import annotations

import atexit
import contextlib
import glob
import os
import pwd
import re
import shutil
import socket
import subprocess
import tempfile
import threading
from pathlib import Path
from typing import Iterator

import psycopg
from psycopg import sql
from sqlalchemy.engine import make_url

__all__ = ["throwaway_postgres", "create_database", "drop_database", "find_pg_bindir"]

SUPERUSER = "postgres"
_START_ATTEMPTS = 5
_LOG_TAIL_LINES = 40
_PORT_ERROR_RE = re.compile(
    r"could not bind|address already in use|could not create listen socket|"
    r"could not create any TCP/IP sockets|lock file .* already exists",
    re.IGNORECASE,
)


# --------------------------------------------------------------------------- binaries


def _version_key(path: str) -> tuple:
    name = Path(path).parent.name  # /usr/lib/postgresql/<ver>/bin
    return tuple(int(p) if p.isdigit() else -1 for p in re.split(r"[._-]", name))


def find_pg_bindir() -> Path:
    """Directory holding initdb/pg_ctl/postgres, or RuntimeError."""
    pg_config = shutil.which("pg_config")
    if pg_config:
        try:
            out = subprocess.run(
                [pg_config, "--bindir"], capture_output=True, text=True, timeout=10, check=True
            ).stdout.strip()
        except (subprocess.SubprocessError, OSError):
            out = ""
        if out and (Path(out) / "initdb").is_file() and (Path(out) / "pg_ctl").is_file():
            return Path(out)
    candidates = [
        d for d in glob.glob("/usr/lib/postgresql/*/bin")
        if os.path.isfile(os.path.join(d, "initdb")) and os.path.isfile(os.path.join(d, "pg_ctl"))
    ]
    if candidates:
        return Path(max(candidates, key=_version_key))
    raise RuntimeError(
        "PostgreSQL server binaries (initdb, pg_ctl) not found: neither `pg_config --bindir` "
        "nor /usr/lib/postgresql/*/bin contains initdb. Install the Debian `postgresql` "
        "package (e.g. `apt-get install postgresql`; the Makefile does this)."
    )


# --------------------------------------------------------------------------- helpers


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _run_as_user() -> pwd.struct_passwd | None:
    """The account to run the server as, or None to run as ourselves."""
    if os.geteuid() != 0:
        return None
    for name in ("postgres", "nobody"):
        try:
            return pwd.getpwnam(name)
        except KeyError:
            continue
    raise RuntimeError("running as root but neither a 'postgres' nor a 'nobody' user exists")


def _log_tail(log: Path, lines: int = _LOG_TAIL_LINES) -> str:
    try:
        text = log.read_text(errors="replace")
    except OSError as exc:
        return f"<server log {log} unreadable: {exc}>"
    return "\n".join(text.splitlines()[-lines:]) or "<server log empty>"


class _Server:
    def __init__(self) -> None:
        self.bindir = find_pg_bindir()
        self.user = _run_as_user()
        base = None
        if self.user is not None or len(tempfile.gettempdir()) > 60:
            # /tmp is world-traversable (needed when dropping to another user) and short
            # (unix socket paths are limited to ~107 bytes).
            base = "/tmp"
        self.tmp = Path(tempfile.mkdtemp(prefix="pgtest-", dir=base))
        self.data = self.tmp / "data"
        self.sock = self.tmp / "sock"
        self.log = self.tmp / "server.log"
        self.port: int | None = None
        self.started = False
        self._lock = threading.Lock()
        self.sock.mkdir()
        if self.user is not None:
            for p in (self.tmp, self.sock):
                os.chown(p, self.user.pw_uid, self.user.pw_gid)
        os.chmod(self.tmp, 0o700)

    # -- subprocess ------------------------------------------------------------------

    def _run(self, args: list[str], timeout: float = 60) -> subprocess.CompletedProcess:
        env = dict(os.environ)
        for k in ("PGDATA", "PGPORT", "PGHOST", "PGUSER", "PGDATABASE", "PGOPTIONS"):
            env.pop(k, None)
        env["LC_ALL"] = "C"
        env.pop("LANG", None)
        kwargs: dict = {}
        if self.user is not None:
            # Equivalent to `runuser -u postgres --`, without PAM overhead.
            kwargs.update(user=self.user.pw_uid, group=self.user.pw_gid, extra_groups=[])
            env.update(HOME=str(self.tmp), USER=self.user.pw_name, LOGNAME=self.user.pw_name)
        return subprocess.run(
            [str(self.bindir / args[0]), *args[1:]],
            cwd=self.tmp,  # must be accessible to the server user
            env=env,
            stdin=subprocess.DEVNULL,
            capture_output=True,
            text=True,
            timeout=timeout,
            **kwargs,
        )

    # -- lifecycle -------------------------------------------------------------------

    def initdb(self) -> None:
        r = self._run(
            ["initdb", "-D", str(self.data), "-A", "trust", "-U", SUPERUSER,
             "-E", "UTF8", "--locale=C", "--no-sync", "--no-instructions"]
        )
        if r.returncode != 0:
            raise RuntimeError(
                f"initdb failed (exit {r.returncode}) in {self.data}:\n{r.stdout}\n{r.stderr}"
            )

    def start(self) -> None:
        last_error = ""
        for _ in range(_START_ATTEMPTS):
            port = _free_port()
            opts = (
                f"-c listen_addresses=127.0.0.1 -p {port} -k {self.sock} "
                "-c fsync=off -c synchronous_commit=off -c full_page_writes=off "
                "-c max_connections=200"
            )
            with contextlib.suppress(FileNotFoundError):
                self.log.unlink()
            try:
                r = self._run(
                    ["pg_ctl", "start", "-w", "-t", "30", "-D", str(self.data),
                     "-l", str(self.log), "-o", opts],
                    timeout=60,
                )
                ok = r.returncode == 0
                out = f"{r.stdout}\n{r.stderr}"
            except subprocess.TimeoutExpired:
                ok, out = False, "pg_ctl start timed out"
            if ok:
                self.port = port
                self.started = True
                return
            tail = _log_tail(self.log)
            last_error = (
                f"pg_ctl start failed on port {port}:\n{out.strip()}\n"
                f"--- tail of {self.log} ---\n{tail}"
            )
            self._stop_quietly()  # in case a postmaster is half-up
            if not _PORT_ERROR_RE.search(tail + out):
                break
        raise RuntimeError(last_error)

    def _stop_quietly(self) -> None:
        if (self.data / "postmaster.pid").exists():
            with contextlib.suppress(Exception):
                self._run(["pg_ctl", "stop", "-D", str(self.data), "-m", "immediate", "-w",
                           "-t", "30"], timeout=45)

    def close(self) -> None:
        """Stop the server (if running) and remove the temp dir. Idempotent."""
        with self._lock:
            try:
                if self.data.exists():
                    self._stop_quietly()
                self.started = False
            finally:
                shutil.rmtree(self.tmp, ignore_errors=True)
                _ACTIVE.discard(self)

    def url(self, dbname: str) -> str:
        return f"postgresql+psycopg://{SUPERUSER}@127.0.0.1:{self.port}/{dbname}"


_ACTIVE: set[_Server] = set()


@atexit.register
def _cleanup_at_exit() -> None:  # fallback when the context manager did not get to run
    for srv in list(_ACTIVE):
        with contextlib.suppress(Exception):
            srv.close()


# --------------------------------------------------------------------------- public API


def _connect_admin(admin_url: str) -> psycopg.Connection:
    u = make_url(admin_url)
    return psycopg.connect(
        host=u.host or "127.0.0.1",
        port=u.port or 5432,
        user=u.username or SUPERUSER,
        password=u.password,
        dbname="postgres",
        autocommit=True,
        connect_timeout=10,
    )


def create_database(admin_url: str, name: str) -> str:
    """Create an empty database `name` on the server of `admin_url`; return its URL."""
    with _connect_admin(admin_url) as conn:
        conn.execute(sql.SQL("CREATE DATABASE {} TEMPLATE template1 ENCODING 'UTF8'").format(sql.Identifier(name)))
    return make_url(admin_url).set(database=name).render_as_string(hide_password=False)


def drop_database(admin_url: str, name: str) -> None:
    """Drop database `name` (if it exists), terminating any open connections to it."""
    with _connect_admin(admin_url) as conn:
        conn.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name)))


@contextlib.contextmanager
def throwaway_postgres(dbname: str = "complaints_test") -> Iterator[str]:
    """Yield an SQLAlchemy URL 'postgresql+psycopg://USER@127.0.0.1:PORT/dbname' of a fresh cluster.

    The server is stopped (``pg_ctl stop -m immediate``) and its directory removed on
    exit, also when the body raises; an atexit hook covers sessions that never unwind.
    """
    srv = _Server()
    _ACTIVE.add(srv)
    try:
        srv.initdb()
        srv.start()
        try:
            url = create_database(srv.url("postgres"), dbname) if dbname != "postgres" else srv.url(dbname)
        except Exception as exc:
            raise RuntimeError(
                f"could not create database {dbname!r}: {exc}\n"
                f"--- tail of {srv.log} ---\n{_log_tail(srv.log)}"
            ) from exc
        yield url
    finally:
        srv.close()
