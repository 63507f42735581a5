"""Staff pages through the Flask test client, with CSRF protection switched on."""
from __future__ import annotations


def test_login_logout_and_login_required(visitor):
    anonymous = visitor()
    response = anonymous.get("/")
    assert response.status_code == 302 and "/login" in response.headers["Location"]
    bad = anonymous.log_in("agent", "wrong")
    assert bad.status_code == 401
    assert "Unknown user name or wrong password" in bad.get_data(as_text=True)
    good = anonymous.log_in("agent")
    assert good.status_code == 302
    inbox = anonymous.get("/")
    assert inbox.status_code == 200 and "Li Na" in inbox.get_data(as_text=True)
    out = anonymous.post("/logout", {})
    assert out.status_code == 302
    assert anonymous.get("/").status_code == 302


def test_forms_without_csrf_token_are_refused(visitor, desk):
    agent = visitor("agent")
    ticket = desk.file()
    task = desk.task(ticket, "check_record")
    response = agent.client.post(f"/tasks/{task.id}", data={"record_complete": "true"})
    assert response.status_code == 400
    assert desk.open_task_names(ticket) == ["check_record"]


def test_inbox_lists_my_tasks_and_my_teams_queue(visitor, desk):
    ticket = desk.file()
    page = visitor("agent").get("/").get_data(as_text=True)
    assert ticket in page and "Check the record is complete" in page
    handler_page = visitor("handler").get("/").get_data(as_text=True)
    assert ticket not in handler_page


def test_claim_and_release(visitor, desk):
    ticket = desk.file()
    desk.run_until(ticket, "confirm_receipt")
    task = desk.task(ticket, "confirm_receipt")
    handler = visitor("handler")
    response = handler.post(f"/tasks/{task.id}/claim", {})
    assert response.status_code == 302
    assert desk.task(ticket, "confirm_receipt").assignee == "handler"
    # A colleague arriving late is told, not shown an error page.
    head = visitor("head")
    late = head.post(f"/tasks/{task.id}/claim", {})
    assert late.status_code == 302
    assert "claimed" in head.get("/").get_data(as_text=True)
    assert desk.task(ticket, "confirm_receipt").assignee == "handler"
    handler.post(f"/tasks/{task.id}/release", {})
    assert desk.task(ticket, "confirm_receipt").assignee is None


def test_a_form_with_errors_keeps_the_input_and_says_what_is_wrong(visitor, desk):
    ticket = desk.file()
    desk.do(ticket, "check_record")
    desk.do(ticket, "classify")
    task = desk.task(ticket, "dispatch")
    agent = visitor("agent")
    page = agent.get(f"/tasks/{task.id}")
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    assert "Dispatch to the responsible department" in html
    assert "Quality" in html and "Logistics" in html  # department choices from the database
    response = agent.post(f"/tasks/{task.id}",
                          {"dispatch_note": "Please look at <b>this</b> today"},
                          token_from=f"/tasks/{task.id}")
    assert response.status_code == 422
    html = response.get_data(as_text=True)
    assert 'class="field-error"' in html and "This field is required." in html
    assert "Please look at &lt;b&gt;this&lt;/b&gt; today" in html  # kept, and escaped
    assert desk.open_task_names(ticket) == ["dispatch"]


def test_a_form_that_completes_moves_the_case_on(visitor, desk):
    ticket = desk.file()
    task = desk.task(ticket, "check_record")
    agent = visitor("agent")
    response = agent.post(f"/tasks/{task.id}", {"record_complete": "true"},
                          token_from=f"/tasks/{task.id}")
    assert response.status_code == 302
    assert "Done: Check the record is complete" in agent.get("/").get_data(as_text=True)
    assert desk.open_task_names(ticket) == ["classify"]
    case_page = agent.get(f"/cases/{ticket}").get_data(as_text=True)
    assert "Check the record is complete" in case_page and "agent" in case_page


def test_another_department_can_neither_see_nor_complete(visitor, desk):
    ticket = desk.file()
    desk.run_until(ticket, "confirm_receipt")
    task = desk.task(ticket, "confirm_receipt")
    outsider = visitor("handler2")
    assert ticket not in outsider.get("/").get_data(as_text=True)
    case = outsider.get(f"/cases/{ticket}")
    assert case.status_code == 404 and "Wang Lei" not in case.get_data(as_text=True)
    assert outsider.get(f"/tasks/{task.id}").status_code == 403
    response = outsider.post(f"/tasks/{task.id}", {"handler": "handler2"})
    assert response.status_code == 403
    assert outsider.post(f"/tasks/{task.id}/claim", {}).status_code == 403
    assert desk.task(ticket, "confirm_receipt").assignee is None
    assert ticket not in outsider.get("/cases").get_data(as_text=True)
    insider = visitor("handler")
    assert insider.get(f"/cases/{ticket}").status_code == 200
    assert ticket in insider.get("/cases").get_data(as_text=True)


def test_staff_register_a_phone_complaint(visitor, desk):
    agent = visitor("agent")
    form = agent.get("/register")
    assert form.status_code == 200
    missing = agent.post("/register", {"customer_name": "Zhao Li", "channel": "hotline"},
                         token_from="/register")
    assert missing.status_code == 422
    assert 'value="Zhao Li"' in missing.get_data(as_text=True)
    done = agent.post("/register", {
        "customer_name": "Zhao Li", "customer_phone": "13900001111", "product": "Fridge F-2",
        "description": "Door seal torn on delivery.", "demand": "Send a new seal",
        "channel": "counter", "received_at": "2026-11-25 09:30",
    }, token_from="/register")
    assert done.status_code == 302
    ticket = done.headers["Location"].rstrip("/").split("/")[-1]
    case = desk.case(ticket)
    assert case.record["channel"] == "counter"
    assert case.record["received_at"].startswith("2026-11-25T09:30")
    assert visitor("handler").get("/register").status_code == 403


def test_only_a_supervisor_cancels(visitor, desk):
    ticket = desk.file()
    agent = visitor("agent")
    assert agent.post(f"/cases/{ticket}/cancel", {"reason": "dup"}).status_code == 403
    supervisor = visitor("supervisor")
    response = supervisor.post(f"/cases/{ticket}/cancel", {"reason": "Duplicate"},
                               token_from=f"/cases/{ticket}")
    assert response.status_code == 302
    assert desk.case(ticket).status == "cancelled"


PUBLIC = {"/login", "/healthz", "/api/v1/openapi.json", "/api/v1/token", "/api/v1/complaints",
          "/static/<path:filename>", "/complaint", "/complaint/filed", "/status/<token>",
          "/inquiry", "/inquiry/filed", "/password-reset", "/password-reset/<token>",
          "/technical-problem", "/technical-problem/filed",
          "/order-question", "/order-question/filed",
          "/status/<token>/tasks/<task_id>", "/status/<token>/withdraw",
          "/status/<token>/attachments", "/status/<token>/attachments/<attachment_id>"}


def test_every_route_refuses_anonymous_visitors(app, visitor, desk):
    ticket = desk.file()
    task = desk.task(ticket, "check_record")
    anonymous = visitor()
    checked = 0
    for rule in app.url_map.iter_rules():
        if rule.rule in PUBLIC:
            continue
        path = (rule.rule.replace("<ticket>", ticket).replace("<task_id>", task.id))
        for method in sorted(rule.methods - {"HEAD", "OPTIONS"}):
            response = anonymous.client.open(path, method=method)
            if path.startswith("/api/"):
                assert response.status_code == 401, (method, path)
            elif method == "GET":
                assert response.status_code == 302, (method, path)
                assert "/login" in response.headers["Location"]
            else:
                assert response.status_code in (302, 400), (method, path)  # login or CSRF
            checked += 1
    assert checked >= 10
    assert desk.open_task_names(ticket) == ["check_record"]


def test_the_supervisor_sees_the_dispatch_copy_in_the_inbox(visitor, desk):
    ticket = desk.file()
    desk.run_until(ticket, "confirm_receipt")
    page = visitor("supervisor").get("/").get_data(as_text=True)
    assert "<title>Inbox" in page and "<title>Inbox · Copied" not in page
    body = page.split("</head>", 1)[1]
    assert body.count("Copied to you") == 1
    assert body.count(f"Complaint {ticket} was dispatched to Quality") == 1  # the name, not the code
    assert "Copied to you" not in visitor("agent").get("/").get_data(as_text=True)


def test_case_page_shows_deadlines_and_a_paused_clock(visitor, desk):
    ticket = desk.file()
    desk.run_until(ticket, "verify")
    agent = visitor("agent")
    page = agent.get(f"/cases/{ticket}").get_data(as_text=True)
    assert "2026-11-25 14:00" in page  # verification due 4 business hours after receipt
    other = desk.file()
    desk.do(other, "check_record", record_complete=False, missing_facts="Order number")
    page = agent.get(f"/cases/{other}").get_data(as_text=True)
    assert "SLA clock paused" in page
    assert "2026-11-25 14:00" in visitor("handler").get("/").get_data(as_text=True)


def test_case_search_filters_and_pages(visitor, desk):
    first = desk.file(customer_name="Zhang San", customer_phone="13911112222")
    second = desk.file(customer_name="Li Si", complaint_type="logistics")
    agent = visitor("agent")
    by_name = agent.get("/cases?q=Zhang").get_data(as_text=True)
    assert first in by_name and second not in by_name
    assert first in agent.get("/cases?q=1391111").get_data(as_text=True)
    assert second in agent.get(f"/cases?q={second}").get_data(as_text=True)
    by_type = agent.get("/cases?type=logistics").get_data(as_text=True)
    assert second in by_type and first not in by_type
    assert first not in agent.get("/cases?since=2026-11-26").get_data(as_text=True)
    assert first in agent.get("/cases?since=2026-11-25&until=2026-11-25").get_data(as_text=True)
    assert "No complaints match" in agent.get("/cases?q=%25_nobody").get_data(as_text=True)
    assert agent.get("/cases?page=x&since=notadate").status_code == 200


def test_contact_data_is_masked_for_departments_and_every_view_is_audited(visitor, desk, services):
    from sqlalchemy import select
    from engine.models import AuditEvent
    ticket = desk.file()
    desk.run_until(ticket, "verify")
    handler_page = visitor("handler").get(f"/cases/{ticket}").get_data(as_text=True)
    assert "13800138000" not in handler_page and "138****8000" in handler_page
    assert "wang.lei@example.com" not in handler_page and "w***@example.com" in handler_page
    agent_page = visitor("agent").get(f"/cases/{ticket}").get_data(as_text=True)
    assert "13800138000" in agent_page
    with services.db.read() as session:
        viewers = [e.actor for e in session.execute(select(AuditEvent).where(
            AuditEvent.kind == "case_viewed").order_by(AuditEvent.id)).scalars()]
    assert viewers == ["handler", "agent"]
    assert visitor("handler2").get(f"/cases/{ticket}").status_code == 404


def test_only_a_head_reassigns_with_a_reason(visitor, desk):
    ticket = desk.file()
    desk.run_until(ticket, "verify")
    task = desk.task(ticket, "verify")
    assert task.assignee == "handler"
    assert visitor("handler").post(f"/tasks/{task.id}/reassign",
                                   {"assignee": "head", "reason": "x"}).status_code == 403
    head = visitor("head")
    page = head.get(f"/cases/{ticket}").get_data(as_text=True)
    assert "Reassign" in page
    head.post(f"/tasks/{task.id}/reassign", {"assignee": "head", "reason": "", "ticket": ticket},
              token_from=f"/cases/{ticket}")
    assert desk.task(ticket, "verify").assignee == "handler"  # no reason, no change
    head.post(f"/tasks/{task.id}/reassign", {"assignee": "handler2", "reason": "Out sick",
                                             "ticket": ticket}, token_from=f"/cases/{ticket}")
    assert desk.task(ticket, "verify").assignee == "handler"  # not of this department
    head.post(f"/tasks/{task.id}/reassign", {"assignee": "head", "reason": "Handler is ill",
                                             "ticket": ticket}, token_from=f"/cases/{ticket}")
    assert desk.task(ticket, "verify").assignee == "head"
    entry = [h for h in desk.case(ticket).history if h.kind == "task_reassigned"][-1]
    assert entry.actor == "head" and entry.detail["reason"] == "Handler is ill"
    assert entry.detail["previous"] == "handler" and entry.detail["to"] == "head"
