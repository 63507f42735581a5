"""Fixes found in review: each test shows what a customer, a staff member or an operator
would have run into."""
from __future__ import annotations

from sqlalchemy import update

from engine.models import ProcessInstance
from support.desk import customer_reads
from support.evidence import EXE, PDF, png, stored_attachments
from support.pages import file_online, post, send_form


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
        response = post(client, "/language", {"lang": "zh"}, "/complaint",
                        headers={"Referer": referrer})
        assert response.status_code == 302
        return response.headers["Location"]

    assert switch("http://localhost/complaint?x=1") == "/complaint?x=1"
    for trick in ("http://localhost/\t/evil.example", "http://localhost/\\evil.example",
                  "http://localhost//evil.example"):
        assert not switch(trick).replace("\\", "/").lstrip("\t\n").startswith("//"), trick


def test_a_problem_left_unsolved_is_filed_in_the_customers_language_and_zone(app, desk,
                                                                            services):
    from sqlalchemy import select
    from engine.models import OutboxMessage

    client = app.test_client()
    client.set_cookie("lang", "zh")
    ticket, token = file_online(client)
    with services.db.write() as session:  # the zone the browser reported when filing
        session.execute(update(ProcessInstance).where(ProcessInstance.ticket == ticket)
                        .values(customer_timezone="Europe/Berlin"))
    desk.run_until(ticket, "follow_up")
    task = desk.task(ticket, "follow_up")
    done = post(client, f"/status/{token}/tasks/{task.id}",
                {"satisfaction_score": "2", "problem_solved": "false",
                 "follow_up_comment": "The new unit rattles too."}, f"/status/{token}")
    assert done.status_code == 302
    linked = desk.case(ticket).data["linked_ticket"]
    with services.db.read() as session:
        case = session.execute(select(ProcessInstance).where(
            ProcessInstance.ticket == linked)).scalar_one()
        assert (case.customer_locale, case.customer_timezone) == ("zh", "Europe/Berlin")
        subjects = set(session.execute(select(OutboxMessage.subject).where(
            OutboxMessage.instance_id == case.id)).scalars())
    assert f"投诉 {linked} 已受理" in subjects


def test_only_the_forms_that_carry_evidence_accept_large_bodies(client, services):
    # Anyone may post to the sign-in of the API: a body the size of a submission of
    # evidence is refused before it is read into memory.
    padding = "x" * (3 * 1024 * 1024)
    signing_in = client.post("/api/v1/token", json={"username": "agent", "password": padding})
    assert signing_in.status_code == 413
    # A page form says what its own limit is, not the evidence forms' one.
    login = client.post("/login", data={"username": "agent", "password": padding})
    assert login.status_code == 413
    assert "larger than 2 MB" in login.get_data(as_text=True)
    assert "files" not in login.get_data(as_text=True).split("<main", 1)[1]
    # Evidence of a few megabytes still reaches the case.
    ticket, token = file_online(client)
    added = send_form(client, f"/status/{token}/attachments", {}, f"/status/{token}",
                      [("scan.pdf", PDF + b"\n" * (3 * 1024 * 1024))])
    assert added.status_code == 302
    assert [r.filename for r in stored_attachments(services, ticket)] == ["scan.pdf"]
