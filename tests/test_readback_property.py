"""Whatever the API accepts can be read back: complaints filed by customer service with
generated values either are refused with 422 or show on every page and API call that
shows them."""
from __future__ import annotations

import datetime as dt

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from support.desk import RECORD
from support.pages import Visitor

# Mostly values a form takes, with the awkward ones mixed in: any character (NUL,
# surrogates, line breaks, right-to-left marks), any number, any day of any year.
CHARACTERS = st.one_of(st.characters(codec=None), st.sampled_from("\x00\ud800\u202e\r\n"))
TEXT = st.text(CHARACTERS, min_size=1, max_size=300)
SHORT_TEXT = st.text(CHARACTERS, max_size=40)
ANY_NUMBER = st.one_of(st.floats(), st.integers(min_value=-10 ** 30, max_value=10 ** 30))
AMOUNTS = st.one_of(st.none(), st.floats(min_value=0, max_value=10 ** 9),
                    st.integers(min_value=0, max_value=10 ** 9), ANY_NUMBER)
ZONES = st.sampled_from([dt.timezone.utc, dt.timezone(dt.timedelta(hours=8)),
                         dt.timezone(dt.timedelta(hours=-12))])
PAST = st.datetimes(min_value=dt.datetime(2000, 1, 2), max_value=dt.datetime(2026, 11, 24),
                    timezones=ZONES)
ANY_TIME = st.datetimes(min_value=dt.datetime(1, 1, 2), max_value=dt.datetime(9999, 12, 30),
                        timezones=ZONES)
MOMENTS = st.one_of(PAST, PAST, PAST, ANY_TIME).map(lambda moment: moment.isoformat())
DAYS = st.one_of(st.dates(dt.date(2000, 1, 1), dt.date(2100, 12, 31)), st.dates())
EMAILS = st.one_of(st.emails(), st.emails(), st.emails(), SHORT_TEXT,
                   st.just("wang.lei@example.com\r\nBcc: x@y.z"))

RECORDS = st.fixed_dictionaries({
    "customer_name": TEXT,
    "customer_phone": st.one_of(st.just("13800138000"), st.just("13800138000"), st.none(),
                                SHORT_TEXT),
    "customer_email": st.one_of(st.none(), EMAILS),
    "product": TEXT,
    "description": TEXT,
    "demand": TEXT,
    "order_number": st.one_of(st.none(), SHORT_TEXT),
    "location": st.one_of(st.none(), TEXT),
    "amount": AMOUNTS,
    "received_at": MOMENTS,
    "occurred_at": st.one_of(st.none(), MOMENTS),
    "expected_by": st.one_of(st.none(), DAYS.map(lambda day: day.isoformat())),
})

def _is_json(text: str) -> bool:
    return "Infinity" not in text and "NaN" not in text


@settings(max_examples=50, deadline=None, derandomize=True,
          suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(record=RECORDS)
def test_every_accepted_complaint_reads_back_everywhere(app, client, record):
    token = client.post("/api/v1/token", json={"username": "agent", "password": "demo"})
    headers = {"Authorization": f"Bearer {token.get_json()['token']}"}
    filed = client.post("/api/v1/complaints", json={**RECORD, **record}, headers=headers)
    assert filed.status_code in (201, 422), filed.get_data(as_text=True)[:500]
    if filed.status_code == 422:
        assert filed.get_json()["fields"]
        return
    ticket = filed.get_json()["ticket"]
    case = client.get(f"/api/v1/complaints/{ticket}", headers=headers)
    assert case.status_code == 200 and _is_json(case.get_data(as_text=True))
    [task] = case.get_json()["open_tasks"]
    listed = client.get("/api/v1/tasks", headers=headers)
    assert listed.status_code == 200 and _is_json(listed.get_data(as_text=True))
    assert client.get(f"/api/v1/tasks/{task['id']}", headers=headers).status_code == 200
    agent = Visitor(app, "agent")
    for page in (f"/cases/{ticket}", "/cases", "/", f"/tasks/{task['id']}",
                 f"/cases?q={ticket}"):
        response = agent.get(page)
        assert response.status_code == 200, page
