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
