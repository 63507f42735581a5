"""Evidence files: filed with a complaint, added on the status and case pages, downloaded
by the customer and by staff who may see the case, refused when they are not what they
claim to be, stored once per content, and purged three years after the case closed."""
from __future__ import annotations

import datetime as dt
import re

import pytest
from sqlalchemy import func, select

from engine import attachments, runtime, upload_checks
from engine.models import AuditEvent, ProcessInstance
from support.evidence import EXE, HTML, MP4, PDF, png, stored_attachments
from support.pages import CUSTOMER_FORM, file_online, send_form, signed_in


def stored_files(services) -> list:
    root = services.attachment_dir
    return sorted(p for p in root.glob("??/??/*") if p.is_file()) if root.exists() else []


def case_count(services) -> int:
    with services.db.read() as session:
        return session.execute(select(func.count(ProcessInstance.id))).scalar_one()


def links(page: str, prefix: str) -> list[str]:
    return sorted(set(re.findall(rf'href="({re.escape(prefix)}[^"]+)"', page)))


def test_evidence_filed_online_reaches_staff_and_stays_with_the_customer(app, client, services):
    photo = png(4, 3, shade=200)
    ticket, token = file_online(client, ("IMG_0042.png", photo), ("receipt.pdf", PDF),
                                ("fan-noise.mp4", MP4))
    kept = stored_attachments(services, ticket)
    assert [(a.filename, a.content_type, a.source) for a in kept] == [
        ("IMG_0042.png", "image/png", "customer"), ("fan-noise.mp4", "video/mp4", "customer"),
        ("receipt.pdf", "application/pdf", "customer")]

    status = client.get(f"/status/{token}").get_data(as_text=True)
    assert "IMG_0042.png" in status and "receipt.pdf" in status and "added by you" in status
    assert re.search(rf'<img class="attachment__thumb" src="/status/{token}/attachments/', status)
    by_name = {a.filename: a for a in kept}

    image = client.get(f"/status/{token}/attachments/{by_name['IMG_0042.png'].id}")
    assert image.status_code == 200 and image.data == photo
    assert image.headers["Content-Type"] == "image/png"
    assert image.headers["X-Content-Type-Options"] == "nosniff"
    assert image.headers["Content-Security-Policy"] == "sandbox"
    assert image.headers["Content-Disposition"].startswith("inline")
    pdf = client.get(f"/status/{token}/attachments/{by_name['receipt.pdf'].id}")
    assert pdf.data == PDF and pdf.headers["Content-Type"] == "application/pdf"
    assert pdf.headers["Content-Disposition"].startswith("attachment")
    assert "receipt.pdf" in pdf.headers["Content-Disposition"]

    agent = signed_in(app, "agent")
    page = agent.get(f"/cases/{ticket}").get_data(as_text=True)
    assert "IMG_0042.png" in page and "fan-noise.mp4" in page and "Customer" in page
    assert len(links(page, f"/cases/{ticket}/attachments/")) == 3
    video = agent.get(f"/cases/{ticket}/attachments/{by_name['fan-noise.mp4'].id}")
    assert video.status_code == 200 and video.data == MP4
    assert video.headers["Content-Type"] == "video/mp4"
    assert video.headers["Content-Disposition"].startswith("attachment")
    with services.db.read() as session:
        events = list(session.execute(select(AuditEvent).where(
            AuditEvent.instance_id == kept[0].instance_id)).scalars())
    added = [e for e in events if e.kind == "attachment_added"]
    assert sorted(e.detail["name"] for e in added) == ["IMG_0042.png", "fan-noise.mp4",
                                                      "receipt.pdf"]
    assert {e.actor for e in added} == {"customer"}
    assert any(e.kind == "case_viewed" and e.actor == "agent"
               and e.detail.get("attachment") == by_name["fan-noise.mp4"].id for e in events)


@pytest.mark.parametrize("name, content, message", [
    ("photo.jpg", png() + b"\x00" * 3000, "photo.jpg is 3 KB; the limit is 2 KB per file."),
    ("report.exe", EXE, "report.exe: only photos, videos and PDF files can be attached."),
    ("invoice.pdf", png(), "invoice.pdf: the content is not a PDF file."),
    ("holiday.jpg", HTML, "holiday.jpg: the content is not a JPEG file."),
])
def test_a_refused_file_files_nothing_and_keeps_the_form(client, services, name, content,
                                                         message):
    services.attachment_max_bytes = 2048
    response = send_form(client, "/complaint", CUSTOMER_FORM, "/complaint",
                         [("fine.png", png()), (name, content)])
    assert response.status_code == 422
    page = response.get_data(as_text=True)
    assert message in page and "choose the files again" in page
    assert 'value="Wang Lei"' in page and 'value="SO-2611-0042"' in page
    assert "the fan makes a grinding noise" in page
    assert (case_count(services) == 0 and stored_attachments(services) == []
            and stored_files(services) == [])


def test_too_many_files_at_once_are_refused(client, services):
    six = [(f"photo-{n}.png", png(shade=n)) for n in range(6)]
    response = send_form(client, "/complaint", CUSTOMER_FORM, "/complaint", six)
    assert response.status_code == 422
    assert "You chose 6 files; attach at most 5 at a time." in response.get_data(as_text=True)
    assert case_count(services) == 0


def test_the_form_shows_the_limits_and_a_form_error_asks_for_the_files_again(client,
                                                                               services):
    page = client.get("/complaint").get_data(as_text=True)
    assert 'enctype="multipart/form-data"' in page
    assert re.search(r'<input id="evidence" name="evidence" type="file" multiple '
                     r'accept="[^"]*\.jpg[^"]*\.pdf', page)
    assert "Up to 5 files at a time, at most 20 MB each" in page
    response = send_form(client, "/complaint", {**CUSTOMER_FORM, "description": ""},
                         "/complaint", [("photo.png", png())])
    assert response.status_code == 422
    assert "your files were not kept: choose them again" in response.get_data(as_text=True)
    assert stored_files(services) == []


def test_a_body_beyond_every_limit_gets_a_clear_page(app, client):
    app.config["MAX_CONTENT_LENGTH"] = 4096
    response = send_form(client, "/complaint", CUSTOMER_FORM, "/complaint",
                         [("big.png", png() + b"\x00" * 8192)])
    assert response.status_code == 413
    page = response.get_data(as_text=True)
    assert "larger than 4 KB in all" in page and "at most 5 files of up to 20 MB each" in page


def test_staff_register_a_complaint_with_the_customers_evidence(app, services, actors):
    agent = signed_in(app, "agent")
    record = {k: v for k, v in CUSTOMER_FORM.items()}
    refused = send_form(agent, "/register", record, "/register", [("scan.pdf", HTML)])
    assert refused.status_code == 422
    assert "scan.pdf: the content is not a PDF file." in refused.get_data(as_text=True)
    assert 'value="Wang Lei"' in refused.get_data(as_text=True) and case_count(services) == 0
    response = send_form(agent, "/register", record, "/register", [("scan.pdf", PDF)])
    assert response.status_code == 302
    ticket = response.headers["Location"].rsplit("/", 1)[1]
    [kept] = stored_attachments(services, ticket)
    assert (kept.source, kept.visible_to_customer, kept.uploaded_by_id) == (
        "staff", True, actors["agent"].id)
    page = agent.get(f"/cases/{ticket}").get_data(as_text=True)
    assert "scan.pdf" in page and "Li Na (agent)" in page


def test_another_cases_file_or_a_guessed_id_is_not_found(app, client, services):
    ticket_a, token_a = file_online(client, ("a.png", png(shade=1)))
    ticket_b, token_b = file_online(client, ("b-secret.pdf", PDF))
    [b_file] = stored_attachments(services, ticket_b)
    agent = signed_in(app, "agent")
    for response in (client.get(f"/status/{token_a}/attachments/{b_file.id}"),
                     client.get(f"/status/{token_a}/attachments/00000000-0000-4000-8000-0000"),
                     client.get(f"/status/not-a-token/attachments/{b_file.id}"),
                     agent.get(f"/cases/{ticket_a}/attachments/{b_file.id}"),
                     agent.get(f"/cases/{ticket_a}/attachments/../{b_file.id}")):
        assert response.status_code == 404
        body = response.get_data(as_text=True)
        assert ticket_b not in body and "b-secret.pdf" not in body and ticket_a not in body
    assert client.get(f"/status/{token_b}/attachments/{b_file.id}").status_code == 200
    guessed_link = send_form(client, "/status/not-a-token/attachments", {},
                             f"/status/{token_a}", [("c.png", png(shade=3))])
    assert guessed_link.status_code == 404 and len(stored_files(services)) == 2


def test_only_staff_who_see_the_case_download_and_compliance_only_looks(app, desk, services):
    client = app.test_client()
    ticket, _token = file_online(client, ("broken-fan.png", png()))
    desk.run_until(ticket, "confirm_receipt")  # dispatched to the quality department
    [kept] = stored_attachments(services, ticket)
    path = f"/cases/{ticket}/attachments/{kept.id}"

    other_department = signed_in(app, "handler2")
    assert other_department.get(path).status_code == 404
    assert other_department.get(f"/cases/{ticket}").status_code == 404
    download = signed_in(app, "handler").get(path)
    # Evidence is a case record: no browser or proxy keeps a copy.
    assert download.status_code == 200 and download.headers["Cache-Control"] == "no-store"
    assert app.test_client().get(path).status_code == 302  # to the login page

    auditor = signed_in(app, "auditor")
    page = auditor.get(f"/cases/{ticket}").get_data(as_text=True)
    assert "broken-fan.png" in page and "Add evidence" not in page
    assert auditor.get(path).status_code == 200
    refused = send_form(auditor, f"/cases/{ticket}/attachments", {}, f"/cases/{ticket}",
                        [("more.png", png(shade=9))])
    assert refused.status_code == 403 and len(stored_attachments(services, ticket)) == 1


def test_staff_files_stay_internal_unless_shared(app, client, services):
    ticket, token = file_online(client)
    agent = signed_in(app, "agent")
    internal = send_form(agent, f"/cases/{ticket}/attachments", {}, f"/cases/{ticket}",
                         [("internal-memo.pdf", PDF)])
    assert internal.status_code == 302
    shared = send_form(agent, f"/cases/{ticket}/attachments", {"share": "1"},
                       f"/cases/{ticket}", [("repair-quote.pdf", PDF + b"% quote\n")])
    assert shared.status_code == 302
    by_name = {a.filename: a for a in stored_attachments(services, ticket)}
    assert not by_name["internal-memo.pdf"].visible_to_customer
    assert by_name["repair-quote.pdf"].visible_to_customer

    status = client.get(f"/status/{token}").get_data(as_text=True)
    assert "repair-quote.pdf" in status and "added by customer service" in status
    assert "internal-memo.pdf" not in status
    memo = client.get(f"/status/{token}/attachments/{by_name['internal-memo.pdf'].id}")
    assert memo.status_code == 404
    page = agent.get(f"/cases/{ticket}").get_data(as_text=True)
    assert "internal-memo.pdf" in page and "Staff only" in page


def test_the_customer_adds_evidence_on_the_status_page(client, services):
    ticket, token = file_online(client)
    refused = send_form(client, f"/status/{token}/attachments", {}, f"/status/{token}",
                        [("video.mov", EXE)])
    assert refused.status_code == 422
    page = refused.get_data(as_text=True)
    assert "video.mov: the content is not a MOV file." in page
    assert ("Nothing was added: choose the files again." in page
            and stored_attachments(services) == [])
    added = send_form(client, f"/status/{token}/attachments", {}, f"/status/{token}",
                      [("../../Desktop/scratch\u202egnp.png", png())])
    assert added.status_code == 302
    [kept] = stored_attachments(services, ticket)
    assert kept.filename == "scratchgnp.png" and kept.source == "customer"
    assert "Files added: 1." in client.get(f"/status/{token}").get_data(as_text=True)


def test_a_status_link_cannot_fill_the_disk(client, services, monkeypatch):
    from engine import attachments
    monkeypatch.setattr(attachments, "MAX_CUSTOMER_FILES_PER_CASE", 2)
    ticket, token = file_online(client, ("first.png", png(shade=1)))
    two = send_form(client, f"/status/{token}/attachments", {}, f"/status/{token}",
                    [("second.png", png(shade=2)), ("third.png", png(shade=3))])
    assert two.status_code == 422
    assert "A complaint holds at most 2 files from you." in two.get_data(as_text=True)
    assert [r.filename for r in stored_attachments(services, ticket)] == ["first.png"]
    assert len(stored_files(services)) == 1  # refused before anything was written


def test_the_same_content_is_stored_once(client, services):
    photo = png(2, 2, shade=77)
    file_online(client, ("first.png", photo))
    file_online(client, ("again.png", photo), ("other.pdf", PDF))
    assert len(stored_attachments(services)) == 3
    assert len(stored_files(services)) == 2
    assert not list((services.attachment_dir / "incoming").iterdir())


def test_evidence_is_purged_three_years_after_the_case_closed(app, client, services, actors,
                                                              clock):
    shared_photo = png(3, 3, shade=5)
    old_ticket, _ = file_online(client, ("old-only.pdf", PDF), ("shared.png", shared_photo))
    open_ticket, _ = file_online(client, ("still-open.png", shared_photo))
    runtime.cancel(services, actors["supervisor"], old_ticket, "Settled by phone")
    clock.advance(days=365 * 2)
    recent_ticket, _ = file_online(client, ("recent.mp4", MP4))
    runtime.cancel(services, actors["supervisor"], recent_ticket, "Settled by phone")
    runner = app.test_cli_runner()

    clock.advance(days=365 * 1)  # the old case closed not quite three years ago
    assert "purged 0 attachments" in runner.invoke(args=["purge-attachments"]).output
    clock.advance(days=2)
    result = runner.invoke(args=["purge-attachments"])
    assert "purged 2 attachments of 1 cases, deleted 1 files" in result.output

    assert stored_attachments(services, old_ticket) == []
    assert [a.filename for a in stored_attachments(services, open_ticket)] == ["still-open.png"]
    assert [a.filename for a in stored_attachments(services, recent_ticket)] == ["recent.mp4"]
    assert len(stored_files(services)) == 2  # the shared photo stays for the open case
    with services.db.read() as session:
        purged = session.execute(select(AuditEvent).where(
            AuditEvent.kind == "attachments_purged")).scalar_one()
    assert purged.detail == {"count": 2}


def test_file_names_and_sizes_as_shown():
    assert upload_checks.display_name("../../etc/passwd") == "passwd"
    assert upload_checks.display_name("..\\photo\x00\x1b[31m.png") == "photo[31m.png"
    assert upload_checks.display_name("...") == "file"
    long = upload_checks.display_name("a" * 300 + ".jpeg")
    assert len(long) == upload_checks.MAX_NAME_LENGTH and long.endswith(".jpeg")
    assert upload_checks.human_size(25 * upload_checks.MiB) == "25 MB"
    assert upload_checks.human_size(1536) == "1.5 KB"
    assert attachments.retention_cutoff(dt.datetime(2028, 2, 29)) == dt.datetime(2025, 2, 28)
