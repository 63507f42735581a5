"""API answers are the JSON they always were, whatever writes them: Chinese text as text,
dates as Flask writes them, numbers beyond 64 bits intact."""
from __future__ import annotations

import datetime as dt
import json
from dataclasses import dataclass

from flask.json.provider import DefaultJSONProvider

from support.api import token


@dataclass
class Point:
    x: int


def test_answers_match_what_the_standard_library_writes(app):
    value = {"name": "王小明", "at": dt.datetime(2026, 12, 5, 9, 30, tzinfo=dt.timezone.utc),
             "point": Point(3), "big": 2 ** 70, 7: "seven"}
    with app.app_context():
        written = app.json.response(value).get_data()
        reference = DefaultJSONProvider(app)
        reference.sort_keys = False
        expected = reference.response(value).get_data()
    assert json.loads(written) == json.loads(expected)
    assert json.loads(written)["at"] == "Sat, 05 Dec 2026 09:30:00 GMT"
    assert "王小明".encode() in written or "\\u738b" in written.decode()


def test_the_inbox_answer_lists_the_new_case_task(client, desk):
    ticket = desk.file()
    response = client.get("/api/v1/tasks", headers=token(client, "agent"))
    [task] = [t for t in response.get_json()["tasks"] if t["ticket"] == ticket]
    assert response.mimetype == "application/json"
    assert task["title"] and task["breached"] is False
