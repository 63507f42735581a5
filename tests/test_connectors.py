"""The built-in connectors: CSV-imported orders and shipments, the report e-mail."""
from __future__ import annotations

import json

import pytest
from sqlalchemy import select

from engine import connectors
from engine.models import OutboxMessage

ORDERS = """order_number,customer,product,amount,ordered_on
SO-2611-0042,Wang Lei,Air purifier AP-300,899,2026-11-01
SO-2611-0043,Zhao Li,Fridge F-2,4999,2026-11-03
"""
SHIPMENTS = """order_number,carrier,events
SO-2611-0042,SF Express,"[""2026-11-02 picked up"", ""2026-11-03 delivered""]"
"""


def call(session, name, **params) -> dict:
    with connectors.bound(session, None):
        return json.loads(connectors.call(name, {k: {"value": v, "type": "str"}
                                                 for k, v in params.items()}))


def test_imported_orders_and_shipments_are_found(services):
    with services.db.write() as session:
        assert connectors.import_csv(session, "order", ORDERS, "order_number") == 2
        assert connectors.import_csv(session, "shipment", SHIPMENTS, "order_number") == 1
    with services.db.write() as session:
        found = call(session, "lookup_order", order_number="SO-2611-0042")
        assert found["found"] and found["order"]["product"] == "Air purifier AP-300"
        assert call(session, "lookup_order", order_number="SO-0000")["found"] is False
        assert call(session, "lookup_order", order_number=None)["found"] is False
        tracking = call(session, "track_shipment", order_number="SO-2611-0042")
        assert tracking["carrier"] == "SF Express"
        assert tracking["events"] == ["2026-11-02 picked up", "2026-11-03 delivered"]


def test_reimport_replaces_rows_and_bad_files_are_refused(services):
    with services.db.write() as session:
        connectors.import_csv(session, "order", ORDERS, "order_number")
        connectors.import_csv(session, "order", ORDERS.replace("899", "799"), "order_number")
        assert call(session, "lookup_order", order_number="SO-2611-0042")["order"]["amount"] == "799"
        with pytest.raises(ValueError, match="no column"):
            connectors.import_csv(session, "order", "a,b\n1,2\n", "order_number")


def test_report_email_is_queued_with_the_report_attached(services):
    with services.db.write() as session:
        result = call(session, "email_report", to="wang.lei@example.com",
                      subject="Report on 2611000001", html="<h1>Report</h1><p>Done</p>")
        assert result["queued"] is True
        skipped = call(session, "email_report", to=None, subject="x", html="")
        assert skipped["queued"] is False
    with services.db.read() as session:
        [message] = session.execute(select(OutboxMessage)).scalars()
        assert message.to_address == "wang.lei@example.com" and message.status == "queued"
        assert message.attachment_type == "text/html" and "<h1>Report</h1>" in message.attachment


def test_unknown_connector_names_fail_clearly(services):
    with services.db.write() as session:
        with pytest.raises(ValueError, match="no connector named 'erp_magic'"):
            call(session, "erp_magic")
