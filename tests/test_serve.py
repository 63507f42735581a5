"""`make run`'s server: starts on a fresh instance folder, serves, keeps data on restart."""
from __future__ import annotations

import pytest

from engine.intake import customer_may_set
from support.desk import RECORD
from support.server import Server, call

pytestmark = pytest.mark.sqlite_only


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
