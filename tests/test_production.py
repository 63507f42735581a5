"""A real installation: no demo accounts, one administrator created with a password of
their own, and a server that will not start in production mode with the demo's
passwords or without a secret key of its own."""
from __future__ import annotations

import os
import subprocess
import sys

import pytest

from support.paths import PROJECT_ROOT
from support.server import Server, call

pytestmark = pytest.mark.sqlite_only

SECRET = "0f1e2d3c4b5a69788796a5b4c3d2e1f00f1e2d3c4b5a69788796a5b4c3d2e1f0"
PASSWORD = "Harbour-Lantern-Quiet-19"


def run(instance, *args: str, **settings: str) -> subprocess.CompletedProcess:
    env = {**os.environ, "COMPLAINTS_INSTANCE": str(instance), **settings}
    env.pop("COMPLAINTS_DATABASE_URL", None)
    if "SECRET_KEY" not in settings:
        env.pop("SECRET_KEY", None)
    return subprocess.run([sys.executable, *args], cwd=PROJECT_ROOT, env=env,
                          capture_output=True, text=True, timeout=120)


def serve_in_production(instance, **settings: str) -> subprocess.CompletedProcess:
    return run(instance, "-m", "web.serve", COMPLAINTS_ENV="production", PORT="0", **settings)


def flask(instance, *args: str) -> subprocess.CompletedProcess:
    return run(instance, "-m", "flask", "--app", "web", *args)


def test_production_refuses_to_start_without_a_secret_key_or_an_administrator(tmp_path):
    refused = serve_in_production(tmp_path)
    assert refused.returncode == 2, refused.stdout + refused.stderr
    assert "Refusing to start in production mode" in refused.stderr
    assert "SECRET_KEY is not set" in refused.stderr
    assert "there is no administrator: create one with flask --app web create-admin" \
        in refused.stderr
    assert "running at" not in refused.stdout


def test_production_refuses_the_demo_password(tmp_path):
    assert flask(tmp_path, "migrate").returncode == 0
    assert flask(tmp_path, "demo").returncode == 0
    refused = serve_in_production(tmp_path, SECRET_KEY=SECRET)
    assert refused.returncode == 2
    assert "these accounts still accept the demo password: admin, agent, auditor" \
        in refused.stderr
    assert "SECRET_KEY" not in refused.stderr


def test_a_real_installation_starts_with_one_administrator_and_no_demo_accounts(tmp_path):
    weak = flask(tmp_path, "create-admin", "boss", "--password", "demo")
    assert weak.returncode != 0 and "at least 10 characters" in weak.stderr + weak.stdout
    created = flask(tmp_path, "create-admin", "boss", "--name", "Gao Feng",
                    "--password", PASSWORD)
    assert created.returncode == 0, created.stdout + created.stderr
    assert "administrator boss created" in created.stdout
    again = flask(tmp_path, "create-admin", "boss", "--password", PASSWORD)
    assert again.returncode != 0 and "already exists" in again.stderr

    server = Server(tmp_path, settings={"COMPLAINTS_ENV": "production", "SECRET_KEY": SECRET})
    try:
        assert call(f"{server.url}/api/v1/token",
                    {"username": "boss", "password": PASSWORD})[0] == 200
        assert call(f"{server.url}/api/v1/token",
                    {"username": "agent", "password": "demo"})[0] == 401
    finally:
        server.stop()
    assert "production mode: no demo accounts" in server.output
    assert "password 'demo'" not in server.output
