"""In real Chromium, in English and in Chinese, on a desktop and on a phone: an approver
reads what they decide on in the main column before deciding (the solution, the CAPA
plan, what changed after a send-back), and the customer follows the stepper of their
complaint, reads what they filed and answers our proposal in their own words."""
from __future__ import annotations


import pytest

from support.browser import new_page, shot, sign_in, watch_for_trouble
from support.major_path import row, work
from support.server import desk_for

pytestmark = [pytest.mark.sqlite_only, pytest.mark.browser]

LOCALES = ("en-GB", "zh-CN")
PHONE = {"width": 375, "height": 812}
DESKTOP = {"width": 1280, "height": 900}
PROPOSAL = {"measures": "Send a new unit\n- Refund the shipping\n- Apologise in writing",
            "solution_amount": 120, "solution_deadline": "2026-11-28",
            "responsible_person": "Zhang Wei"}
WORDS = {
    "en-GB": {"deadline": "28 November 2026", "amount": "CN¥120.00",
              "corrective": "Corrective actions", "preventive": "Preventive actions",
              "plan_deadline": "4 December 2026", "changed": "What changed",
              "stages": ["Received", "Assessed", "Facts checked", "Solution proposed",
                         "Solution carried out", "Follow-up"],
              "accept": "Yes, I accept it", "told": "What you told us",
              "question": "Do you accept this solution?"},
    "zh-CN": {"deadline": "2026年11月28日", "amount": "¥120.00",
              "corrective": "纠正措施", "preventive": "预防措施",
              "plan_deadline": "2026年12月4日", "changed": "与上一轮相比的变化",
              "stages": ["受理", "评估", "核实情况", "提出方案", "执行方案", "回访"],
              "accept": "接受", "told": "您提交的投诉内容",
              "question": "您接受这个解决方案吗？"},
}


def short(locale: str) -> str:
    return locale.split("-")[0]


def both_widths(page, name: str) -> None:
    """Screenshots of the page as it is, on a desktop and on a phone."""
    page.set_viewport_size(DESKTOP)
    shot(page, name)
    page.set_viewport_size(PHONE)
    shot(page, f"{name}-phone")
    page.set_viewport_size(DESKTOP)


@pytest.mark.parametrize("locale", LOCALES)
def test_a_head_reads_the_solution_before_deciding(browser, server, locale):
    services, desk = desk_for(server)
    try:
        ticket = desk.file()
        desk.run_until(ticket, "propose_solution")
        desk.do(ticket, "propose_solution", **PROPOSAL)
        task = desk.task(ticket, "approve_solution")
        head = sign_in(browser, server, "head", locale)
        trouble = watch_for_trouble(head)
        head.goto(f"{server.url}/tasks/{task.id}")
        main = head.locator(".main-column")
        proposal = main.locator(".reviewed")
        words = WORDS[locale]
        assert proposal.locator("li").all_inner_texts() == [
            "Send a new unit", "Refund the shipping", "Apologise in writing"]
        text = proposal.inner_text()
        assert words["deadline"] in text and "Zhang Wei" in text and words["amount"] in text
        # It comes before the decision, in the main column, not only in the side bar.
        box, decision = proposal.bounding_box(), main.locator("[name=head_decision]").first
        assert box["y"] < decision.bounding_box()["y"]
        both_widths(head, f"{short(locale)}-approve-solution")
        head.check("input[name=head_decision][value=send_back]")
        head.fill("textarea[name=head_comment]", "Offer a full refund as well.")
        head.click("form.form button[type=submit]")
        head.wait_for_selector(".flash--success")

        desk.do(ticket, "propose_solution", **{**PROPOSAL, "solution_amount": 899})
        task = desk.task(ticket, "approve_solution")
        head.goto(f"{server.url}/tasks/{task.id}")
        changes = head.locator(".reviewed__changes")
        assert words["changed"] in changes.inner_text()
        assert changes.locator("del").inner_text() == words["amount"]
        assert "899.00" in changes.locator("ins").inner_text()
        both_widths(head, f"{short(locale)}-approve-solution-round-2")
        assert trouble == []
    finally:
        services.db.dispose()


@pytest.mark.parametrize("locale", LOCALES)
def test_the_director_and_the_gm_office_read_the_capa_plan(browser, server, locale):
    services, desk = desk_for(server)
    try:
        ticket = desk.file(amount=12000)
        desk.do(ticket, "check_record")
        desk.do(ticket, "classify", amount=12000)
        for name in ("confirm_major", "call_back_customer"):
            work(desk, ticket, name)
        work(desk, ticket, "name_departments", support_departments=["logistics"])
        work(desk, ticket, "report_support_findings", desk.actors["handler2"], "logistics")
        work(desk, ticket, "lead_investigation", department="quality")
        work(desk, ticket, "consolidate_report")
        work(desk, ticket, "capa_plan")
        words = WORDS[locale]
        for user, step in (("director", "approve_plan_director"), ("gm", "approve_plan_gm")):
            page = sign_in(browser, server, user, locale)
            page.goto(f"{server.url}/tasks/{row(desk, ticket, step).id}")
            plan = page.locator(".main-column .reviewed")
            headings = plan.locator("h3").all_inner_texts()
            assert words["corrective"] in headings and words["preventive"] in headings
            text = plan.inner_text()
            assert "Replace every unit of batch 42." in text and words["plan_deadline"] in text
            assert "Corrective actions:" not in page.inner_text("main")
            both_widths(page, f"{short(locale)}-{step.replace('_', '-')}")
    finally:
        services.db.dispose()


def current_stage(page) -> str:
    current = page.locator(".stepper [aria-current=step]")
    assert current.count() == 1
    return current.inner_text().splitlines()[0].strip()


@pytest.mark.parametrize("locale", LOCALES)
def test_the_customer_follows_the_stepper_and_answers(browser, server, locale):
    services, desk = desk_for(server)
    try:
        words = WORDS[locale]
        customer = new_page(browser, locale)
        trouble = watch_for_trouble(customer)
        customer.goto(f"{server.url}/complaint")
        assert customer.locator("[name=complaint_type]").count() == 0
        assert "5000" not in customer.inner_text("main")
        both_widths(customer, f"{short(locale)}-public-intake")
        customer.fill("#f-customer_name", "Wang Lei")
        customer.fill("#f-customer_email", "wang.lei@example.com")
        customer.fill("#f-product", "Air purifier AP-300")
        customer.fill("#f-description", "The fan grinds and stops after three days.")
        customer.fill("#f-demand", "Replace the unit")
        customer.click("form.form button[type=submit]")
        ticket = customer.inner_text("#ticket")
        link = customer.get_attribute("#status-link", "href")

        customer.goto(link)
        assert current_stage(customer) == words["stages"][0]
        filed = customer.locator(".filed")
        assert words["told"] in filed.inner_text()
        assert "The fan grinds and stops after three days." in filed.inner_text()
        both_widths(customer, f"{short(locale)}-status-received")
        seen = []
        for step in ("check_record", "classify", "dispatch", "confirm_receipt", "verify"):
            desk.do(ticket, step)
            customer.reload()
            seen.append(current_stage(customer))
        assert seen == [words["stages"][i] for i in (1, 1, 1, 2, 3)]
        assert len(customer.locator(".timeline li").all()) >= 6  # the history grows

        desk.do(ticket, "propose_solution", **PROPOSAL)
        desk.do(ticket, "approve_solution")
        desk.do(ticket, "present_solution")  # customer service tells them first
        customer.reload()
        assert words["question"] in customer.inner_text("main")
        proposal = customer.locator(".reviewed")
        assert "Refund the shipping" in proposal.locator("li").all_inner_texts()
        assert words["deadline"] in proposal.inner_text()
        assert "Zhang Wei" not in customer.inner_text("main")
        both_widths(customer, f"{short(locale)}-status-decision")
        customer.get_by_label(words["accept"], exact=True).check()
        customer.click("form.form button[type=submit]")
        customer.wait_for_selector(".flash--success")
        desk.do(ticket, "execute_solution")
        customer.reload()
        # The follow-up visit opens as soon as the solution is carried out.
        assert current_stage(customer) == words["stages"][5]
        states = [s.get_attribute("class").split("--")[-1]
                  for s in customer.locator(".stepper li").all()]
        assert states == ["done"] * 5 + ["current", "todo"]
        both_widths(customer, f"{short(locale)}-status-carried-out")
        assert trouble == []
    finally:
        services.db.dispose()
