"""The object that wires the engine together for one application or worker process."""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

from .db import Database
from .forms import FormRegistry
from .models import utcnow
from .scripting import make_script_engine
from .specs import SpecCache

PROJECT_ROOT = Path(__file__).resolve().parent.parent
COMPLAINT_PROCESS = "complaint"


@dataclass
class Services:
    db: Database
    forms: FormRegistry
    processes_dir: Path = PROJECT_ROOT / "processes"
    clock: Callable[[], dt.datetime] = utcnow
    specs: SpecCache = field(default_factory=SpecCache)
    script_engine: object = field(default_factory=make_script_engine)

    @classmethod
    def create(cls, database_url: str, forms_dir: Path | None = None,
               processes_dir: Path | None = None) -> "Services":
        return cls(
            db=Database(database_url),
            forms=FormRegistry(forms_dir or PROJECT_ROOT / "forms"),
            processes_dir=processes_dir or PROJECT_ROOT / "processes",
        )

    def now(self) -> dt.datetime:
        return self.clock()
