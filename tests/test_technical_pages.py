"""The customer's technical-problem pages: reporting a problem on the public site and
following it behind the private link in their own zone and language, agreeing to a later
visit there and reading the cause and solution; the agent sees earlier solutions of
similar problems on the remote-help page of the same inbox."""
from __future__ import annotations

import datetime as dt
import re

from engine import runtime
from support.pages import post

PROBLEM = {"customer_name": "Jane Miller", "customer_email": "jane.miller@example.com",
           "country": "United States", "model": "Air purifier AP-300",
           "description": "The fan stops after ten minutes and the filter light blinks red.",
           "environment": "Warehouse office", "region": "remote", "urgency": "normal"}


def report(customer, **fields) -> tuple[str, str]:
    response = customer.post("/technical-problem", {**PROBLEM, **fields}, "/technical-problem")
    assert response.status_code == 302, response.get_data(as_text=True)[:3000]
    page = customer.get(response.headers["Location"]).get_data(as_text=True)
    ticket = re.search(r'id="ticket">(T\d{10})<', page).group(1)
    link = re.search(r'id="status-link" href="([^"]+)"', page).group(1)
    return ticket, link.split("/status/", 1)[1]


def work(desk, ticket, name, user, **data):
    task = next(t for t in desk.case(ticket).open_tasks if t.name == name)
    return runtime.complete_task(desk.services, desk.actors[user], task.id, data)


def test_a_customer_reports_a_problem_agrees_to_a_later_visit_and_reads_the_solution(
        visitor, desk):
    customer = visitor(accept_language="en-US,en;q=0.9")
    form = customer.get("/technical-problem").get_data(as_text=True)
    assert "Report a technical problem" in form and 'name="model"' in form
    assert 'name="channel"' not in form and 'name="received_at"' not in form
    ticket, token = report(customer, tz="America/New_York")
    assert desk.case(ticket).record["channel"] == "web"
    page = customer.get(f"/status/{token}").get_data(as_text=True)
    assert f"Your technical problem {ticket}" in page
    assert "We have received your technical problem" in page
    assert "Withdraw your complaint" not in page and "What you reported" in page

    # The agent works it from the same inbox; no earlier solution is known yet.
    agent = visitor("support")
    assert ticket in agent.get("/").get_data(as_text=True)
    remote = desk.task(ticket, "remote_help")
    task_page = agent.get(f"/tasks/{remote.id}").get_data(as_text=True)
    assert "Earlier solutions of similar problems" in task_page
    assert "No earlier problem of this model" in task_page
    work(desk, ticket, "remote_help", "support", remote_notes="Reset by video call.",
         remote_result="onsite")
    detail = runtime.task_detail(desk.services, desk.actors["support"],
                                 desk.task(ticket, "schedule_onsite").id)
    later = dt.datetime.fromisoformat(detail.values["onsite_due_at"]) + dt.timedelta(days=1)
    work(desk, ticket, "schedule_onsite", "support", engineer="Tom Becker",
         planned_visit_at=later.isoformat())
    work(desk, ticket, "record_late_reason", "support",
         late_reason="The spare bearing ships from Singapore.")
    page = customer.get(f"/status/{token}").get_data(as_text=True)
    assert "Do you agree to a later visit?" in page
    assert "The spare bearing ships from Singapore." in page
    question = desk.task(ticket, "agree_later_visit")
    response = post(customer.client, f"/status/{token}/tasks/{question.id}",
                    {"later_visit_agreed": "yes"}, f"/status/{token}")
    assert response.status_code == 302
    page = customer.get(f"/status/{token}").get_data(as_text=True)
    assert "Our engineer will be with you by" in page and "(America/New_York)" in page
    work(desk, ticket, "onsite_service", "support", onsite_report="Replaced the bearing.")
    work(desk, ticket, "explain_solution", "support",
         cause="The fan bearing is clogged with dust.",
         solution="Replaced the bearing and fitted the dust pre-filter.")
    page = customer.get(f"/status/{token}").get_data(as_text=True)
    assert "Your technical problem is solved" in page and "Cause and solution" in page
    assert "The fan bearing is clogged with dust." in page

    # The next customer with the same model: the agent sees the solution beside the form.
    second, _token = report(visitor(), description="It makes a loud noise.")
    task_page = agent.get(f"/tasks/{desk.task(second, 'remote_help').id}").get_data(as_text=True)
    assert "Replaced the bearing and fitted the dust pre-filter." in task_page
    assert ticket in task_page


def test_a_chinese_customer_reads_the_form_in_chinese(visitor, desk):
    customer = visitor(accept_language="zh-CN,zh;q=0.9")
    form = customer.get("/technical-problem").get_data(as_text=True)
    assert "报告技术问题" in form and "产品型号" in form
    ticket, token = report(customer, tz="Asia/Shanghai")
    page = visitor().get(f"/status/{token}").get_data(as_text=True)
    assert f"您的技术问题 {ticket}" in page


def test_a_bad_report_keeps_the_input_and_bots_are_refused(visitor, desk):
    customer = visitor()
    response = customer.post("/technical-problem", {**PROBLEM, "model": "",
                                                    "customer_name": "<b>Jane</b>"},
                             "/technical-problem")
    assert response.status_code == 422
    html = response.get_data(as_text=True)
    assert "&lt;b&gt;Jane&lt;/b&gt;" in html and "<b>Jane</b>" not in html
    bot = customer.post("/technical-problem", {**PROBLEM, "fax_number": "123"},
                        "/technical-problem")
    assert bot.status_code == 400
    assert customer.get("/technical-problem/filed").status_code == 302
