"""Users and departments imported from CSV by an administrator: a preview of what each row
would do and every row's problem before anything is written, then one transaction;
files that are too large, of another type or encoding, or carry formulas, are refused."""
from __future__ import annotations

import html
import io
import re

import pytest
from sqlalchemy import func, select

from engine import account_import
from engine.models import AuditEvent, Department, OutboxMessage, User
from support.pages import csrf, log_in, post, signed_in

USERS = ("username,display_name,email,roles,department\r\n"
         "meng.qi,Meng Qi,meng.qi@example.com,dept_handler,logistics\r\n"
         "tang.yu,唐雨,tang.yu@example.com,dept_handler;dept_head,quality\r\n"
         "handler2,Chen Jie (logistics),handler2@example.com,dept_handler,logistics\r\n")
BAD_USERS = ("username,display_name,email,roles,department\r\n"
             "meng.qi,Meng Qi,not-a-mail,dept_handler,logistics\r\n"
             "meng.qi,Meng Qi again,meng2@example.com,cook,logistics\r\n"
             "tang.yu,Tang Yu,,dept_handler,warehouse\r\n")
DEPARTMENTS = "code,name,head\r\nafter_sales,After-sales service,handler2\r\nquality,Quality,\r\n"


def upload(client, content: bytes | str, kind: str = "users", name: str = "people.csv",
           content_type: str = "text/csv"):
    data = content.encode("utf-8") if isinstance(content, str) else content
    page = client.get("/admin/import").get_data(as_text=True)
    return client.post("/admin/import/preview", data={
        "csrf_token": csrf(page), "kind": kind,
        "file": (io.BytesIO(data), name, content_type)}, content_type="multipart/form-data")


def confirm(client, preview_page: str, send_links: bool = True):
    text = re.search(r'<textarea name="text" hidden>(.*?)</textarea>', preview_page, re.S)
    assert text, "the preview offers no import"
    kind = re.search(r'name="kind" value="(\w+)">', preview_page).group(1)
    data = {"kind": kind, "text": html.unescape(text.group(1)), "filename": "people.csv",
            "csrf_token": csrf(preview_page)}
    if send_links:
        data["send_links"] = "yes"
    return client.post("/admin/import", data=data)


def counts(services) -> tuple[int, int, int]:
    with services.db.read() as db:
        return (db.execute(select(func.count(User.id))).scalar_one(),
                db.execute(select(func.count(Department.id))).scalar_one(),
                db.execute(select(func.count(AuditEvent.id))).scalar_one())


def test_the_preview_shows_what_the_file_would_do_and_writes_nothing(app, services):
    admin = signed_in(app, "admin")
    before = counts(services)
    response = upload(admin, USERS)
    assert response.status_code == 200
    page = response.get_data(as_text=True)
    assert "2 to create, 1 to change, 0 unchanged, 0 problems." in page
    table = page.split('id="preview"')[1]
    assert "meng.qi" in table and "tang.yu" in table and "Full name" in table  # handler2's change
    assert counts(services)[:2] == before[:2]


def test_applying_creates_and_changes_in_one_go_and_audits_each(app, services):
    admin = signed_in(app, "admin")
    page = upload(admin, USERS).get_data(as_text=True)
    response = confirm(admin, page)
    assert response.status_code == 302 and response.headers["Location"].endswith("/admin/users")
    assert "Imported: 2 created, 1 changed." in admin.get("/admin/users").get_data(as_text=True)
    with services.db.read() as db:
        tang = db.execute(select(User).where(User.username == "tang.yu")).scalar_one()
        assert tang.display_name == "唐雨" and tang.role_names == {"dept_handler", "dept_head"}
        assert tang.department.code == "quality"
        chen = db.execute(select(User).where(User.username == "handler2")).scalar_one()
        assert chen.display_name == "Chen Jie (logistics)"
        events = db.execute(select(AuditEvent.kind, AuditEvent.detail).where(
            AuditEvent.actor == "admin")).all()
        mails = db.execute(select(OutboxMessage.to_address)).scalars().all()
    created = [d["username"] for k, d in events if k == "user_created"]
    assert sorted(created) == ["meng.qi", "tang.yu"]
    assert [d["username"] for k, d in events if k == "user_updated"] == ["handler2"]
    assert "accounts_imported" in [k for k, _d in events]
    # no usable password until they set one through the mailed link
    assert log_in(app.test_client(), "meng.qi", "").status_code != 302
    assert log_in(app.test_client(), "meng.qi", "!imported").status_code != 302
    assert sorted(mails) == ["meng.qi@example.com", "tang.yu@example.com"]


def test_every_problem_is_listed_and_nothing_can_be_imported(app, services):
    admin = signed_in(app, "admin")
    before = counts(services)
    page = upload(admin, BAD_USERS).get_data(as_text=True)
    for problem in ("not-a-mail is not an e-mail address.",
                    "The user name meng.qi is in the file twice.",
                    "Unknown role: cook.", "Unknown department: warehouse."):
        assert problem in page, problem
    assert '<textarea name="text"' not in page  # no import offered
    forced = admin.post("/admin/import", data={"kind": "users", "text": BAD_USERS,
                                               "csrf_token": csrf(page)})
    assert forced.status_code == 422
    assert "nothing was imported" in forced.get_data(as_text=True)
    assert counts(services) == before


def test_departments_are_created_renamed_and_given_heads(app, services):
    admin = signed_in(app, "admin")
    page = upload(admin, DEPARTMENTS, kind="departments").get_data(as_text=True)
    assert "1 to create, 0 to change, 1 unchanged, 0 problems." in page
    assert confirm(admin, page).status_code == 302
    with services.db.read() as db:
        dept = db.execute(select(Department).where(Department.code == "after_sales")
                          ).scalar_one()
        chen = db.execute(select(User).where(User.username == "handler2")).scalar_one()
        assert dept.name == "After-sales service"
        assert chen.department_id == dept.id and "dept_head" in chen.role_names
        kinds = db.execute(select(AuditEvent.kind).where(AuditEvent.actor == "admin")
                           ).scalars().all()
    assert {"department_created", "department_head_set", "accounts_imported"} <= set(kinds)


def test_a_department_row_naming_an_unknown_head_is_a_problem(app):
    admin = signed_in(app, "admin")
    page = upload(admin, "code,name,head\nafter_sales,After-sales,nobody\n",
                  kind="departments").get_data(as_text=True)
    assert "Unknown user: nobody." in page and '<textarea name="text"' not in page


@pytest.mark.parametrize(("content", "name", "content_type", "status", "message"), [
    (b"username,display_name,roles\n" + b"x" * (300 * 1024), "big.csv", "text/csv", 413,
     "larger than 256 KiB"),
    (b"\x89PNG\r\n\x1a\n\x00\x00", "people.png", "image/png", 415, "Upload a CSV file"),
    (b"MZ\x00\x00\x00", "people.csv", "text/csv", 415, "not a text file"),
    ("username,display_name,email,roles,department\nmeng.qi,孟琪,,dept_handler,\n"
     .encode("gbk"), "people.csv", "text/csv", 422, "not UTF-8 text"),
    (b"username,display_name,email,roles,department\n"
     b"meng.qi,=HYPERLINK(\"http://x\"),,dept_handler,\n", "people.csv", "text/csv", 422,
     "column display_name starts with"),
    (b"username,display_name,email,roles,department\nmeng.qi,@SUM(A1),,dept_handler,\n",
     "people.csv", "text/csv", 422, "would run it as a formula"),
    (b"name,mail\nmeng,meng@example.com\n", "people.csv", "text/csv", 422,
     "The first row must name the columns"),
    (b"username,display_name,email,roles,department\n", "people.csv", "text/csv", 422,
     "a header but no rows"),
])
def test_a_bad_file_is_refused_with_a_reason_and_writes_nothing(
        app, services, content, name, content_type, status, message):
    admin = signed_in(app, "admin")
    before = counts(services)
    response = upload(admin, content, name=name, content_type=content_type)
    assert response.status_code == status
    assert message in response.get_data(as_text=True)
    assert counts(services) == before


def test_a_formula_sent_straight_to_the_import_is_refused(app, services):
    admin = signed_in(app, "admin")
    page = admin.get("/admin/import").get_data(as_text=True)
    before = counts(services)
    response = admin.post("/admin/import", data={
        "kind": "users", "csrf_token": csrf(page),
        "text": "username,display_name,email,roles,department\n"
                "meng.qi,+cmd|' /C calc'!A0,,dept_handler,\n"})
    assert response.status_code == 422
    assert counts(services) == before


def test_an_admin_cannot_import_away_their_own_role(app, services):
    admin = signed_in(app, "admin")
    page = upload(admin, "username,display_name,roles\nadmin,Administrator,cs_agent\n"
                  ).get_data(as_text=True)
    assert "You cannot take the administrator role from yourself." in page


def test_the_import_page_documents_the_layout_in_chinese(app):
    admin = signed_in(app, "admin")
    post(admin, "/language", {"lang": "zh"}, "/admin/import")
    page = admin.get("/admin/import").get_data(as_text=True)
    assert "从 CSV 导入" in page and "username,display_name,email,roles,department" in page
    assert "code,name,head" in page


def test_the_engine_refuses_other_people(services, actors):
    from engine.errors import Forbidden
    with pytest.raises(Forbidden):
        account_import.preview(services, actors["handler"], "users", USERS)
    with pytest.raises(Forbidden):
        account_import.apply(services, actors["handler"], "users", USERS)
