"""Case search latency with 100,000 stored cases (the staff /cases page, rendered).

Prints median and p95 for typical searches: by ticket, phone prefix, part of a name,
type + department + status filters, a date range, and the unfiltered newest page; and
compliance's searches across all cases (missed deadlines, channel + path + version, a
closing month, the API's cursor page), each counting its total. No step of these cases
missed a deadline, so the missed-deadline search is the worst case: it looks at them all.
Run: `.venv/bin/python bench/search_bench.py`.
"""
from __future__ import annotations

import datetime as dt
import os
import random
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from sqlalchemy import select  # noqa: E402

from engine import bootstrap, migrate, runtime, versions  # noqa: E402
from engine.directory import actor_of, find_user  # noqa: E402
from engine.models import InstanceState, ProcessInstance  # noqa: E402
from api_bench import store_rows  # noqa: E402
from engine.services import Services  # noqa: E402
from web import create_app  # noqa: E402

STORED = int(os.environ.get("BENCH_STORED", 100_000))
ROUNDS = 200
SURNAMES = ["Wang", "Li", "Zhang", "Liu", "Chen", "Yang", "Huang", "Zhao", "Wu", "Zhou"]
TYPES = ["product_quality", "logistics", "service_attitude", "after_sales", "other"]
DEPTS = ["quality", "logistics", "sales", None]
CHANNELS = ["web", "hotline", "counter", "email"]


def pct(values, p):
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(p / 100 * (len(ordered) - 1))))]


def main() -> None:
    url = os.environ.get("COMPLAINTS_BENCH_DATABASE_URL") or \
        f"sqlite:///{Path(tempfile.mkdtemp(prefix='complaints-search-')) / 'bench.db'}"
    migrate.upgrade(url)
    services = Services.create(url)
    versions.deploy_shipped(services)
    bootstrap.create_demo_directory(services)
    with services.db.read() as session:
        agent = actor_of(find_user(session, "agent"))
    template = runtime.file_complaint(services, {
        "customer_name": "T", "customer_phone": "1", "product": "P", "description": "d",
        "demand": "x"}, staff=agent).ticket
    with services.db.read() as session:
        state, version_id = session.execute(select(
            InstanceState.state, ProcessInstance.version_id).join(
            InstanceState, InstanceState.instance_id == ProcessInstance.id).where(
            ProcessInstance.ticket == template)).one()
    rng = random.Random(7)
    start = dt.datetime(2025, 11, 1, tzinfo=dt.timezone.utc)
    started = time.perf_counter()
    with services.db.write() as session:
        batch = []
        for n in range(STORED):
            created = start + dt.timedelta(minutes=5 * n + rng.randrange(5))
            status = rng.choice(["open", "closed", "closed", "cancelled"])
            batch.append(dict(
                version_id=version_id, ticket=f"{created:%y%m}{n:06d}", status=status,
                path=rng.choice(["general"] * 9 + ["major"]), revision=1,
                customer_name=f"{rng.choice(SURNAMES)} {rng.choice(SURNAMES)}{n % 97}",
                customer_phone=f"13{rng.randrange(10**9):09d}",
                complaint_type=rng.choice(TYPES), department_code=rng.choice(DEPTS),
                created_at=created, updated_at=created, channel=rng.choice(CHANNELS),
                received_at=created, closed_at=created + dt.timedelta(days=2) if status == "closed" else None,
                status_token_hash=f"{n:064x}"))
            if len(batch) == 5000:
                store_rows(session, batch, state)
                batch = []
        if batch:
            store_rows(session, batch, state)
    print(f"stored {STORED:,} cases in {time.perf_counter() - started:.1f} s")

    app = create_app({"SERVICES": services, "DATABASE_URL": url, "SECRET_KEY": "bench",
                      "WTF_CSRF_ENABLED": False, "LOGIN_ATTEMPTS_PER_MINUTE": 10_000})
    client = app.test_client()
    client.post("/login", data={"username": "agent", "password": "demo"})
    handler = app.test_client()
    handler.post("/login", data={"username": "handler", "password": "demo"})
    auditor = app.test_client()
    auditor.post("/login", data={"username": "auditor", "password": "demo"})
    token = auditor.post("/api/v1/token", json={"username": "auditor", "password": "demo"})
    auditor.environ_base["HTTP_AUTHORIZATION"] = f"Bearer {token.get_json()['token']}"
    cursor = auditor.get("/api/v1/complaints?limit=50").get_json()["next_cursor"]
    searches = {
        "newest page, no filter": (client, "/cases"),
        "by ticket": (client, f"/cases?q={start:%y%m}000123"),
        "by phone prefix": (client, "/cases?q=13812"),
        "part of a customer name": (client, "/cases?q=Zhao%20Wu3"),
        "type + department + status": (client, "/cases?type=logistics&department=quality&status=open"),
        "date range (one week)": (client, "/cases?since=2026-03-01&until=2026-03-07"),
        "page 40 of everything": (client, "/cases?page=40"),
        "department handler's own cases": (handler, "/cases?status=open"),
        # compliance's filters (the auditor sees every case)
        "missed deadlines, open": (auditor, "/cases?breached=yes&status=open"),
        "channel + path + version": (auditor, "/cases?channel=web&path=major&process=complaint&version=1"),
        "closed in one month": (auditor, "/cases?status=closed&closed_since=2026-02-01&closed_until=2026-02-28"),
        "API: 50 by cursor, with total": (auditor, "/api/v1/complaints?limit=50&cursor=" + cursor),
    }
    for label, (who, path) in searches.items():
        assert who.get(path).status_code == 200
        timings = []
        for _ in range(ROUNDS):
            began = time.perf_counter()
            response = who.get(path)
            timings.append((time.perf_counter() - began) * 1000)
        assert response.status_code == 200
        print(f"{label:<34} median {statistics.median(timings):6.1f} ms   "
              f"p95 {pct(timings, 95):6.1f} ms", flush=True)


if __name__ == "__main__":
    main()
