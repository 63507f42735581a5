"""Every approval shows the item it decides on, formatted from the reviewed step's own
form, with what changed since the previous round; the customer's confirmations show it in
the customer's words and language; the status page shows progress and what was filed."""
from __future__ import annotations

import json
import re
from pathlib import Path

from lxml import etree

from engine import reviewed_items
from support.desk import RECORD
from support.major_path import approve_plan, file_major, to_plan, work
from support.pages import file_online, post

CHINESE = "zh-CN,zh;q=0.9"
ROOT = Path(__file__).resolve().parent.parent
PROPOSAL = {"measures": "Send a new unit\n- Refund the shipping\n- Apologise in writing",
            "solution_amount": 120, "solution_deadline": "2026-11-28",
            "responsible_person": "Zhang Wei"}


def text_of(response) -> str:
    return response.get_data(as_text=True)


def main_column(page: str) -> str:
    """The task page's main column (without the side bar's earlier steps)."""
    start = page.index('class="main-column"')
    return page[start:page.index('<aside', start)]


def to_approval(desk, **proposal) -> str:
    ticket = desk.file()
    desk.run_until(ticket, "propose_solution")
    desk.do(ticket, "propose_solution", **{**PROPOSAL, **proposal})
    return ticket


def test_the_head_sees_the_proposed_solution_before_deciding(desk, visitor):
    ticket = to_approval(desk)
    task = desk.task(ticket, "approve_solution")
    page = text_of(visitor().sign_in("head").get(f"/tasks/{task.id}"))
    main = main_column(page)
    assert "What you decide on" in main
    assert "<li>Send a new unit</li>" in main and "<li>Refund the shipping</li>" in main
    assert "28 November 2026" in main and "Zhang Wei" in main
    assert "CN¥120.00" in main
    assert "changed since the previous round" not in main
    # The decision is still asked for, below the item.
    assert main.index("Zhang Wei") < main.index('name="head_decision"')


def test_after_a_send_back_the_head_sees_what_changed(desk, visitor):
    ticket = to_approval(desk)
    desk.do(ticket, "approve_solution", head_decision="send_back",
            head_comment="Offer a refund instead.")
    desk.do(ticket, "propose_solution", **{**PROPOSAL, "solution_amount": 899,
                                          "solution_deadline": "2026-11-30"})
    task = desk.task(ticket, "approve_solution")
    main = main_column(text_of(visitor().sign_in("head").get(f"/tasks/{task.id}")))
    assert "What changed since the previous round" in main
    changes = main[main.index("What changed"):main.index("</table>")]
    assert "<del>CN¥120.00</del>" in changes and "<ins>CN¥899.00</ins>" in changes
    assert "<del>28 November 2026</del>" in changes and "<ins>30 November 2026</ins>" in changes
    assert "Zhang Wei" not in changes  # unchanged fields are not listed
    assert "Resubmitted (round 2)" in main


def test_the_solution_reads_in_chinese_for_a_chinese_head(desk, visitor):
    ticket = to_approval(desk)
    task = desk.task(ticket, "approve_solution")
    main = main_column(text_of(visitor(accept_language=CHINESE).sign_in("head")
                               .get(f"/tasks/{task.id}")))
    assert "2026年11月28日" in main and "¥120.00" in main
    assert "What you decide on" not in main and "Measures" not in main


def test_the_director_sees_the_capa_plan_formatted(desk, visitor):
    ticket = file_major(desk)
    to_plan(desk, ticket)
    work(desk, ticket, "capa_plan")
    task = desk.task(ticket, "approve_plan_director")
    main = main_column(text_of(visitor(accept_language=CHINESE).sign_in("director")
                               .get(f"/tasks/{task.id}")))
    assert "<h3>纠正措施</h3>" in main and "Replace every unit of batch 42." in main
    assert "<h3>预防措施</h3>" in main and "2026年12月4日" in main
    # The run-on English summary the form carried is no longer shown.
    assert "Corrective actions:" not in main and "Includes a return of goods" not in main


def test_a_rejected_plan_shows_the_gm_office_what_changed(desk, visitor):
    ticket = file_major(desk)
    to_plan(desk, ticket)
    work(desk, ticket, "capa_plan")
    work(desk, ticket, "approve_plan_director", director_plan_decision="reject",
         director_plan_comment="Add a deadline for the inspection.")
    work(desk, ticket, "approve_plan_gm")
    work(desk, ticket, "capa_plan", capa_preventive="Incoming inspection of every lot by 1 Dec.",
         capa_deadline="2026-12-01")
    task = desk.task(ticket, "approve_plan_gm")
    main = main_column(text_of(visitor().sign_in("gm").get(f"/tasks/{task.id}")))
    changes = main[main.index("What changed"):main.index("</table>")]
    assert "Preventive actions" in changes and "Incoming inspection of every bearing lot." in changes
    assert "<ins>1 December 2026</ins>" in changes
    assert "Corrective actions" not in changes


def test_the_report_approval_shows_the_report(desk, visitor):
    from support.major_path import to_execution
    ticket = file_major(desk)
    to_execution(desk, ticket)
    work(desk, ticket, "execute_capa")
    work(desk, ticket, "inspect_capa")
    work(desk, ticket, "compile_final_report",
         report_text="What happened\n1. The bearing batch was defective.\n2. We replaced it.")
    task = desk.task(ticket, "approve_report_director")
    main = main_column(text_of(visitor().sign_in("director").get(f"/tasks/{task.id}")))
    assert "<li>The bearing batch was defective.</li>" in main
    assert "<li>We replaced it.</li>" in main


def test_every_declared_review_names_a_user_task_of_the_diagrams():
    bpmn = "{http://www.omg.org/spec/BPMN/20100524/MODEL}"
    steps = {task.get("id") for path in (ROOT / "processes").glob("*.bpmn")
             for task in etree.parse(str(path)).iter(f"{bpmn}userTask")}
    declared = {}
    for path in (ROOT / "forms").glob("*.uischema.json"):
        found = reviewed_items.declaration(json.loads(path.read_text("utf-8")))
        if found:
            declared[path.name] = found[0]
    assert declared["approve_solution.uischema.json"] == "propose_solution"
    assert declared["approve_plan_gm.uischema.json"] == "capa_plan"
    assert set(declared.values()) <= steps


# --------------------------------------------------------------------------- customers

def test_the_customer_confirms_the_solution_in_their_own_words(client, desk):
    ticket, token = file_online(client)
    desk.run_until(ticket, "propose_solution")
    desk.do(ticket, "propose_solution", **PROPOSAL)
    desk.do(ticket, "approve_solution")
    desk.do(ticket, "present_solution")  # customer service tells them first
    page = text_of(client.get(f"/status/{token}"))
    assert "Do you accept this solution?" in page and "Your answer" in page
    assert "Yes, I accept it" in page
    assert "Customer decides on the solution" not in page and "Customer&#39;s answer" not in page
    assert "<li>Refund the shipping</li>" in page and "28 November 2026" in page
    assert "Zhang Wei" not in page  # the responsible person is staff's business
    task = desk.task(ticket, "customer_decision")
    response = post(client, f"/status/{token}/tasks/{task.id}",
                    {"customer_response": "accept"}, f"/status/{token}")
    assert response.status_code == 302
    assert desk.open_task_names(ticket) == ["execute_solution"]


def test_the_chinese_customer_reads_the_plan_in_chinese(visitor, desk, services):
    from support.desk import customer_reads
    ticket = file_major(desk)
    customer_reads(services, ticket, "zh")
    to_plan(desk, ticket)
    work(desk, ticket, "capa_plan")
    approve_plan(desk, ticket)
    desk.do(ticket, "present_capa_plan")  # customer service presents it first
    token = _token_of(services, ticket)
    page = text_of(visitor().get(f"/status/{token}"))
    assert "<h3>纠正措施</h3>" in page and "2026年12月4日" in page
    assert "Corrective actions:" not in page and "Includes a return of goods" not in page
    assert "您同意这个整改方案吗？" in page
    # A major complaint follows the stages of its own path.
    assert current_stage(page).startswith("确定整改方案")
    assert [title.split()[0] for title, _ in stages(page)][:3] == ["受理", "评估", "调查"]


def _token_of(services, ticket):
    """A fresh status link for a case filed by staff (its token is only stored hashed)."""
    import secrets
    from sqlalchemy import update
    from engine.intake import token_digest
    from engine.models import ProcessInstance
    token = secrets.token_urlsafe(32)
    with services.db.write() as session:
        session.execute(update(ProcessInstance).where(ProcessInstance.ticket == ticket)
                        .values(status_token_hash=token_digest(token)))
    return token


def stages(page: str) -> list[tuple[str, bool]]:
    return [(re.sub(r"<[^>]+>|\s+", " ", body).strip(), 'aria-current="step"' in attrs)
            for attrs, body in re.findall(r'<li class="stepper__stage([^>]*)>(.*?)</li>', page,
                                          re.S)]


def current_stage(page: str) -> str:
    [current] = [title for title, is_current in stages(page) if is_current]
    return current


def test_the_status_page_shows_progress_and_what_was_filed(client, desk):
    ticket, token = file_online(client)
    page = text_of(client.get(f"/status/{token}"))
    assert current_stage(page).startswith("Received")
    assert "What you told us" in page and RECORD["description"] in page
    assert "What would you like us to do?" in page and RECORD["demand"] in page
    assert RECORD["customer_phone"] not in page
    seen = []
    for step in ("check_record", "classify", "dispatch", "confirm_receipt", "verify"):
        desk.do(ticket, step)
        page = text_of(client.get(f"/status/{token}"))
        seen.append(current_stage(page).split()[0])
    assert seen == ["Assessed", "Assessed", "Assessed", "Facts", "Solution"]
    # The solution is due 8 working hours after receipt, shown in the customer's zone.
    assert "Next deadline: <time" in page and "2026-11-25 18:00</time> (Asia/Shanghai)" in page
    for text in ("We checked that your complaint is complete", "We assessed your complaint",
                 "We checked the facts"):
        assert text in page


def test_the_public_form_speaks_to_the_customer(client):
    page = text_of(client.get("/complaint"))
    assert "What would you like us to do?" in page and "Customer&#39;s demand" not in page
    assert 'name="complaint_type"' not in page
    assert "5000 CNY" not in page and "major" not in page


def test_text_of_several_lines_becomes_a_list_and_values_read_as_people_read_them():
    from web.presenters.reviewed_item import field_block, shown_value
    text = {"type": "string"}
    assert field_block(text, {}, "Measures", "1. Replace the unit\n2) Refund\n\n• Apologise") == {
        "label": "Measures", "lines": ["Replace the unit", "Refund", "Apologise"]}
    assert field_block(text, {}, "Owner", "Zhang Wei") == {"label": "Owner", "text": "Zhang Wei"}
    assert shown_value({"type": "string", "format": "date"}, {}, "2026-12-04") == "4 December 2026"
    assert shown_value({"type": "number"}, {"ui:options": {"currency": "CNY"}}, 5000) == \
        "CN¥5,000.00"
    assert shown_value({"type": "boolean"}, {}, False) == "No"
    assert shown_value({"type": "string"}, {}, None) == "—"
