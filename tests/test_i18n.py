"""Two languages and the reader's time zone: pages in Chinese for a Chinese browser, the
switcher and the settings page, the customer's own language and zone on the status page
and in the acknowledgement e-mail."""
from __future__ import annotations

import re

from sqlalchemy import select

from engine import i18n_extract
from engine.directory import find_user
from engine.models import OutboxMessage, ProcessInstance
from support.desk import RECORD
from support.pages import CUSTOMER_FORM

CHINESE = "zh-CN,zh;q=0.9,en;q=0.5"
# The clock starts at 2026-11-25 02:00 UTC: 10:00 in Shanghai, 21:00 the evening before
# in New York.
SHANGHAI_START = "2026-11-25 10:00"
NEW_YORK_START = "2026-11-24 21:00"


def text_of(response) -> str:
    return response.get_data(as_text=True)


def customer_of(services, token: str) -> tuple[str, str]:
    from engine.intake import token_digest
    with services.db.read() as session:
        instance = session.execute(select(ProcessInstance).where(
            ProcessInstance.status_token_hash == token_digest(token))).scalar_one()
        return instance.customer_locale, instance.customer_timezone


def acknowledgement(services) -> OutboxMessage:
    with services.db.read() as session:
        mails = session.execute(select(OutboxMessage).where(
            OutboxMessage.to_address == RECORD["customer_email"])).scalars().all()
    [mail] = mails
    return mail


# --------------------------------------------------------------------------- customers

def test_a_chinese_browser_gets_the_intake_form_in_chinese(visitor):
    page = text_of(visitor(accept_language=CHINESE).get("/complaint"))
    assert '<html lang="zh-CN">' in page
    assert "提交投诉" in page  # heading and button
    assert "产品名称或型号" in page  # a label from the schema
    assert "您的姓名或企业名称" in page and "您希望我们怎么处理？" in page  # in the customer's words
    assert "File a complaint" not in page and "Your name or company" not in page


def test_a_validation_error_is_in_chinese(visitor):
    response = visitor(accept_language=CHINESE).post(
        "/complaint", {**CUSTOMER_FORM, "amount": "lots"}, "/complaint")
    assert response.status_code == 422
    page = text_of(response)
    assert "请输入数字。" in page and "有问题需要处理" in page
    assert "Enter a number." not in page


def test_without_a_language_preference_pages_stay_english(visitor):
    page = text_of(visitor().get("/complaint"))
    assert '<html lang="en">' in page and "File a complaint" in page
    assert "Your name or company" in page


def test_a_customer_who_files_in_chinese_gets_chinese_everywhere(visitor, services):
    customer = visitor(accept_language=CHINESE)
    _, token = customer.file_online(tz="Asia/Shanghai")
    assert customer_of(services, token) == ("zh", "Asia/Shanghai")
    mail = acknowledgement(services)
    assert "已受理" in mail.subject and "尊敬的 Wang Lei" in mail.body_text
    assert SHANGHAI_START in mail.body_text and f"/status/{token}" in mail.body_text
    # The status page speaks Chinese even from a browser that asks for nothing.
    status = text_of(visitor().get(f"/status/{token}"))
    assert "我们已收到您的投诉，正在审核" in status and "投诉已收到" in status
    assert "What has happened" not in status


def test_an_overseas_customer_sees_times_in_their_own_zone(visitor, services):
    customer = visitor(accept_language="en-US,en;q=0.9")
    _, token = customer.file_online(tz="America/New_York")
    assert customer_of(services, token) == ("en", "America/New_York")
    status = text_of(visitor().get(f"/status/{token}"))
    assert "Received <time" in status and NEW_YORK_START in status
    assert "America/New_York" in status and SHANGHAI_START not in status
    mail = acknowledgement(services)
    assert mail.subject.endswith("received") and NEW_YORK_START in mail.body_text


def test_the_switcher_overrides_the_recorded_language_on_the_status_page(visitor):
    _, token = visitor(accept_language=CHINESE).file_online(tz="")
    reader = visitor()
    response = reader.post("/language", {"lang": "en"}, f"/status/{token}",
                           headers={"Referer": f"http://localhost/status/{token}"})
    assert response.status_code == 302 and response.headers["Location"] == f"/status/{token}"
    page = text_of(reader.get(f"/status/{token}"))
    assert "What has happened" in page and "处理经过" not in page


def test_a_garbled_zone_from_the_browser_is_not_kept(visitor, services):
    _, token = visitor(accept_language=CHINESE).file_online(tz="Mars/Olympus_Mons")
    assert customer_of(services, token) == ("zh", None)


# --------------------------------------------------------------------------- staff

def test_login_page_in_chinese(visitor):
    page = text_of(visitor(accept_language=CHINESE).get("/login"))
    assert "登录" in page and "用户名" in page and "密码" in page
    bad = visitor(accept_language=CHINESE).log_in("agent", "wrong")
    assert "用户名不存在或密码错误。" in text_of(bad)


def test_case_page_and_task_form_in_chinese(visitor, desk):
    ticket = desk.file()
    agent = visitor(accept_language=CHINESE).sign_in("agent")
    case = text_of(agent.get(f"/cases/{ticket}"))
    assert "投诉记录" in case and "处理经过" in case and "投诉已登记" in case
    assert "检查记录是否完整" in case  # the open step, named in the diagram
    assert "客服专员" in case  # its queue, by the role's name
    task = desk.task(ticket, "check_record")
    form = text_of(agent.get(f"/tasks/{task.id}"))
    assert "检查记录是否完整" in form and "记录是否完整？" in form  # title and label
    assert "是，记录完整" in form and "完成任务" in form
    refused = agent.post(f"/tasks/{task.id}", {}, f"/tasks/{task.id}")
    assert refused.status_code == 422
    assert "此项为必填项。" in text_of(refused)
    assert desk.open_task_names(ticket) == ["check_record"]


def test_switching_language_sticks_in_a_cookie_and_on_the_user(visitor, services):
    anonymous = visitor()
    response = anonymous.post("/language", {"lang": "zh"}, "/login",
                              headers={"Referer": "http://localhost/login"})
    assert response.status_code == 302
    assert "lang=zh" in response.headers["Set-Cookie"]
    assert "用户名" in text_of(anonymous.get("/login"))

    agent = visitor().sign_in("agent")
    agent.post("/language", {"lang": "zh"}, "/")
    with services.db.read() as session:
        assert find_user(session, "agent").locale == "zh"
    # The setting follows the person to another browser.
    elsewhere = visitor(accept_language="en-GB").sign_in("agent")
    assert "退出登录" in text_of(elsewhere.get("/"))


def test_the_settings_page_saves_language_and_zone(visitor, desk, services):
    ticket = desk.file()
    agent = visitor().sign_in("agent")
    page = text_of(agent.get("/settings"))
    assert "Follow my browser" in page and 'value="America/New_York"' in page
    saved = agent.post("/settings", {"locale": "zh", "timezone": "America/New_York"},
                       "/settings")
    assert saved.status_code == 302
    with services.db.read() as session:
        user = find_user(session, "agent")
        assert (user.locale, user.timezone) == ("zh", "America/New_York")
    settings = text_of(agent.get(saved.headers["Location"]))
    assert "设置已保存。" in settings and 'value="America/New_York" selected' in settings
    inbox = text_of(agent.get("/"))
    assert NEW_YORK_START in inbox and "America/New_York" in inbox
    case = text_of(agent.get(f"/cases/{ticket}"))
    assert f"登记于 {NEW_YORK_START}" in case and SHANGHAI_START not in case

    back = agent.post("/settings", {"locale": "", "timezone": ""}, "/settings")
    assert back.status_code == 302
    with services.db.read() as session:
        user = find_user(session, "agent")
        assert (user.locale, user.timezone) == (None, None)
    assert f"Registered {SHANGHAI_START}" in text_of(agent.get(f"/cases/{ticket}"))


def test_the_settings_page_refuses_unknown_values(visitor, services):
    agent = visitor().sign_in("agent")
    response = agent.post("/settings", {"locale": "tlh", "timezone": "Nowhere/Special"},
                          "/settings")
    assert response.status_code == 422
    page = text_of(response)
    assert "Choose one of the offered languages." in page
    assert "Choose a time zone from the list." in page
    with services.db.read() as session:
        assert find_user(session, "agent").locale is None


def test_a_complaint_registered_by_phone_takes_the_customers_language(visitor, services):
    agent = visitor().sign_in("agent")
    page = text_of(agent.get("/register"))
    assert re.search(r'<option value="zh"[^>]*selected', page)  # Chinese unless chosen
    form = {**CUSTOMER_FORM, "channel": "hotline", "customer_language": "en"}
    response = agent.post("/register", form, "/register")
    assert response.status_code == 302, text_of(response)[:2000]
    mail = acknowledgement(services)
    assert mail.subject.startswith("Complaint ") and "Dear Wang Lei" in mail.body_text


def test_every_string_has_a_chinese_translation():
    assert i18n_extract.missing("zh") == []


# --------------------------------------------------------------------------- the engine's mail

def test_the_report_email_is_in_the_customers_language(desk, services):
    from engine import connectors
    ticket = desk.file()
    with services.db.write() as session:
        case = session.execute(select(ProcessInstance).where(
            ProcessInstance.ticket == ticket)).scalar_one()
        case.customer_locale = "zh"
        with connectors.bound(session, case.id):
            connectors.call("email_report", {
                "to": {"value": RECORD["customer_email"]},
                "subject": {"value": f"Complaint {ticket}: complaint handling report"},
                "html": {"value": "<p>Done</p>"}})
    with services.db.read() as session:
        [mail] = session.execute(select(OutboxMessage).where(
            OutboxMessage.attachment_name == "complaint-report.html")).scalars()
    assert mail.subject == f"投诉 {ticket}：客诉处理报告"
    assert mail.body_text == "附件是关于您投诉的处理报告，请查收。"


def test_a_deadline_reminder_to_one_person_is_in_their_language_and_zone(desk, services,
                                                                           clock):
    import datetime as dt

    from engine import timers
    from engine.directory import set_preferences
    from engine.models import Notification
    with services.db.write() as session:
        set_preferences(session, find_user(session, "handler").id, locale="zh",
                        timezone="America/New_York")
    ticket = desk.file()
    desk.run_until(ticket, "verify")  # the handler named on receipt verifies
    due = desk.task(ticket, "verify").due_at
    clock.now = due - dt.timedelta(minutes=1)
    timers.fire_due(services, "test-worker")
    with services.db.read() as session:
        subjects = session.execute(select(Notification.subject).where(
            Notification.kind == "sla_reminder")).scalars().all()
    local_due = due.astimezone(dt.timezone(dt.timedelta(hours=-5))).strftime("%Y-%m-%d %H:%M")
    assert subjects == [f"提醒：工单 {ticket} 的“初步核查”（截止 {local_due} America/New_York）"]
