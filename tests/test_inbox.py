"""The staff inbox: overdue first, counts per queue, filters, and htmx partials that leave
the page working without JavaScript."""
from __future__ import annotations

import datetime as dt
import re
from urllib.parse import urlencode

import pytest

from engine import tasks
from support.pages import HTMX, csrf, signed_in


def page_of(client, path: str = "/", **headers) -> str:
    response = client.get(path, headers=headers)
    assert response.status_code == 200
    return response.get_data(as_text=True)


def section(page: str, heading_id: str) -> str:
    """The HTML of the card whose heading has this id."""
    start = page.index(f'id="{heading_id}"')
    return page[start:page.index("</section>", start)]


def tickets_in_order(html: str) -> list[str]:
    return re.findall(r'class="ticket" href="/cases/(\d+)"', html)


def queue_chip(page: str, label: str) -> str:
    """The text of one entry of the queue summary, tags removed."""
    start = page.index('id="queue-summary"')
    summary = page[start:page.index("</nav>", start)]
    for chip in summary.split('<li class="queue-chip')[1:]:
        text = " ".join(re.sub(r"<[^>]+>", " ", chip.split(">", 1)[1]).split())
        if text.startswith(label):
            return text
    raise AssertionError(f"no queue {label!r} in the summary")


def file_at(desk, clock, when: dt.datetime, until: str | None = None, **record) -> str:
    clock.now = when
    ticket = desk.file(**record)
    if until:
        desk.run_until(ticket, until)
    return ticket


def local(hour: int, minute: int = 0) -> dt.datetime:
    """A time on the test day (a Wednesday), given in Shanghai time."""
    return dt.datetime(2026, 11, 25, hour - 8, minute, tzinfo=dt.timezone.utc)


# --------------------------------------------------------------------------- ordering

def test_overdue_first_then_soonest_due_then_the_oldest_without_a_deadline(
        desk, clock, services, actors, app, client):
    # Dispatching is due an hour after the complaint arrives; checking the record has no
    # deadline. Filed in an order that differs from the expected one.
    no_deadline_old = file_at(desk, clock, local(10, 0))
    due_1110 = file_at(desk, clock, local(10, 10), "dispatch")
    due_1120 = file_at(desk, clock, local(10, 20), "dispatch")
    due_1105 = file_at(desk, clock, local(10, 5), "dispatch")
    no_deadline_new = file_at(desk, clock, local(10, 30))
    clock.now = local(11, 15)  # two are overdue now, by 10 and by 5 minutes

    expected = [due_1105, due_1110, due_1120, no_deadline_old, no_deadline_new]
    with services.db.read() as db:
        views = tasks.worklist(db, actors["agent"])
    assert [v.ticket for v in views] == expected
    assert [v.is_overdue(clock.now) for v in views] == [True, True, False, False, False]

    page = page_of(signed_in(app, "agent"))
    assert tickets_in_order(section(page, "queue-heading")) == expected
    assert page.count("is-overdue") == 2

    token = client.post("/api/v1/token", json={"username": "agent", "password": "demo"})
    api = client.get("/api/v1/tasks",
                     headers={"Authorization": f"Bearer {token.get_json()['token']}"})
    assert [t["ticket"] for t in api.get_json()["tasks"]] == expected


def test_the_most_overdue_comes_first_whatever_its_deadline_length(desk, clock, services, actors):
    # Verifying takes four hours for a normal complaint and two for an urgent one.
    normal = file_at(desk, clock, local(10, 0), "verify")
    urgent = file_at(desk, clock, local(10, 30))
    desk.run_until(urgent, "classify")
    desk.do(urgent, "classify", urgency="urgent")
    desk.run_until(urgent, "verify")
    clock.now = local(14, 30)
    with services.db.read() as db:
        views = tasks.worklist(db, actors["handler"])
    assert [v.ticket for v in views] == [urgent, normal]
    assert views[0].due_at < views[1].due_at < clock.now


# --------------------------------------------------------------------------- queues

@pytest.fixture
def head_inbox(desk, clock):
    """The quality head works two queues: the handlers' and the heads'."""
    confirm_a = file_at(desk, clock, local(10, 0), "confirm_receipt",
                        customer_name="Zhou Xun")
    confirm_b = file_at(desk, clock, local(10, 10), "confirm_receipt")
    approve = file_at(desk, clock, local(11, 0), "approve_solution")
    return {"confirm_a": confirm_a, "confirm_b": confirm_b, "approve": approve}


def test_counts_per_queue_for_someone_in_two_queues(head_inbox, desk, clock, services, actors,
                                                    app):
    clock.now = local(12, 15)  # both receipts were due two hours after they arrived
    with services.db.read() as db:
        summary = tasks.worklist_summary(db, actors["head"], clock.now)
    counts = {item.queue.key: (item.open, item.overdue) for item in summary.queues}
    assert counts == {"dept_handler:quality": (2, 2), "dept_head:quality": (1, 0)}
    assert (summary.open, summary.overdue) == (3, 2)

    page = page_of(signed_in(app, "head"))
    assert queue_chip(page, "All queues") == "All queues 3 open 2 overdue"
    assert queue_chip(page, "Department handler · Quality") == \
        "Department handler · Quality 2 open 2 overdue"
    assert queue_chip(page, "Department head · Quality") == "Department head · Quality 1 open"

    # A click on a queue shows only its tasks.
    assert 'href="/?queue=dept_head:quality"' in page
    only_heads = page_of(signed_in(app, "head"), "/?queue=dept_head:quality")
    assert tickets_in_order(only_heads) == [head_inbox["approve"]]
    assert 'aria-current="true">Department head · Quality' in only_heads


def test_a_queue_without_tasks_is_listed_with_zero(desk, app):
    desk.file()
    page = page_of(signed_in(app, "handler"))
    assert queue_chip(page, "Department handler · Quality") == \
        "Department handler · Quality 0 open"


# --------------------------------------------------------------------------- filters

def test_each_filter_narrows_the_list_and_empty_results_say_why(head_inbox, desk, clock, app):
    head = signed_in(app, "head")
    clock.now = local(11, 30)  # nothing overdue yet

    overdue = page_of(head, "/?overdue=1")
    assert tickets_in_order(overdue) == []
    assert "No overdue tasks." in overdue
    in_queue = page_of(head, "/?queue=dept_handler:quality&overdue=1")
    assert "No overdue tasks in the queue Department handler · Quality." in in_queue

    clock.now = local(12, 15)
    overdue = page_of(head, "/?queue=dept_handler:quality&overdue=1")
    assert tickets_in_order(overdue) == [head_inbox["confirm_a"], head_inbox["confirm_b"]]
    assert 'name="overdue" value="1" checked' in overdue

    title = desk.task(head_inbox["approve"], "approve_solution").title
    by_type = page_of(head, "/?" + urlencode({"task": title}))
    assert tickets_in_order(by_type) == [head_inbox["approve"]]
    assert f'<option value="{title}" selected>' in by_type

    by_name = page_of(head, "/?q=zhou")
    assert tickets_in_order(by_name) == [head_inbox["confirm_a"]]
    by_ticket = page_of(head, "/?q=" + head_inbox["confirm_b"][-4:])
    assert tickets_in_order(by_ticket) == [head_inbox["confirm_b"]]

    nothing = page_of(head, "/?q=nobody&overdue=1")
    assert "No overdue tasks. Filtered by ticket or customer “nobody”." in nothing
    assert "Show all my tasks" in nothing


def test_the_api_takes_the_same_filters(head_inbox, clock, client):
    clock.now = local(12, 15)
    token = client.post("/api/v1/token", json={"username": "head", "password": "demo"})
    headers = {"Authorization": f"Bearer {token.get_json()['token']}"}

    def tickets(query: str) -> list[str]:
        response = client.get("/api/v1/tasks" + query, headers=headers)
        assert response.status_code == 200
        return [t["ticket"] for t in response.get_json()["tasks"]]

    assert tickets("") == [head_inbox["confirm_a"], head_inbox["confirm_b"],
                           head_inbox["approve"]]
    assert tickets("?overdue=true") == [head_inbox["confirm_a"], head_inbox["confirm_b"]]
    assert tickets("?queue=dept_head:quality") == [head_inbox["approve"]]
    assert tickets("?q=Zhou") == [head_inbox["confirm_a"]]


def test_filters_never_show_other_peoples_tasks(head_inbox, app):
    # Asking for a queue one does not work shows nothing, not that queue's tasks.
    page = page_of(signed_in(app, "handler2"), "/?queue=dept_handler:quality")
    assert tickets_in_order(page) == []
    assert "No open tasks in the queue" in page


# --------------------------------------------------------------------------- htmx

def test_htmx_gets_the_part_it_asked_for_and_everyone_else_the_page(head_inbox, app):
    head = signed_in(app, "head")
    full = head.get("/?q=zhou")
    assert full.get_data(as_text=True).lstrip().lower().startswith("<!doctype html>")
    assert "HX-Request" in full.headers["Vary"]

    results = head.get("/?queue=&task=&q=zhou", headers={**HTMX, "HX-Target": "inbox-results"})
    body = results.get_data(as_text=True)
    assert results.status_code == 200
    assert body.startswith('<div id="inbox-results"') and "<html" not in body
    assert tickets_in_order(body) == [head_inbox["confirm_a"]]
    # The queue summary comes along out of band; the address loses the empty parameters.
    assert 'id="queue-summary"' in body and 'hx-swap-oob="true"' in body
    assert results.headers["HX-Push-Url"] == "/?q=zhou"

    content = head.get("/?q=zhou", headers={**HTMX, "HX-Target": "inbox-content"})
    body = content.get_data(as_text=True)
    assert body.startswith('<div id="inbox-content"') and "<html" not in body
    assert 'class="filterbar"' in body and "hx-swap-oob" not in body

    # Going back in history restores the whole page.
    restored = head.get("/?q=zhou", headers={**HTMX, "HX-History-Restore-Request": "true"})
    assert "<html" in restored.get_data(as_text=True)


def test_claim_and_release_through_htmx_swap_the_inbox_content(head_inbox, desk, app):
    handler = signed_in(app, "handler")
    page = page_of(handler, "/?q=zhou")
    task = desk.task(head_inbox["confirm_a"], "confirm_receipt")
    action = f"/tasks/{task.id}/claim?q=zhou"
    assert f'hx-post="{action}"' in page

    claimed = handler.post(action, data={"csrf_token": csrf(page)},
                           headers={**HTMX, "HX-Target": "inbox-content"})
    body = claimed.get_data(as_text=True)
    assert claimed.status_code == 200
    assert body.startswith('<div id="inbox-content"')
    assert "Claimed: Confirm receipt and name a handler" in body  # the flash, in the part
    assert tickets_in_order(section(body, "mine-heading")) == [head_inbox["confirm_a"]]
    assert desk.task(head_inbox["confirm_a"], "confirm_receipt").assignee == "handler"

    released = handler.post(f"/tasks/{task.id}/release?q=zhou",
                            data={"csrf_token": csrf(body)},
                            headers={**HTMX, "HX-Target": "inbox-content"})
    body = released.get_data(as_text=True)
    assert "Released to the team queue" in body
    assert tickets_in_order(section(body, "queue-heading")) == [head_inbox["confirm_a"]]
    assert desk.task(head_inbox["confirm_a"], "confirm_receipt").assignee is None


def test_claim_and_release_without_htmx_come_back_to_the_same_filters(head_inbox, desk, app):
    handler = signed_in(app, "handler")
    page = page_of(handler, "/?queue=dept_handler:quality&q=zhou")
    task = desk.task(head_inbox["confirm_a"], "confirm_receipt")
    action = f"/tasks/{task.id}/claim?queue=dept_handler:quality&q=zhou"
    assert f'action="{action.replace("&", "&amp;")}"' in page

    claimed = handler.post(action, data={"csrf_token": csrf(page)})
    assert claimed.status_code == 302
    assert claimed.headers["Location"] == "/?queue=dept_handler:quality&q=zhou"
    after = page_of(handler, claimed.headers["Location"])
    assert "Claimed: Confirm receipt and name a handler" in after
    assert tickets_in_order(section(after, "mine-heading")) == [head_inbox["confirm_a"]]

    released = handler.post(f"/tasks/{task.id}/release?queue=dept_handler:quality&q=zhou",
                            data={"csrf_token": csrf(after)})
    assert released.status_code == 302
    assert desk.task(head_inbox["confirm_a"], "confirm_receipt").assignee is None

    # When a colleague was faster, a warning says so, on the same list.
    head = signed_in(app, "head")
    head_page = page_of(head)
    head.post(f"/tasks/{task.id}/claim", data={"csrf_token": csrf(head_page)})
    late = handler.post(action, data={"csrf_token": csrf(after)})
    assert late.headers["Location"] == "/?queue=dept_handler:quality&q=zhou"
    assert "Someone else has claimed this task" in page_of(handler, late.headers["Location"])


# --------------------------------------------------------------------------- languages

def test_the_inbox_speaks_chinese(head_inbox, clock, app):
    clock.now = local(12, 15)
    head = signed_in(app, "head")
    head.set_cookie("lang", "zh")
    page = page_of(head, "/?queue=dept_head:quality&overdue=1")
    assert "全部队列" in page and "逾期 2" in page
    assert "队列中没有逾期任务" in page
    # Queue names are made of translated role and department names.
    assert "Department handler" not in page and "Department head" not in page
    assert "质量部" in page


# --------------------------------------------------------------------------- long lists

def test_a_long_queue_shows_its_most_urgent_rows_and_the_rest_on_request(desk, clock, app,
                                                                         monkeypatch):
    import web.inbox
    monkeypatch.setattr(web.inbox, "LIST_LIMIT", 2)  # three rows are "long" for this test
    tickets = [file_at(desk, clock, local(9 + hour)) for hour in range(3)]
    agent = signed_in(app, "agent")
    queue = section(page_of(agent), "queue-heading")
    assert tickets_in_order(queue) == tickets[:2]  # oldest first: no deadlines here
    assert "Showing the 2 most urgent of 3." in queue
    link = re.search(r'href="(/\?[^"]*all=1[^"]*)"', queue).group(1)
    everything = section(page_of(agent, link.replace("&amp;", "&")), "queue-heading")
    assert tickets_in_order(everything) == tickets and "most urgent" not in everything


# --------------------------------------------------------------------------- notices

def test_notices_copied_to_you_are_in_the_readers_language_and_zone(desk, clock, services,
                                                                    app):
    from engine import timers
    ticket = file_at(desk, clock, local(10, 0), "confirm_receipt")  # dispatched to quality
    supervisor = signed_in(app, "supervisor")
    copies = section(page_of(supervisor), "copies-heading")
    assert f"Complaint {ticket} was dispatched to Quality" in copies
    supervisor.set_cookie("lang", "zh")
    assert f"投诉 {ticket} 已派发至质量部" in section(page_of(supervisor), "copies-heading")

    clock.now = local(13, 0)  # the receipt was due two working hours after dispatch
    timers.fire_due(services, "test")
    head = signed_in(app, "head")  # the breach goes to the department's head
    head.set_cookie("tz", "Europe/Berlin")
    copies = section(page_of(head), "copies-heading")
    overdue = re.search(r"Overdue: Confirm receipt and name a handler on " + ticket
                        + r" \(due ([^)]+)\)", copies)
    assert overdue and overdue.group(1) == "2026-11-25 05:00 Europe/Berlin"  # 12:00 Shanghai
    head.set_cookie("lang", "zh")
    assert f"已超时：工单 {ticket} 的“确认接收并指定对接人”" in section(page_of(head), "copies-heading")
    # Another department's handler is told nothing about this case.
    assert ticket not in page_of(signed_in(app, "handler2"))
