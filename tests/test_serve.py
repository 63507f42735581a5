"""`make run`'s server: starts on a fresh instance folder, serves, keeps data on restart."""
from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request

import pytest

from engine.intake import customer_may_set
from support.desk import RECORD
from conftest import PROJECT_ROOT

pytestmark = pytest.mark.sqlite_only


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def call(url: str, body: dict | None = None, token: str | None = None) -> tuple[int, dict]:
    request = urllib.request.Request(url, data=json.dumps(body).encode() if body else None,
                                     headers={"Content-Type": "application/json"})
    if token:
        request.add_header("Authorization", f"Bearer {token}")
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as error:
        return error.code, json.loads(error.read())


class Server:
    def __init__(self, instance_dir):
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        env = {**os.environ, "PORT": str(self.port), "HOST": "127.0.0.1",
               "COMPLAINTS_INSTANCE": str(instance_dir)}
        env.pop("COMPLAINTS_DATABASE_URL", None)
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

    def stop(self) -> None:
        self.process.terminate()
        self.output = self.process.communicate(timeout=20)[0]


def test_serves_prints_logins_and_keeps_data_across_restarts(tmp_path):
    first = Server(tmp_path)
    try:
        status, filed = call(f"{first.url}/api/v1/complaints",
                             {k: v for k, v in RECORD.items() if customer_may_set(k)})
        assert status == 201
        login = call(f"{first.url}/api/v1/token", {"username": "agent", "password": "demo"})
        assert login[0] == 200
    finally:
        first.stop()
    assert f"running at {first.url}" in first.output
    assert "agent" in first.output and "password 'demo'" in first.output
    assert (tmp_path / "complaints.db").exists() and (tmp_path / "secret_key").exists()

    second = Server(tmp_path)
    try:
        token = call(f"{second.url}/api/v1/token",
                     {"username": "agent", "password": "demo"})[1]["token"]
        status, case = call(f"{second.url}/api/v1/complaints/{filed['ticket']}", token=token)
        assert status == 200 and case["record"]["customer_name"] == RECORD["customer_name"]
    finally:
        second.stop()
    assert "version 1" in second.output and "newly deployed" not in second.output


def test_healthz_reports_an_unreachable_database(tmp_path):
    from web import create_app
    app = create_app({"DATABASE_URL": f"sqlite:///{tmp_path}/missing/dir/x.db",
                      "SECRET_KEY": "x"})
    response = app.test_client().get("/healthz")
    assert response.status_code == 503
    assert response.get_json()["database"] == "unreachable"
