"""Databases written by earlier releases migrate forward without losing cases."""
from __future__ import annotations

import json
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text

from engine import migrate, runtime, specs
from engine.models import ProcessInstance, ProcessVersion
from engine.serialization import registry
from engine.services import Services

pytestmark = pytest.mark.sqlite_only


def test_cases_saved_before_the_state_table_existed_keep_running(tmp_path, clock):
    url = f"sqlite:///{tmp_path / 'old.db'}"
    migrate.upgrade(url, "0005")  # the schema of the release that kept state in the case row
    release = json.loads((Path(__file__).parent / "fixtures"
                          / "release_0_1_instances.json").read_text())
    saved = release["instances"][0]
    old = create_engine(url)
    with old.begin() as conn:
        conn.execute(text(
            "INSERT INTO process_version (id, process_id, version, content_hash, sources, "
            "spec_state, deployed_at) VALUES (1, 'complaint', 1, 'x', :sources, '{}', "
            "'2026-11-01 00:00:00.000000')"), {"sources": json.dumps(release["sources"])})
        conn.execute(text(
            "INSERT INTO process_instance (id, version_id, ticket, status, state, revision, "
            "created_at, updated_at) VALUES (7, 1, '2611000007', 'open', :state, 3, "
            "'2026-11-01 00:00:00.000000', '2026-11-01 00:00:00.000000')"),
            {"state": saved["state"]})
    old.dispose()

    migrate.upgrade(url)
    services = Services.create(url)
    services.clock = clock
    try:
        with services.db.write() as session:  # the old version's spec, as it deployed then
            version = session.get(ProcessVersion, 1)
            spec, subprocess_specs = specs.compile_process(
                {k: v.encode() for k, v in release["sources"].items()}, "complaint")
            version.spec_state = json.dumps({
                "spec": registry.convert(spec),
                "subprocess_specs": {k: registry.convert(v) for k, v in subprocess_specs.items()}})
        with services.db.read() as session:
            instance = session.get(ProcessInstance, 7)
            data = runtime.case_data(services, instance)
        assert data["ticket"] == "2611000001" and data["rejection_count"] == 1
    finally:
        services.db.dispose()


def test_existing_audit_chains_keep_their_heads_moving_after_migration_0010(tmp_path):
    """Heads written by the application before 0010 are moved by the database after it."""
    url = f"sqlite:///{tmp_path / 'chains.db'}"
    migrate.upgrade(url, "0009")
    engine = create_engine(url)
    with engine.begin() as conn:
        conn.execute(text("INSERT INTO audit_head (chain, last_hash) VALUES ('case:1', 'h1')"))
    migrate.upgrade(url)

    def append(chain: str, prev: str, digest: str) -> None:
        with engine.begin() as conn:
            conn.execute(text(
                "INSERT INTO audit_event (chain, instance_id, actor, kind, detail, at, "
                "prev_hash, hash) VALUES (:chain, NULL, NULL, 'x', '{}', "
                "'2026-12-01 00:00:00.000000', :prev, :hash)"),
                {"chain": chain, "prev": prev, "hash": digest})

    def heads() -> dict:
        with engine.connect() as conn:
            return dict(conn.execute(text("SELECT chain, last_hash FROM audit_head")).all())

    try:
        append("case:1", "h1", "h2")
        append("case:2", "0" * 64, "k1")  # a new chain gets its head
        append("case:2", "k1", "k2")
        assert heads()["case:1"] == "h2" and heads()["case:2"] == "k2"
    finally:
        engine.dispose()


def test_cases_before_0015_get_their_statistics_columns_from_the_audit_trail(tmp_path):
    """Urgency and satisfaction as the last form gave them, rejections counted, and repeat
    complaints found by phone, e-mail or order number within 90 days, as steps keep them
    from then on."""
    url = f"sqlite:///{tmp_path / 'facts.db'}"
    migrate.upgrade(url, "0013")
    engine = create_engine(url)
    cases = [  # id, day of December 2026 (or of September), phone, e-mail, order, token
        (1, "2026-09-01", "139001", None, None, "t1"),
        (2, "2026-12-01", "139001", None, None, "t2"),   # 91 days after 1: not a repeat
        (3, "2026-12-02", "139002", "a@example.com", None, "t3"),
        (4, "2026-12-03", "139003", "a@example.com", None, "t4"),  # same e-mail as 3
        (5, "2026-12-04", None, None, "SO-1", "t5"),
        (6, "2026-12-04", None, None, "SO-1", None),    # an improvement project: ignored
        (7, "2026-12-05", "139004", None, "SO-1", "t7"),  # same order as 5
        (8, "2026-12-05", "139001", None, None, "t8"),   # 4 days after 2
    ]
    forms = [  # case, submitted data, in this order
        (3, {"urgency": "normal", "complaint_type": "other"}),
        (3, {"customer_response": "reject"}),
        (3, {"urgency": "urgent"}),
        (3, {"customer_plan_response": "reject"}),
        (3, {"satisfaction": "satisfied", "satisfaction_score": 5}),
        (3, {"satisfaction": "not_satisfied"}),          # the last visit: no score
        (4, {"satisfaction": "fairly_satisfied", "satisfaction_score": "4"}),
        (4, {"customer_response": "accept"}),
    ]
    with engine.begin() as conn:
        conn.execute(text(
            "INSERT INTO process_version (id, process_id, version, content_hash, sources, "
            "spec_state, deployed_at) VALUES (1, 'complaint', 1, 'x', '{}', '{}', "
            "'2026-11-01 00:00:00.000000')"))
        for case_id, day, phone, email, order, token in cases:
            conn.execute(text(
                "INSERT INTO process_instance (id, version_id, ticket, status, revision, "
                "customer_phone, customer_email, order_number, status_token_hash, "
                "created_at, updated_at) VALUES (:id, 1, :ticket, 'open', 1, :phone, "
                ":email, :order_number, :token, :at, :at)"),
                {"id": case_id, "ticket": f"T{case_id}", "phone": phone, "email": email,
                 "order_number": order, "token": token, "at": f"{day} 08:00:00.000000"})
        for n, (case_id, data) in enumerate(forms):
            conn.execute(text(
                "INSERT INTO audit_event (chain, instance_id, actor, kind, detail, at, "
                "prev_hash, hash) VALUES (:chain, :case_id, 'agent', 'task_completed', "
                ":detail, '2026-12-06 00:00:00.000000', 'p', :hash)"),
                {"chain": f"case:{case_id}", "case_id": case_id, "hash": f"h{n}",
                 "detail": json.dumps({"task": "t", "task_id": "", "data": data})})
    migrate.upgrade(url)
    try:
        with engine.connect() as conn:
            rows = {row.id: tuple(row)[1:] for row in conn.execute(text(
                "SELECT id, urgency, satisfaction, satisfaction_score, rejections, "
                "repeat_complaint FROM process_instance ORDER BY id"))}
    finally:
        engine.dispose()
    assert rows == {
        1: (None, None, None, 0, 0), 2: (None, None, None, 0, 0),
        3: ("urgent", "not_satisfied", None, 2, 0),
        4: (None, "fairly_satisfied", 4, 0, 1),
        5: (None, None, None, 0, 0), 6: (None, None, None, 0, 0),
        7: (None, None, None, 0, 1), 8: (None, None, None, 0, 1)}
