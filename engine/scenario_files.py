"""Scenario files: a process owner's dry run of a case, as JSON (the process, the start
data, the steps with their form data or waits, what to expect at the end), read and
checked before anything runs. engine/scenarios.py runs them."""
from __future__ import annotations

import datetime as dt
import json
from dataclasses import dataclass, field
from typing import Optional

from .problems import Problem

SUFFIX = ".scenario.json"
# A working Wednesday, 10:00 in Shanghai: SLA clocks count business hours from here.
DEFAULT_START = dt.datetime(2026, 11, 25, 2, 0, tzinfo=dt.timezone.utc)


@dataclass
class Scenario:
    file: str
    name: str
    process: str
    start: dict
    steps: list
    expect: dict
    start_at: dt.datetime = DEFAULT_START


@dataclass
class ScenarioResult:
    file: str
    name: str
    passed: bool
    path: list[str] = field(default_factory=list)
    failure: Optional[Problem] = None


class ScenarioInvalid(ValueError):
    """A scenario file that cannot be read; `problem` says which and why."""

    def __init__(self, problem: Problem):
        super().__init__(str(problem))
        self.problem = problem


def as_text(content) -> str:
    return content.decode("utf-8") if isinstance(content, bytes) else content


def read(name: str, content) -> Scenario:
    def refuse(message: str) -> ScenarioInvalid:
        return ScenarioInvalid(Problem(name, message))
    try:
        value = json.loads(as_text(content))
    except (UnicodeDecodeError, ValueError) as exc:
        raise refuse(f"The scenario is not valid JSON ({exc}).") from None
    if not isinstance(value, dict):
        raise refuse("A scenario is a JSON object with name, process, start, steps, expect.")
    missing = [k for k in ("name", "process", "start", "steps", "expect") if k not in value]
    if missing:
        raise refuse(f"The scenario lacks {', '.join(missing)}.")
    if not isinstance(value["start"], dict) or not isinstance(value["expect"], dict):
        raise refuse("start and expect must be JSON objects.")
    if not isinstance(value["steps"], list) or not all(
            isinstance(s, dict) and ("task" in s or "wait" in s) for s in value["steps"]):
        raise refuse('steps must be a list of {"task": ..., "data": {...}} and '
                     '{"wait": {"hours": ...}} entries.')
    start_at = DEFAULT_START
    if value.get("start_at"):
        try:
            start_at = dt.datetime.fromisoformat(str(value["start_at"]))
        except ValueError:
            raise refuse("start_at must be an ISO 8601 time with its time zone.") from None
        if start_at.tzinfo is None:
            raise refuse("start_at must be an ISO 8601 time with its time zone.")
    return Scenario(file=name, name=str(value["name"]), process=str(value["process"]),
                    start=value["start"], steps=value["steps"], expect=value["expect"],
                    start_at=start_at)


def load(files: dict) -> list[Scenario]:
    """The bundle's scenarios in file order; raises ScenarioInvalid for an unreadable one."""
    return [read(name, content) for name, content in sorted(files.items())
            if name.endswith(SUFFIX)]
