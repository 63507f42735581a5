"""The object that wires the engine together for one application or worker process."""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Optional

from . import public_address
from .db import Database
from .forms import FormRegistry
from .models import utcnow
from .rate_limits import RateLimits
from .scripting import make_script_engine
from .sla import CalendarBook, script_helpers
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
    calendars: Optional[CalendarBook] = None
    script_engine: object = None
    # Where customers reach the public pages (status links in e-mails).
    public_url: str = field(default_factory=public_address.public_url)
    # Told the new earliest due time after a commit (the scheduler re-arms on it).
    due_listener: Optional[Callable[[dt.datetime], None]] = None
    # Evidence files (engine/attachments.py); the web app defaults it to its instance
    # folder. Limits per uploaded file and per submission.
    attachment_dir: Optional[Path] = None
    attachment_max_bytes: int = 20 * 1024 * 1024
    attachment_max_files: int = 5
    # Limits counted in the database, shared by every process (engine/rate_limits.py).
    limits: Optional[RateLimits] = None

    def __post_init__(self):
        if self.calendars is None:
            self.calendars = CalendarBook(self.db)
        if self.script_engine is None:
            self.script_engine = make_script_engine(script_helpers(self.calendars, self.now))
        if self.limits is None:
            self.limits = RateLimits.on(self.db.engine)

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

    def due_changed(self, due: Optional[dt.datetime]) -> None:
        if due is not None and self.due_listener is not None:
            self.due_listener(due)
