"""The ledger's pages: propose (with each problem named on the form), approve or reject
as the general manager's office, filter per person and month, download the monthly
report; and the responsibility step and the monthly review link to the proposal form."""
from __future__ import annotations

from engine import ledger, monthly_work
from support.major_path import file_major, through_report, to_execution
from support.monthly import close_general_case, first_of_next_month, propose


def test_a_proposal_is_made_on_the_form_and_decided_on_the_list(visitor, desk, services):
    ticket = desk.file()
    director = visitor("director")
    form = director.get(f"/ledger/new?ticket={ticket}").get_data(as_text=True)
    assert f'value="{ticket}"' in form and 'value="2026-11"' in form

    refused = director.post("/ledger/new", {"kind": "fine", "ticket": ticket,
                                            "person": "handler", "reason": ""},
                            token_from="/ledger/new")
    page = refused.get_data(as_text=True)
    assert refused.status_code == 422
    assert "Give the amount of the fine." in page and "Say why." in page
    assert 'value="handler" selected' in page  # the input is kept

    done = director.post("/ledger/new", {"kind": "fine", "ticket": ticket, "person": "handler",
                                         "amount": "200", "reason": "Dispatch a day late.",
                                         "period": "2026-11"}, token_from="/ledger/new")
    assert done.status_code == 302
    listing = director.get(done.headers["Location"]).get_data(as_text=True)
    assert "Dispatch a day late." in listing and "-200.00" in listing
    assert "/decision" not in listing  # the director proposes, never decides

    gm = visitor("gm")
    [entry] = [e for e in ledger_entries(services, desk) if e.ticket == ticket]
    page = gm.get("/ledger?status=proposed").get_data(as_text=True)
    assert f'action="/ledger/{entry.id}/decision"' in page
    rejected_without_reason = gm.post(f"/ledger/{entry.id}/decision",
                                      {"decision": "reject", "note": ""},
                                      token_from="/ledger")
    assert rejected_without_reason.status_code == 302
    assert ledger_entries(services, desk)[0].status == "proposed"
    approved = gm.post(f"/ledger/{entry.id}/decision", {"decision": "approve"},
                       token_from="/ledger")
    assert approved.status_code == 302
    per_person = gm.get("/ledger?person=handler&period=2026-11").get_data(as_text=True)
    assert 'id="ledger-tallies"' in per_person and "Zhang Wei (quality handler)" in per_person
    assert "Dispatch a day late." not in gm.get("/ledger?period=2026-10").get_data(as_text=True)


def ledger_entries(services, desk):
    with services.db.read() as session:
        return ledger.entries(session, desk.actors["auditor"])


def test_bad_addresses_and_decisions_are_refused_clearly(visitor, desk, services):
    gm = visitor("gm")
    assert gm.get("/ledger?period=garbage&status=nonsense").status_code == 200
    assert gm.post("/ledger/999/decision", {"decision": "approve"},
                   token_from="/ledger").status_code == 404
    assert gm.post("/ledger/first/decision", {"decision": "approve"},
                   token_from="/ledger").status_code == 404
    assert gm.post("/ledger/1/decision", {"decision": "maybe"},
                   token_from="/ledger").status_code == 400
    assert gm.get("/ledger/reports/2026-11.pdf").status_code == 404
    assert gm.get("/ledger/reports/nonsense.csv").status_code == 404


def test_the_responsibility_step_links_to_a_proposal_for_its_case(visitor, desk):
    ticket = file_major(desk)
    to_execution(desk, ticket)
    through_report(desk, ticket)
    desk.do(ticket, "gm_opinion")
    task = desk.task(ticket, "assign_responsibility")
    page = visitor("gm").get(f"/tasks/{task.id}").get_data(as_text=True)
    assert f"/ledger/new?source=responsibility&amp;ticket={ticket}" in page


def test_the_monthly_review_and_its_reports_on_the_ledger_page(visitor, desk, services,
                                                               actors, clock):
    first = close_general_case(desk)
    propose(services, actors["director"], kind="reward_on_time", ticket=first,
            person="handler", points=3, reason="Every step on time.")
    second = close_general_case(desk)
    clock.now = first_of_next_month(clock.now)
    monthly_work.run_due(services, "worker")
    task = desk.task("MR-2026-11", "review_month")
    gm = visitor("gm")
    page = gm.get(f"/tasks/{task.id}").get_data(as_text=True)
    assert "source=monthly_review" in page and "source_ticket=MR-2026-11" in page
    assert second in page

    listing = gm.get("/ledger?period=2026-11").get_data(as_text=True)
    missing = listing.split('id="missing-decisions"', 1)[1].split("</section>", 1)[0]
    assert second in missing and first not in missing
    assert "/ledger/reports/2026-11.pdf" in listing
    pdf = gm.get("/ledger/reports/2026-11.pdf")
    assert pdf.status_code == 200 and pdf.data.startswith(b"%PDF-")
    assert pdf.headers["Content-Type"] == "application/pdf"
    csv = gm.get("/ledger/reports/2026-11.csv")
    assert csv.status_code == 200 and "complaints_closed" in csv.get_data(as_text=True)
    assert visitor("handler").get("/ledger/reports/2026-11.csv").status_code == 403
