"""The application served the way `make run` serves it: a process of its own on a free
port, with its instance folder (database, secret key) where the test says."""
from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request

from engine.services import Services
from support.desk import Desk
from support.paths import PROJECT_ROOT
from support.people import demo_actors


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def call(url: str, body: dict | None = None, token: str | None = None) -> tuple[int, dict]:
    """A JSON request to the served API: the status and the decoded answer."""
    status, _headers, answer = exchange(url, body, token)
    return status, answer


def exchange(url: str, body: dict | None = None,
             token: str | None = None) -> tuple[int, dict, dict]:
    """A JSON request to the served API: the status, the headers and the decoded answer."""
    request = urllib.request.Request(url, data=json.dumps(body).encode() if body else None,
                                     headers={"Content-Type": "application/json"})
    if token:
        request.add_header("Authorization", f"Bearer {token}")
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return response.status, dict(response.headers), json.loads(response.read())
    except urllib.error.HTTPError as error:
        return error.code, dict(error.headers), json.loads(error.read())


class Server:
    """`database_url` shares a database with other servers (else the instance folder's
    own); `settings` are environment variables for this server."""

    def __init__(self, instance_dir, database_url: str | None = None,
                 settings: dict | None = None):
        self.instance_dir = instance_dir
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.shared_database_url = database_url
        env = {**os.environ, "PORT": str(self.port), "HOST": "127.0.0.1",
               "COMPLAINTS_INSTANCE": str(instance_dir)}
        env.pop("COMPLAINTS_DATABASE_URL", None)
        if database_url:
            env["COMPLAINTS_DATABASE_URL"] = database_url
        env.update(settings or {})
        self.process = subprocess.Popen([sys.executable, "-m", "web.serve"], cwd=PROJECT_ROOT,
                                        env=env, stdout=subprocess.PIPE,
                                        stderr=subprocess.STDOUT, text=True)
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            try:
                if call(f"{self.url}/healthz")[0] == 200:
                    return
            except OSError:
                time.sleep(0.2)
        self.stop()
        raise AssertionError(f"server did not come up: {self.output}")

    @property
    def database_url(self) -> str:
        if self.shared_database_url:
            return self.shared_database_url
        return f"sqlite:///{self.instance_dir / 'complaints.db'}"

    def stop(self) -> None:
        self.process.terminate()
        self.output = self.process.communicate(timeout=20)[0]


def desk_for(server: Server) -> tuple[Services, Desk]:
    """The same database the server uses, driven through the services from the test; the
    caller disposes of the services when done, so the server is not left sharing it."""
    services = Services.create(server.database_url)
    return services, Desk(services, demo_actors(services))
