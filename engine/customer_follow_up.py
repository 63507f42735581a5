"""The follow-up visit answered by the customer on the status page.

The visit is customer service's task (a phone call first, the procedure says); a customer
who prefers to answer online does so with a short form of their own (a 1-5 score and
whether the problem is solved), translated here into the visit's record. A problem that
is not solved becomes the new, linked complaint the procedure starts for problems raised
at the visit, so it is never lost in a comment field.
"""
from __future__ import annotations

from typing import Any

FOLLOW_UP_TASK = "follow_up"
CUSTOMER_FORM = "follow_up_customer.schema.json"
CUSTOMER_UI = "follow_up_customer.uischema.json"


def satisfaction_of(score: int) -> str:
    """The procedure's three levels from the customer's five."""
    if score >= 4:
        return "satisfied"
    if score == 3:
        return "fairly_satisfied"
    return "not_satisfied"


def visit_record(answer: dict[str, Any]) -> dict[str, Any]:
    """The follow-up task's data for a validated customer answer."""
    comment = (answer.get("follow_up_comment") or "").strip()
    solved = bool(answer["problem_solved"])
    record = {
        "satisfaction": satisfaction_of(int(answer["satisfaction_score"])),
        "satisfaction_score": int(answer["satisfaction_score"]),
        "problem_solved": solved,
        "follow_up_channel": "web",
        "new_problem": not solved,
    }
    if comment:
        record["follow_up_note"] = comment
    if not solved:
        record["new_problem_description"] = comment
    return record
