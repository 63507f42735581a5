"""Cases as an earlier release left them: its process documents and serialized instances."""
from __future__ import annotations

import json
from pathlib import Path

from engine import runtime, specs
from engine.services import COMPLAINT_PROCESS

FIXTURES = sorted((Path(__file__).parent.parent / "fixtures").glob("release_*_instances.json"))


def load(fixture: Path) -> dict:
    return json.loads(fixture.read_text())


def adopt(services, sources: dict, ticket: str, state: str) -> None:
    """Store a serialized instance as the earlier release left it in its database."""
    with services.db.write() as session:
        version, _ = specs.deploy(session, {k: v.encode() for k, v in sources.items()},
                                  COMPLAINT_PROCESS, "release-fixture")
        runtime.restore_instance(services, session, version.id, ticket, state)
