"""Instances serialized by an earlier release still load and run to the end."""
from __future__ import annotations

import json

import pytest

from support.releases import FIXTURES, adopt


@pytest.mark.parametrize("fixture", FIXTURES, ids=[f.stem for f in FIXTURES])
def test_earlier_release_instances_continue(services, desk, fixture):
    release = json.loads(fixture.read_text())
    for n, saved in enumerate(release["instances"]):
        ticket = f"2510{n + 1:06d}"
        adopt(services, release["sources"], ticket, saved["state"])
        assert desk.open_task_names(ticket) == [saved["open_task"]]
        if saved["open_task"] == "supply_missing_facts":
            desk.do(ticket, "supply_missing_facts", supply_decision="supplied",
                    supplied_facts="Order SO-1")
            desk.do(ticket, "check_record")
        desk.run_until(ticket, "follow_up")
        result = desk.do(ticket, "follow_up")
        assert result["status"] == "closed" and result["outcome"] == "resolved"
        assert desk.case(ticket).record["customer_name"] == "Wang Lei"
