"""What is wrong with a set of process documents, said so a process owner can find it:
the file, the element (its id, so the modeler can mark it on the diagram), the line,
and the reason in plain words."""
from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Iterable, Optional


@dataclass(frozen=True)
class Problem:
    file: str
    message: str
    element: Optional[str] = None
    line: Optional[int] = None

    def as_dict(self) -> dict:
        return asdict(self)

    def __str__(self) -> str:
        where = [self.file]
        if self.element:
            where.append(f"element {self.element}")
        if self.line:
            where.append(f"line {self.line}")
        return ", ".join(w for w in where if w) + f": {self.message}"


class DeployRefused(ValueError):
    """Nothing was deployed; `problems` says why, one entry per fault found."""

    def __init__(self, problems: Iterable[Problem],
                 error: str = "The documents cannot be deployed."):
        self.problems = list(problems)
        self.error = error
        super().__init__(error + " " + "; ".join(str(p) for p in self.problems))
