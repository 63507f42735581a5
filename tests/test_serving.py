"""The served application as `python -m web.serve` runs it: links in mails name the
address it serves on, and SIGTERM or Ctrl+C stop it only after the request in flight
is answered (the timer worker stops as cleanly)."""
from __future__ import annotations

import os
import signal
import sqlite3
import subprocess
import sys
import threading
import time

import pytest
from sqlalchemy import select

from engine.intake import customer_may_set
from engine.models import OutboxMessage
from engine.services import Services
from support.desk import RECORD
from support.paths import PROJECT_ROOT
from support.server import Server, call

CUSTOMER_RECORD = {k: v for k, v in RECORD.items() if customer_may_set(k)}


def test_the_acknowledgement_links_to_the_port_served_on(server):
    status, filed = call(f"{server.url}/api/v1/complaints", CUSTOMER_RECORD)
    assert status == 201
    services = Services.create(server.database_url)
    try:
        with services.db.read() as db:
            body = db.scalar(select(OutboxMessage.body_text).where(
                OutboxMessage.to_address == RECORD["customer_email"]))
    finally:
        services.db.dispose()
    assert f"{server.url}/status/{filed['status_token']}" in body


def _stop_during_a_request(server: Server, signum: int) -> tuple[int, str]:
    """Hold the database's write lock so a filing waits inside the app, signal the
    server, then let the filing go on: its status and what the server printed."""
    lock = sqlite3.connect(server.instance_dir / "complaints.db", isolation_level=None)
    lock.execute("BEGIN IMMEDIATE")
    answer = {}
    request = threading.Thread(target=lambda: answer.update(
        status=call(f"{server.url}/api/v1/complaints", CUSTOMER_RECORD)[0]))
    request.start()
    time.sleep(1.0)
    server.process.send_signal(signum)
    time.sleep(1.0)
    assert server.process.poll() is None, "stopped with a request unanswered"
    lock.execute("ROLLBACK")
    lock.close()
    request.join(timeout=20)
    output = server.process.communicate(timeout=30)[0]
    assert server.process.returncode == 0, output
    return answer.get("status"), output


def test_sigterm_answers_the_request_in_flight_then_stops(server):
    status, output = _stop_during_a_request(server, signal.SIGTERM)
    assert status == 201
    assert "Complaint handling stopped" in output


def test_ctrl_c_answers_the_request_in_flight_then_stops(server):
    status, output = _stop_during_a_request(server, signal.SIGINT)
    assert status == 201
    assert "Complaint handling stopped" in output


@pytest.mark.parametrize("command", [["-m", "engine.worker"],
                                     ["-m", "flask", "--app", "web", "worker"]])
def test_the_timer_worker_stops_on_sigterm(server, command):
    worker = subprocess.Popen(
        [sys.executable, *command], cwd=PROJECT_ROOT, stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT, text=True,
        env={**os.environ, "COMPLAINTS_DATABASE_URL": server.database_url})
    deadline = time.monotonic() + 30
    line = ""
    while "running" not in line and time.monotonic() < deadline:
        line = worker.stdout.readline()
    name = line.split("timer worker ")[-1].split(" running")[0]
    assert name, line
    worker.send_signal(signal.SIGTERM)
    output = worker.communicate(timeout=30)[0]
    assert worker.returncode == 0 and f"timer worker {name} stopped" in output
