"""Checks of decision tables that SpiffWorkflow does not make: every input expression
reads a field the process makes available, and a UNIQUE table has no two rules that can
match the same input.

Cells are Python (see engine/specs.py `_dmn_cell`); the overlap check understands the cell
forms tables are written with: "-" (any value), literals, `== / !=`, comparisons and
ranges (`> 5000`, `1 <= ? < 10`), literal lists (`? in ("A", "B")`, `not in`),
`is None / is not None`, joined with `and` / `or`. A cell in another form is taken as
"cannot tell" and never reported.
"""
from __future__ import annotations

import ast
import builtins
import math
from dataclasses import dataclass
from typing import Iterable, Optional

from lxml import etree

from .problems import Problem

INPUT = "dmninput"
# Hit policies the engine carries out: UNIQUE and FIRST take the first rule that matches
# (FIRST after trying them all), COLLECT gathers every match.
SUPPORTED_POLICIES = {"UNIQUE", "FIRST", "COLLECT"}


def local(element) -> str:
    return etree.QName(element).localname


def children(element, name: str) -> list:
    return [c for c in element if isinstance(c.tag, str) and local(c) == name]


def text_of(element, name: str) -> str:
    found = children(element, name)
    return (found[0].text or "").strip() if found else ""


# --------------------------------------------------------------------------- cells

@dataclass(frozen=True)
class Values:
    """The input equals one of `values` (or, negated, none of them)."""
    values: frozenset
    negated: bool = False


@dataclass(frozen=True)
class Interval:
    low: float = -math.inf
    low_open: bool = True
    high: float = math.inf
    high_open: bool = True

    def contains(self, value) -> bool:
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            return False
        above = value > self.low or (not self.low_open and value == self.low)
        below = value < self.high or (not self.high_open and value == self.high)
        return above and below

    def intersect(self, other: "Interval") -> "Interval":
        low = max((self.low, self.low_open), (other.low, other.low_open))
        high = min((self.high, not self.high_open), (other.high, not other.high_open))
        return Interval(low[0], low[1], high[0], not high[1])

    def empty(self) -> bool:
        return self.low > self.high or (self.low == self.high and
                                        (self.low_open or self.high_open))


ANY = Values(frozenset(), negated=True)


class Unknown(Exception):
    """A cell in a form the overlap check does not read."""


def _constant(node):
    try:
        value = ast.literal_eval(node)
    except (ValueError, SyntaxError, TypeError):
        raise Unknown() from None
    if isinstance(value, (list, set)):
        value = tuple(value)
    return value


def _is_input(node) -> bool:
    return isinstance(node, ast.Name) and node.id == INPUT


_FLIP = {ast.Lt: ast.Gt, ast.Gt: ast.Lt, ast.LtE: ast.GtE, ast.GtE: ast.LtE,
         ast.Eq: ast.Eq, ast.NotEq: ast.NotEq}


def _comparison(op, value):
    if isinstance(op, (ast.Eq, ast.Is)):
        return Values(frozenset([value]))
    if isinstance(op, (ast.NotEq, ast.IsNot)):
        return Values(frozenset([value]), negated=True)
    if isinstance(op, (ast.In, ast.NotIn)):
        if not isinstance(value, (tuple, frozenset, str)) or isinstance(value, str):
            raise Unknown()
        return Values(frozenset(value), negated=isinstance(op, ast.NotIn))
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise Unknown()
    if isinstance(op, ast.Gt):
        return Interval(low=value)
    if isinstance(op, ast.GtE):
        return Interval(low=value, low_open=False)
    if isinstance(op, ast.Lt):
        return Interval(high=value)
    if isinstance(op, ast.LtE):
        return Interval(high=value, high_open=False)
    raise Unknown()


def _atoms(node) -> list[list]:
    """The cell as alternatives (or), each a list of conditions that all hold (and)."""
    if isinstance(node, ast.BoolOp):
        parts = [_atoms(v) for v in node.values]
        if isinstance(node.op, ast.Or):
            return [alt for part in parts for alt in part]
        combined = [[]]
        for part in parts:
            combined = [a + b for a in combined for b in part]
        return combined
    if isinstance(node, ast.Compare):
        conditions, left = [], node.left
        for op, right in zip(node.ops, node.comparators):
            if _is_input(left) and not _is_input(right):
                conditions.append(_comparison(op, _constant(right)))
            elif _is_input(right) and not _is_input(left):
                if type(op) not in _FLIP:
                    raise Unknown()
                conditions.append(_comparison(_FLIP[type(op)](), _constant(left)))
            else:
                raise Unknown()
            left = right
        return [conditions]
    # A bare value: the engine compares the input with it.
    return [[Values(frozenset([_constant(node)]))]]


def read_cell(text: str) -> list[list]:
    """Alternatives of conditions; [[ANY]] for "-" or an empty cell. Raises Unknown."""
    text = (text or "").strip()
    if text in ("", "-"):
        return [[ANY]]
    cell = text.replace("?", INPUT)
    try:
        tree = ast.parse(cell, mode="eval")
    except SyntaxError:
        try:
            tree = ast.parse(f"{INPUT} {cell}", mode="eval")
        except SyntaxError:
            raise Unknown() from None
    return _atoms(tree.body)


def _satisfiable(conditions: list) -> bool:
    """Whether some input meets every condition."""
    interval = Interval()
    allowed: Optional[set] = None
    excluded: set = set()
    numeric = False
    for condition in conditions:
        if isinstance(condition, Interval):
            numeric = True
            interval = interval.intersect(condition)
            if interval.empty():
                return False
        elif condition.negated:
            excluded |= set(condition.values)
        else:
            allowed = set(condition.values) if allowed is None else allowed & set(condition.values)
    if allowed is not None:
        candidates = allowed - excluded
        if numeric:
            candidates = {v for v in candidates if interval.contains(v)}
        return bool(candidates)
    if numeric:
        return not (interval.low == interval.high and interval.low in excluded)
    return True  # only exclusions: the domain of values is larger


def cells_meet(first: list[list], second: list[list]) -> bool:
    return any(_satisfiable(a + b) for a in first for b in second)


# --------------------------------------------------------------------------- names

def expression_names(code: str) -> set[str]:
    """The names an expression reads that are neither Python's builtins nor bound inside
    it (comprehension variables)."""
    tree = ast.parse(code, mode="eval")
    bound = {n.id for n in ast.walk(tree) if isinstance(n, ast.Name)
             and isinstance(n.ctx, ast.Store)}
    bound |= {a.arg for n in ast.walk(tree) if isinstance(n, ast.Lambda) for a in n.args.args}
    return {n.id for n in ast.walk(tree) if isinstance(n, ast.Name)
            and isinstance(n.ctx, ast.Load)} - bound - set(dir(builtins))


# --------------------------------------------------------------------------- tables

def decision_outputs(root) -> set[str]:
    return {o.get("name") for o in root.iter("{*}output") if o.get("name")}


def check_dmn(filename: str, root, known_fields: set[str], helpers: Iterable[str] = ()
              ) -> list[Problem]:
    problems: list[Problem] = []
    helpers = set(helpers)
    for decision in root.iter("{*}decision"):
        decision_id = decision.get("id")
        title = decision.get("name") or decision_id
        for table in children(decision, "decisionTable"):
            problems += _check_inputs(filename, decision, table, title, known_fields | helpers)
            problems += _check_policy(filename, decision_id, table, title)
    return problems


def _check_inputs(filename, decision, table, title, known) -> list[Problem]:
    problems = []
    for column in children(table, "input"):
        expression = next(iter(children(column, "inputExpression")), None)
        code = text_of(expression, "text") if expression is not None else ""
        label = column.get("label") or column.get("id")
        if not code:
            problems.append(Problem(filename, (
                f"Decision {title!r}, input {label!r}: the input has no expression; name "
                "the case field the column reads."), column.get("id"), column.sourceline))
            continue
        try:
            unknown = sorted(expression_names(code) - known)
        except SyntaxError as exc:
            problems.append(Problem(filename, (
                f"Decision {title!r}, input {label!r}: {code!r} is not a Python expression "
                f"({exc.msg}); name the case field the column reads."),
                column.get("id"), expression.sourceline))
            continue
        if unknown:
            problems.append(Problem(filename, (
                f"Decision {title!r}, input {label!r}: {', '.join(unknown)} is not a field "
                "any form, script or decision of the process sets, so the table would read "
                "nothing there; name a field of a form (e.g. of the intake form) or set it "
                "in a script before the decision."), column.get("id"), expression.sourceline))
    return problems


def _check_policy(filename, decision_id, table, title) -> list[Problem]:
    policy = (table.get("hitPolicy") or "UNIQUE").upper()
    if policy not in SUPPORTED_POLICIES:
        return [Problem(filename, (
            f"Decision {title!r}: the hit policy {policy} is not carried out by the engine; "
            "use UNIQUE (one rule matches), FIRST (the first matching rule in order) or "
            "COLLECT (all matching rules)."), decision_id, table.sourceline)]
    if policy != "UNIQUE":
        return []
    rules = []
    for number, rule in enumerate(children(table, "rule"), start=1):
        try:
            cells = [read_cell(text_of(entry, "text")) for entry in children(rule, "inputEntry")]
        except Unknown:
            continue
        rules.append((number, rule, cells))
    problems = []
    for later, (number, rule, cells) in enumerate(rules):
        earlier = [f"{n} ({r.get('id')})" for n, r, c in rules[:later]
                   if len(c) == len(cells) and all(cells_meet(a, b) for a, b in zip(c, cells))]
        if earlier:
            problems.append(Problem(filename, (
                f"Decision {title!r} has the hit policy UNIQUE, but rule {number} "
                f"({rule.get('id')}) can match the same input as rule"
                f"{'s' if len(earlier) > 1 else ''} {', '.join(earlier)}. If the order of "
                "the rules decides, set the hit policy to FIRST; otherwise change the rules "
                "so that they exclude each other."), decision_id, rule.sourceline))
    return problems
