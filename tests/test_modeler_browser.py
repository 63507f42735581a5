"""In real Chromium: the process owner edits the procedure in the browser. The diagram
renders, the properties panel writes what the engine reads, a new user task is drawn and
lint marks it on the diagram, the server's checks are shown next to the element at fault,
the XML reads back with the changes, and a task form previews as staff will see it."""
from __future__ import annotations

import json
import re

import pytest
from lxml import etree
from playwright.sync_api import expect

from sqlalchemy import select as select_rows

from engine.models import HumanTask, ProcessInstance
from support.browser import shot, sign_in, watch_for_trouble
from support.library import deploy_edited, version_of
from support.server import desk_for

pytestmark = [pytest.mark.sqlite_only, pytest.mark.browser]

BPMN = "{http://www.omg.org/spec/BPMN/20100524/MODEL}"
SPIFF = "{http://spiffworkflow.org/bpmn/schema/1.0/core}"
DIAGRAM = ".modeler-panel:not([hidden])"


def element(page, element_id: str) -> str:
    return f'{DIAGRAM} .djs-element[data-element-id="{element_id}"]'


def open_modeler(page, server):
    problems = watch_for_trouble(page)
    page.goto(f"{server.url}/processes/complaint/edit")
    page.wait_for_selector(element(page, "check_record"))
    return problems


def open_group(page, group: str) -> None:
    header = f'{DIAGRAM} [data-group-id="group-{group}"] .bio-properties-panel-group-header'
    if "open" not in (page.get_attribute(header, "class") or ""):
        page.click(header)


def read_back(page, file: str = "complaint.bpmn") -> etree._Element:
    xml = page.evaluate(f"modelerPage.xml({file!r})")
    return etree.fromstring(xml.encode("utf-8"))


def properties_of(root, element_id: str) -> dict[str, str]:
    found = root.find(f".//*[@id='{element_id}']")
    return {p.get("name"): p.get("value") for p in found.iter(f"{SPIFF}property")}


def test_the_owner_edits_a_diagram_and_sees_lint_and_checks_on_it(browser, server):
    page = sign_in(browser, server, "owner")
    trouble = open_modeler(page, server)

    # The shipped diagram lints clean with the adapted rules.
    page.click("[data-action=lint]")
    expect(page.locator("#modeler-status")).to_have_text("This diagram lints clean.")

    # A property the engine reads, changed in the panel, is in the XML.
    page.click(element(page, "check_record"))
    open_group(page, "engine-assignment")
    page.fill(f"{DIAGRAM} #bio-properties-panel-spiff-assignee", "checker")
    page.press(f"{DIAGRAM} #bio-properties-panel-spiff-assignee", "Tab")
    # The panel writes when typing pauses: give it a moment (polling, not a fixed wait).
    for _ in range(50):
        if properties_of(read_back(page), "check_record").get("assignee") == "checker":
            break
        page.wait_for_timeout(100)
    assert properties_of(read_back(page), "check_record")["assignee"] == "checker"
    # ...and a role chosen by its human name names the lane by its code.
    lane = page.locator(element(page, "Lane_cs_supervisor")).bounding_box()
    page.mouse.click(lane["x"] + 300, lane["y"] + 40)  # an empty spot of the lane
    open_group(page, "engine-lane")
    lane_select = f"{DIAGRAM} #bio-properties-panel-lane-role"
    chosen = page.eval_on_selector(lane_select, "s => s.options[s.selectedIndex].text")
    assert chosen == "Customer-service supervisor"
    page.select_option(lane_select, label="Customer-service director")
    assert read_back(page).find(".//*[@id='Lane_cs_supervisor']").get("name") == "cs_director"

    # A new user task: drawn from the palette, turned into a user task.
    page.click(f"{DIAGRAM} .djs-palette [data-action='create.task']")
    canvas = page.locator(f"{DIAGRAM} .modeler-canvas").bounding_box()
    page.mouse.move(canvas["x"] + 400, canvas["y"] + 60)
    page.mouse.click(canvas["x"] + 420, canvas["y"] + 60)
    page.click(f"{DIAGRAM} .djs-context-pad [data-action='replace']")
    page.click(".djs-popup [data-id='replace-with-user-task']")
    root = read_back(page)
    new_tasks = [t.get("id") for t in root.iter(f"{BPMN}userTask")
                 if not t.get("name")]
    assert len(new_tasks) == 1, "the new user task is in the XML"
    new_task = new_tasks[0]

    # Lint marks it on the diagram and lists it.
    page.click("[data-action=lint]")
    page.wait_for_selector(f'{DIAGRAM} .djs-overlays[data-container-id="{new_task}"] .bjsl-overlay')
    assert new_task in page.inner_text("#modeler-problems")
    assert "label-required" in page.inner_text("#modeler-problems")

    # The server's checks come back as problems next to the element at fault.
    # (selected as a click on it would: on the zoomed-out canvas the flow's hit area is a
    # few pixels wide and the new task's context pad is open beside it)
    select(page, "complaint.bpmn", "flow_record_complete")
    open_group(page, "engine-condition")
    condition = f"{DIAGRAM} #bio-properties-panel-condition-expression"
    page.fill(condition, "record_complete ==")
    page.press(condition, "Tab")
    page.click("[data-action=validate]")
    # The engine names the flow or the gateway it leaves.
    note = page.wait_for_selector(", ".join(
        f'{DIAGRAM} .djs-overlays[data-container-id="{at_fault}"] .wb-problem'
        for at_fault in ("flow_record_complete", "gw_record_complete")))
    assert "record_complete ==" in note.inner_text()
    assert "complaint.bpmn" in page.inner_text("#modeler-problems")
    # One note per element at fault, however many problems it has.
    noted = page.eval_on_selector_all(f"{DIAGRAM} .djs-overlays .wb-problem",
                                      "notes => notes.map(n => n.parentElement.parentElement"
                                      ".dataset.containerId)")
    assert len(noted) == len(set(noted))
    shot(page, "modeler-problems-en")

    assert not trouble, trouble


def write_in_table(page, file: str, cell_id: str, text: str) -> None:
    """Type over a cell of a decision table, as the owner does, and leave the cell."""
    page.click(f".modeler-tab[data-file='{file}']")
    page.click(f'{DIAGRAM} td[data-element-id="{cell_id}"] [contenteditable]')
    page.keyboard.press("Control+A")
    page.keyboard.type(text)
    page.click(f"{DIAGRAM} .tjs-table thead")


def show(page, file: str, element_id: str) -> dict:
    """Scroll the diagram to the element (as the owner drags the canvas) and return the
    screen box of its shape with the canvas scale: diagram units times `scale` are pixels."""
    page.evaluate("""([file, id]) => modelerPage.tool(file).then(tool => {
        const modeler = tool.modeler;
        modeler.get('canvas').scrollToElement(modeler.get('elementRegistry').get(id),
                                               {top: 250, bottom: 250, left: 250, right: 250});
    })""", [file, element_id])
    box = page.locator(element(page, element_id) + " .djs-visual").bounding_box()
    width = page.evaluate("""([file, id]) => modelerPage.tool(file).then(tool =>
        tool.modeler.get('elementRegistry').get(id).width)""", [file, element_id])
    return {**box, "scale": box["width"] / width}


def center(page, element_id: str) -> tuple[float, float]:
    box = page.locator(element(page, element_id) + " .djs-visual").bounding_box()
    return box["x"] + box["width"] / 2, box["y"] + box["height"] / 2


def connect(page, source: str, target: str) -> None:
    """Draw a sequence flow with the context pad's connect tool, as the owner does."""
    select(page, "complaint.bpmn", source)
    page.click(f"{DIAGRAM} .djs-context-pad [data-action='connect']")
    x, y = center(page, target)
    page.mouse.move(x - 5, y)
    page.mouse.move(x, y)
    page.mouse.click(x, y)


def verification_hours(services, ticket: str) -> float:
    """The working hours the verification step of the case was given."""
    with services.db.read() as session:
        task = session.execute(select_rows(HumanTask).join(ProcessInstance).where(
            ProcessInstance.ticket == ticket, HumanTask.name == "verify")).scalar_one()
        calendar = services.calendars.for_team(task.department_code)
        return calendar.elapsed(task.created_at, task.due_at).total_seconds() / 3600


NOT_TRUE = {"verification_result": "not_true",
            "verification_notes": "Delivery photo shows the parcel intact."}
INFORMED = {"explanation": "Damage occurred after delivery.", "informed_via": "phone"}


def test_the_owner_changes_the_procedure_and_new_complaints_follow_it(browser, server):
    """The whole change: a deadline in the SLA table, a new step with a new form, lint
    found and fixed, scenarios run (one fails on the new step and is brought up to date),
    the deploy; a complaint filed before it finishes on the old version, one filed after
    it takes the new step and gets the new deadline."""
    services, desk = desk_for(server)
    try:
        before = desk.file()
        desk.run_until(before, "verify")

        page = sign_in(browser, server, "owner")
        trouble = open_modeler(page, server)

        # 1. The verification deadline of normal complaints: 4 working hours become 6.
        write_in_table(page, "sla.dmn", "Rule_normal_verify", "6")

        # 2. A new form for the new step.
        page.click("#tab-forms")
        page.fill("#new-form-name", "Explain Not True")
        page.click("#new-form")
        expect(page.locator("#modeler-status")).to_contain_text("lower-case")
        page.fill("#new-form-name", "explain_not_true")
        page.click("#new-form")
        page.wait_for_selector("#form-preview textarea")
        assert "explain_not_true.schema.json" in page.inner_text("#form-editor-title")

        # 3. A new task drawn below "Tell the customer the complaint is not upheld", in the
        # customer-service lane, and made a user task.
        page.click(".modeler-tab[data-file='complaint.bpmn']")
        informed = show(page, "complaint.bpmn", "inform_not_true")
        scale = informed["scale"]
        page.click(f"{DIAGRAM} .djs-palette [data-action='create.task']")
        spot = (informed["x"] + (2380 - 2170) * scale, informed["y"] + (615 - 465) * scale)
        page.mouse.move(spot[0] - 10, spot[1])
        page.mouse.move(*spot)
        page.mouse.click(*spot)
        page.click(f"{DIAGRAM} .djs-context-pad [data-action='replace']")
        page.click(".djs-popup [data-id='replace-with-user-task']")
        drawn = [t.get("id") for t in read_back(page).iter(f"{BPMN}userTask") if not t.get("name")]
        assert len(drawn) == 1, "the new user task is in the XML"

        # 4. Lint marks it: no name, and it is connected to nothing.
        page.click("[data-action=lint]")
        page.wait_for_selector(
            f'{DIAGRAM} .djs-overlays[data-container-id="{drawn[0]}"] .bjsl-overlay')
        findings = page.inner_text("#modeler-problems")
        assert "label-required" in findings and "no-disconnected" in findings, findings

        # 5. Fixed in the panel and on the canvas: id, name, form; the flow from the
        # existing step is redrawn through the new one.
        select(page, "complaint.bpmn", drawn[0])
        open_group(page, "general")
        page.fill(f"{DIAGRAM} #bio-properties-panel-id", "explain_not_true")
        page.press(f"{DIAGRAM} #bio-properties-panel-id", "Tab")
        page.wait_for_selector(element(page, "explain_not_true"), state="attached")
        page.fill(f"{DIAGRAM} #bio-properties-panel-name", "Explain the finding by phone")
        page.press(f"{DIAGRAM} #bio-properties-panel-name", "Tab")
        open_group(page, "engine-form")
        page.select_option(f"{DIAGRAM} #bio-properties-panel-spiff-formJsonSchemaFilename",
                           "explain_not_true.schema.json")
        page.select_option(f"{DIAGRAM} #bio-properties-panel-spiff-formUiSchemaFilename",
                           "explain_not_true.uischema.json")
        select(page, "complaint.bpmn", "flow_not_true_outcome")
        page.click(f"{DIAGRAM} .djs-context-pad [data-action='delete']")
        connect(page, "inform_not_true", "explain_not_true")
        connect(page, "explain_not_true", "script_outcome_not_true")
        page.click("[data-action=lint]")
        expect(page.locator("#modeler-status")).to_have_text("This diagram lints clean.")
        task = read_back(page).find(".//*[@id='explain_not_true']")
        assert task.get("name") == "Explain the finding by phone"
        assert properties_of(read_back(page), "explain_not_true")["formJsonSchemaFilename"] \
            == "explain_not_true.schema.json"
        page.click("[data-action=validate]")
        expect(page.locator("#modeler-status")).to_have_text("No problems found.")

        # 6. The scenarios: the not-upheld ones stop at the new step until they say what
        # to enter there.
        page.click("[data-action=scenarios]")
        page.wait_for_selector("#modeler-problems li.problem--bad")
        assert "explain_not_true" in page.inner_text("#modeler-problems")
        shot(page, "modeler-scenario-failed-en")
        page.click("#tab-scenarios")
        for name in ("general_not_true.scenario.json",
                     "general_not_true_receivables.scenario.json"):
            page.click(f".scenario-list__item[data-scenario='{name}']")
            scenario = json.loads(page.input_value("#scenario-text"))
            at = next(i for i, step in enumerate(scenario["steps"])
                      if step.get("task") == "inform_not_true")
            scenario["steps"].insert(at + 1, {"task": "explain_not_true",
                                              "data": {"note": "Called the customer back."}})
            page.fill("#scenario-text", json.dumps(scenario, indent=1))
        page.click("[data-action=scenarios]")
        # The scenarios run on the server one after another: allow them a minute.
        expect(page.locator("#modeler-problems li.problem--ok")).to_have_count(
            page.locator(".scenario-list__item").count(), timeout=60_000)
        assert page.locator("#modeler-problems li.problem--bad").count() == 0
        shot(page, "modeler-scenarios-passed-en")

        # 7. Deploy.
        page.fill("#change-note", "Verification within 6 hours; explain a rejected "
                                  "complaint by phone")
        page.click("[data-action=deploy]")
        # A deploy runs every scenario first: allow it a minute on a busy machine.
        expect(page.locator("#modeler-status")).to_contain_text(
            "Deployed: complaint version 2", timeout=60_000)
        shot(page, "modeler-deployed-en")
        assert not trouble, trouble

        # A complaint filed now follows version 2: the new deadline, the new step.
        after = desk.file()
        assert version_of(services, after) == 2
        desk.run_until(after, "verify")
        assert verification_hours(services, after) == 6
        desk.do(after, "verify", **NOT_TRUE)
        desk.do(after, "inform_not_true", **INFORMED)
        assert desk.open_task_names(after) == ["explain_not_true"]
        desk.do(after, "explain_not_true", user="agent", note="Called the customer back.")
        assert desk.case(after).status == "closed"

        # The complaint filed before finishes on version 1, without the new step.
        assert version_of(services, before) == 1
        assert verification_hours(services, before) == 4
        desk.do(before, "verify", **NOT_TRUE)
        desk.do(before, "inform_not_true", **INFORMED)
        assert desk.open_task_names(before) == []
        assert desk.case(before).status == "closed"
    finally:
        services.db.dispose()


def select(page, file: str, element_id: str) -> None:
    """Select an element wherever it is on the diagram (as a click on it would)."""
    page.evaluate("""([file, id]) => modelerPage.tool(file).then(tool => {
        const modeler = tool.modeler;
        modeler.get('selection').select(modeler.get('elementRegistry').get(id));
    })""", [file, element_id])


# What the shipped diagrams say, as the panel must show it: (file, element, group, entry,
# text the entry holds).
READ_BY_THE_ENGINE = [
    ("complaint.bpmn", "classify_path", "engine-decision", "called-decision", "classify_path"),
    ("complaint.bpmn", "major_path", "engine-call", "called-element", "major_complaint"),
    ("complaint.bpmn", "script_count_missing_facts", "engine-scripts", "script-body",
     "missing_facts_rounds += 1"),
    ("complaint.bpmn", "dispatch_breach", "engine-notice", "spiff-slaEvent", "breach"),
    ("complaint.bpmn", "dispatch_breach", "engine-notice", "spiff-notifyRole", "cs_supervisor"),
    ("complaint.bpmn", "wait_major_follow_up", "timer", "timerEventDefinitionValue",
     'business_due(now_iso(), "P3D", None)'),
    ("major.bpmn", "report_support_findings", "engine-scripts", "script-post",
     "support_finding = {"),
    ("major.bpmn", "report_support_findings", "engine-assignment", "spiff-departmentFrom",
     "support_department"),
]


def test_the_panel_shows_what_the_engine_reads(browser, server):
    page = sign_in(browser, server, "owner")
    trouble = open_modeler(page, server)
    for file, element_id, group, entry, shown in READ_BY_THE_ENGINE:
        page.click(f".modeler-tab[data-file='{file}']")
        page.wait_for_selector(element(page, element_id), state="attached")
        select(page, file, element_id)
        open_group(page, group)
        held = page.input_value(f"{DIAGRAM} #bio-properties-panel-{entry}")
        assert shown in held, (element_id, entry, held)
    assert not trouble, trouble


def test_a_decision_table_is_edited_as_a_table(browser, server):
    page = sign_in(browser, server, "owner")
    trouble = open_modeler(page, server)
    page.click(".modeler-tab[data-file='sla.dmn']")
    page.wait_for_selector(f"{DIAGRAM} .tjs-table")
    assert page.locator(f"{DIAGRAM} .tjs-table tbody tr").count() > 1
    # The verification deadline of normal complaints: 4 working hours become 6.
    write_in_table(page, "sla.dmn", "Rule_normal_verify", "6")
    root = read_back(page, "sla.dmn")
    verify = root.find(".//{*}outputEntry[@id='Rule_normal_verify']/{*}text")
    assert verify.text == "6"
    # What the table editor writes is what the engine reads.
    page.click("[data-action=validate]")
    expect(page.locator("#modeler-status")).to_have_text("No problems found.")
    assert not trouble, trouble


def test_the_viewer_highlights_what_it_is_given(browser, server):
    page = sign_in(browser, server, "owner")
    trouble = open_modeler(page, server)
    page.evaluate("""() => {
        const box = document.createElement('div');
        box.id = 'viewer-test';
        box.className = 'modeler-canvas';
        document.querySelector('.modeler-results').appendChild(box);
        return window.Workbench.viewer(box, window.modelerPage.files['complaint.bpmn'],
            {completed: ['check_record'], active: ['classify'], removed: ['no_such_element']});
    }""")
    marked = "#viewer-test .djs-element.wb-{}[data-element-id='{}']"
    page.wait_for_selector(marked.format("completed", "check_record"))
    assert page.locator(marked.format("active", "classify")).count() == 1
    assert page.locator("#viewer-test .wb-removed").count() == 0
    stroke = page.eval_on_selector(
        marked.format("completed", "check_record") + " .djs-visual > rect",
        "r => getComputedStyle(r).stroke")
    assert stroke == "rgb(46, 125, 50)", "completed steps are drawn green"
    # Read-only: no palette to draw with.
    assert page.locator("#viewer-test .djs-palette").count() == 0
    assert not trouble, trouble


def test_the_form_preview_renders_fields_as_staff_see_them(browser, server):
    page = sign_in(browser, server, "owner")
    trouble = open_modeler(page, server)
    page.click("#tab-forms")
    page.click(".form-list__item[data-form='check_record.schema.json']")
    page.wait_for_selector("#form-preview .field")
    schema = page.input_value("#form-schema")
    edited = re.sub(r'"properties":\s*{', '"properties": {"pet_name": {"type": "string", '
                    '"title": "Name of the pet"},', schema, count=1)
    page.fill("#form-schema", edited)
    page.wait_for_selector("#form-preview label[for='f-pet_name']")
    assert "Name of the pet" in page.inner_text("#form-preview")
    assert not trouble, trouble


@pytest.mark.parametrize("locale", ["en-GB", "zh-CN"])
def test_screenshots_of_the_modeler(browser, server, locale):
    page = sign_in(browser, server, "owner", locale=locale)
    trouble = open_modeler(page, server)
    page.click(element(page, "check_record"))
    open_group(page, "engine-form")
    heading = page.inner_text("h1")
    assert ("建模" in heading) if locale == "zh-CN" else heading.startswith("Modeler")
    shot(page, f"modeler-{locale[:2]}")
    assert not trouble, trouble


@pytest.mark.parametrize("locale", ["en-GB", "zh-CN"])
def test_screenshots_of_the_library_diff_validation_and_scenarios(browser, server, locale):
    services, _desk = desk_for(server)
    try:
        deploy_edited(services)
    finally:
        services.db.dispose()
    lang = locale[:2]
    page = sign_in(browser, server, "owner", locale=locale)
    trouble = watch_for_trouble(page)

    page.goto(f"{server.url}/processes")
    assert page.locator("#process-complaint").count() == 1
    shot(page, f"library-{lang}")

    # The diagrams are drawn, not only their text shown.
    page.goto(f"{server.url}/processes/complaint/versions/2")
    page.wait_for_selector(".diagram__canvas[data-drawn] .djs-element[data-element-id='check_record']")
    assert page.locator("[data-viewer][data-error]").count() == 0
    shot(page, f"library-version-{lang}")

    page.goto(f"{server.url}/processes/complaint/diff?from=1&to=2")
    page.wait_for_selector(".diagram__canvas[data-drawn] .djs-element.wb-changed"
                           "[data-element-id='check_record']")
    assert page.locator("[data-viewer][data-error]").count() == 0
    assert page.locator(".diagram__canvas[data-drawn]").count() == 2, "before and after"
    shot(page, f"library-diff-{lang}")

    open_modeler(page, server)
    select(page, "complaint.bpmn", "flow_record_complete")
    open_group(page, "engine-condition")
    condition = f"{DIAGRAM} #bio-properties-panel-condition-expression"
    page.fill(condition, "record_complete ==")
    page.press(condition, "Tab")
    page.click("[data-action=validate]")
    page.wait_for_selector(f"{DIAGRAM} .djs-overlays .wb-problem")
    assert "record_complete ==" in page.inner_text("#modeler-problems")
    shot(page, f"modeler-validation-{lang}")

    page.fill(condition, "record_complete")
    page.press(condition, "Tab")
    page.click("[data-action=scenarios]")
    expect(page.locator("#modeler-problems li.problem--ok")).to_have_count(
        page.locator(".scenario-list__item").count(), timeout=60_000)
    shot(page, f"modeler-scenarios-{lang}")
    assert not trouble, trouble
