"""The general path in a real browser with four people: the customer on the public pages,
the customer-service agent, the department handler and the department head. Includes a
form error, an evidence upload and a customer who rejects the first solution. Screenshots
of the key pages in English and in Chinese land in test-artifacts/."""
from __future__ import annotations

import re

import pytest

from support.browser import new_page, shot, sign_in

pytestmark = [pytest.mark.sqlite_only, pytest.mark.browser]

# A small but real PNG (1x1 pixel) and something pretending to be one.
PNG = bytes.fromhex(
    "89504e470d0a1a0a0000000d49484452000000010000000108060000001f15c489"
    "0000000d4944415478da63f8cfc0f01f0005000201a5f6d6a30000000049454e44ae426082")
FAKE_PNG = b"MZ\x90\x00" + b"\x00" * 200  # a Windows program named .png


def fill_form(page, values: dict) -> None:
    """Fill a rendered JSON-Schema form by field name, whatever widget each field uses."""
    for name, value in values.items():
        field = page.locator(f"form.form [name='{name}']").first
        kind = (field.get_attribute("type") or "").lower()
        tag = field.evaluate("element => element.tagName.toLowerCase()")
        if kind in ("radio", "checkbox"):
            for choice in value if isinstance(value, list) else [value]:
                text = str(choice).lower() if isinstance(choice, bool) else str(choice)
                page.check(f"form.form input[name='{name}'][value='{text}']")
        elif tag == "select":
            field.select_option(str(value))
        else:
            field.fill(str(value))


def open_task(page, base_url: str, ticket: str, title: str) -> None:
    page.goto(f"{base_url}/")
    row = page.locator("tr", has_text=ticket).filter(has_text=title)
    row.get_by_role("link", name=re.compile("^(Open|办理)")).first.click()
    page.wait_for_selector("form.form")


def work(page, base_url: str, ticket: str, title: str, values: dict,
         artefact: str | None = None) -> None:
    open_task(page, base_url, ticket, title)
    fill_form(page, values)
    if artefact:
        shot(page, artefact)
    page.click("form.form button[type=submit]")
    page.wait_for_selector(".flash--success")


def file_complaint(customer, base_url: str, tmp_path, artefact: str) -> tuple[str, str]:
    customer.goto(f"{base_url}/complaint")
    customer.fill("#f-customer_name", "Wang Lei")
    customer.fill("#f-customer_email", "wang.lei@example.com")
    customer.fill("#f-customer_phone", "13800138000")
    customer.fill("#f-product", "Air purifier AP-300")
    customer.fill("#f-order_number", "SO-2611-0042")
    customer.fill("#f-demand", "Replace the unit")
    photo = tmp_path / "fan-noise.png"
    photo.write_bytes(PNG)
    customer.set_input_files("input[name=evidence]", str(photo))
    shot(customer, artefact)
    customer.click("form.form button[type=submit]")  # the description is missing
    main = customer.inner_text("main")
    assert "This field is required." in main or "必填" in main
    assert customer.input_value("#f-customer_name") == "Wang Lei"  # the input is kept
    customer.fill("#f-description", "The fan grinds and stops after three days.")
    customer.set_input_files("input[name=evidence]", str(photo))
    customer.click("form.form button[type=submit]")
    ticket = customer.inner_text("#ticket")
    link = customer.get_attribute("#status-link", "href")
    return ticket, link


def test_four_people_take_a_complaint_through_the_general_path(browser, server, tmp_path):
    base = server.url
    customer = new_page(browser)
    # An upload whose content is not what its name says is refused, the rest kept.
    customer.goto(f"{base}/complaint")
    customer.fill("#f-customer_name", "Wang Lei")
    fake = tmp_path / "receipt.png"
    fake.write_bytes(FAKE_PNG)
    customer.fill("#f-product", "Air purifier AP-300")
    customer.fill("#f-demand", "Replace the unit")
    customer.fill("#f-description", "The fan grinds and stops after three days.")
    customer.set_input_files("input[name=evidence]", str(fake))
    customer.click("form.form button[type=submit]")
    assert "receipt.png" in customer.inner_text("main")
    assert customer.input_value("#f-description") == "The fan grinds and stops after three days."

    ticket, status_link = file_complaint(customer, base, tmp_path, "en-intake")
    customer.goto(status_link)
    assert "reviewing it" in customer.inner_text("main")
    assert "fan-noise.png" in customer.inner_text("main")
    shot(customer, "en-status")

    agent = sign_in(browser, server, "agent")
    assert ticket in agent.inner_text("main")
    shot(agent, "en-inbox")
    work(agent, base, ticket, "Check the record is complete", {"record_complete": True})
    work(agent, base, ticket, "Classify the complaint",
         {"complaint_type": "product_quality", "urgency": "normal", "spread_risk": False,
          "legal_threat": False, "routine_solvable": True}, "en-task")
    work(agent, base, ticket, "Dispatch to the responsible", {"department": "quality",
                                           "dispatch_note": "Defective fan, please check."})

    handler = sign_in(browser, server, "handler")
    work(handler, base, ticket, "Confirm receipt and name", {"handler": "handler"})
    work(handler, base, ticket, "Preliminary verification",
         {"verification_result": "true", "verification_notes": "Batch 42 bearing fault."})
    handler.goto(f"{base}/cases/{ticket}")
    evidence = handler.get_by_role("link", name=re.compile("fan-noise.png"))
    with handler.expect_response(lambda r: "/attachments/" in r.url) as shown:
        evidence.first.click()
    assert shown.value.status == 200
    solution = {"measures": "Replace the fan.", "solution_deadline": "2026-11-28",
                "responsible_person": "Zhang Wei"}
    work(handler, base, ticket, "Propose a solution", solution)

    head = sign_in(browser, server, "head")
    work(head, base, ticket, "Approve the solution", {"head_decision": "approve"})
    # Customer service presents it (001: within 12 hours of receipt).
    work(agent, base, ticket, "Present the solution to the customer",
         {"presented_channel": "phone"})

    # The customer rejects the first solution on the status page, with a comment.
    customer.goto(status_link)
    assert "Replace the fan." in customer.inner_text("main")
    customer.check("input[name=customer_response][value=reject]")
    customer.click("form.form button[type=submit]")  # a rejection needs a reason
    assert customer.locator(".field-error, .error-summary").count() > 0
    customer.check("input[name=customer_response][value=reject]")
    customer.fill("textarea[name=customer_comment]", "A new fan is not enough: replace the unit.")
    customer.click("form.form button[type=submit]")
    assert "Thank you, we have your answer." in customer.inner_text("main")

    work(handler, base, ticket, "Propose a solution",
         {**solution, "measures": "Replace the unit and refund shipping."})
    work(head, base, ticket, "Approve the solution", {"head_decision": "approve"})
    work(agent, base, ticket, "Present the solution to the customer",
         {"presented_channel": "phone"})
    customer.goto(status_link)
    customer.check("input[name=customer_response][value=accept]")
    customer.click("form.form button[type=submit]")
    assert "Thank you, we have your answer." in customer.inner_text("main")
    work(handler, base, ticket, "Execute the solution",
         {"execution_notes": "New unit delivered.", "executed_on": "2026-11-26"})

    # The follow-up visit opens once the solution is executed (due 48 h from receipt).
    work(agent, base, ticket, "Follow-up visit",
         {"satisfaction": "satisfied", "follow_up_channel": "phone", "new_problem": False})

    agent.goto(f"{base}/cases/{ticket}")
    page_text = agent.inner_text("main")
    assert "Closed" in page_text or "closed" in page_text
    # The rejection's reason is on record (in the history's collapsed submitted data).
    assert "A new fan is not enough" in agent.content()
    shot(agent, "en-case")
    customer.goto(status_link)
    assert "closed" in customer.inner_text("main").lower()


def test_the_key_pages_in_chinese(browser, server, tmp_path):
    base = server.url
    customer = new_page(browser, "zh-CN")
    ticket, status_link = file_complaint(customer, base, tmp_path, "zh-intake")
    assert "投诉" in customer.inner_text("main")
    customer.goto(status_link)
    shot(customer, "zh-status")
    agent = sign_in(browser, server, "agent", "zh-CN")
    assert ticket in agent.inner_text("main")
    shot(agent, "zh-inbox")
    work(agent, base, ticket, "检查记录是否完整", {"record_complete": True})
    open_task(agent, base, ticket, "投诉分类")
    shot(agent, "zh-task")
    agent.goto(f"{base}/cases/{ticket}")
    shot(agent, "zh-case")
    assert "投诉" in agent.inner_text("main")
