"""Accessibility checks in the real browser: axe-core (vendored, see vendor/axe-core/) run
in the page as it stands, against WCAG 2.1 A and AA. A page passes when nothing of impact
serious or critical is found; the report names each rule, its help text and the elements
at fault, so a failure says what to fix."""
from __future__ import annotations

from functools import cache

from support.paths import PROJECT_ROOT

AXE = PROJECT_ROOT / "tests" / "support" / "vendor" / "axe-core" / "axe.min.js"
TAGS = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa"]
BLOCKING = {"serious", "critical"}


@cache
def _axe_source() -> str:
    return AXE.read_text(encoding="utf-8")


def violations(page) -> list[dict]:
    """The serious and critical violations on the page now. The checker is evaluated
    through the browser's debugging channel, so the page's Content-Security-Policy (no
    inline scripts) stays as it is for the page's own code."""
    if not page.evaluate("() => typeof window.axe === 'object'"):
        page.evaluate(_axe_source())
    found = page.evaluate(
        """async (tags) => {
            const result = await window.axe.run(document, {
                runOnly: {type: "tag", values: tags}, resultTypes: ["violations"]});
            return result.violations.map(v => ({
                id: v.id, impact: v.impact, help: v.help,
                targets: v.nodes.map(n => n.target.join(" ")).slice(0, 5),
                summary: (v.nodes[0] && v.nodes[0].failureSummary) || ""}));
        }""", TAGS)
    return [v for v in found if v["impact"] in BLOCKING]


def report(found: list[dict]) -> str:
    return "\n".join(f"{v['impact']}: {v['id']} ({v['help']}) at {', '.join(v['targets'])}"
                     f"\n    {v['summary']}" for v in found)


def assert_accessible(page, where: str) -> None:
    found = violations(page)
    assert not found, f"{where}:\n{report(found)}"
