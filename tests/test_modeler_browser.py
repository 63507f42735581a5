"""In real Chromium: the process owner edits the procedure in the browser. The diagram
renders, the properties panel writes what the engine reads, a new user task is drawn and
lint marks it on the diagram, the server's checks are shown next to the element at fault,
the XML reads back with the changes, and a task form previews as staff will see it."""
from __future__ import annotations

import importlib.util
import re

import pytest
from lxml import etree
from playwright.sync_api import expect

from support.browser import shot, sign_in, watch_for_trouble

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


# Known failure since the modeler met the versioned engine: after the lint step, selecting
# the flow leaving "Record complete?" no longer opens its condition group in the panel.
@pytest.mark.xfail(reason="the condition group of a selected flow does not open after "
                          "linting a new task", strict=False)
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
    page.click(element(page, "flow_record_complete") + " .djs-hit", force=True)
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


@pytest.mark.skipif(importlib.util.find_spec("engine.versions") is None
                    or importlib.util.find_spec("engine.scenarios") is None,
                    reason="this engine has no scenario runner or versioned deploy")
def test_the_owner_runs_the_scenarios_and_deploys_a_changed_table(browser, server):
    page = sign_in(browser, server, "owner")
    trouble = open_modeler(page, server)
    page.click(".modeler-tab[data-file='sla.dmn']")
    cell = f'{DIAGRAM} td[data-element-id="Rule_normal_verify"] [contenteditable]'
    page.click(cell)
    page.keyboard.press("Control+A")
    page.keyboard.type("6")
    page.click(f"{DIAGRAM} .tjs-table thead")
    page.click("[data-action=scenarios]")
    page.wait_for_selector("#modeler-problems li")
    results = page.locator("#modeler-problems li")
    assert results.count() > 0
    assert page.locator("#modeler-problems li.problem--bad").count() == 0, \
        page.inner_text("#modeler-problems")
    page.fill("#change-note", "Verification within 6 hours")
    page.click("[data-action=deploy]")
    expect(page.locator("#modeler-status")).to_contain_text("Deployed: complaint version 2")
    shot(page, "modeler-deployed-en")
    assert not trouble, trouble


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
    cell = f'{DIAGRAM} td[data-element-id="Rule_normal_verify"] [contenteditable]'
    page.click(cell)
    page.keyboard.press("Control+A")
    page.keyboard.type("6")
    page.click(f"{DIAGRAM} .tjs-table thead")
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
