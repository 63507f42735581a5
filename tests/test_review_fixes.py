"""Fixes found in review: each test shows what a customer, a staff member or an operator
would have run into."""
from __future__ import annotations

from sqlalchemy import update

from engine.models import ProcessInstance
from test_attachments import EXE, file_online, png, send_form
from test_public import csrf


def customer_reads(services, ticket: str, locale: str) -> None:
    with services.db.write() as session:
        session.execute(update(ProcessInstance).where(ProcessInstance.ticket == ticket)
                        .values(customer_locale=locale))


def test_adding_evidence_answers_in_the_language_of_the_status_page(client, services):
    ticket, token = file_online(client)
    customer_reads(services, ticket, "zh")  # registered by phone for a Chinese reader
    refused = send_form(client, f"/status/{token}/attachments", {}, f"/status/{token}",
                        [("video.mov", EXE)])
    assert refused.status_code == 422
    page = refused.get_data(as_text=True)
    assert "video.mov：文件内容不是 MOV 格式。 未添加任何文件，请重新选择文件。" in page
    added = send_form(client, f"/status/{token}/attachments", {}, f"/status/{token}",
                      [("photo.png", png())])
    assert added.status_code == 302
    assert "谢谢！已添加 1 个文件。" in client.get(f"/status/{token}").get_data(as_text=True)


def test_the_language_switcher_never_sends_anyone_to_another_site(client):
    def switch(referrer: str) -> str:
        page = client.get("/complaint").get_data(as_text=True)
        response = client.post("/language", data={"lang": "zh", "csrf_token": csrf(page)},
                               headers={"Referer": referrer})
        assert response.status_code == 302
        return response.headers["Location"]

    assert switch("http://localhost/complaint?x=1") == "/complaint?x=1"
    for trick in ("http://localhost/\t/evil.example", "http://localhost/\\evil.example",
                  "http://localhost//evil.example"):
        assert not switch(trick).replace("\\", "/").lstrip("\t\n").startswith("//"), trick
