"""Reading the `spiffworkflow:properties` a diagram puts on its elements."""
from __future__ import annotations

from typing import Optional


def task_property(task_spec, name: str) -> Optional[str]:
    return (getattr(task_spec, "extensions", None) or {}).get("properties", {}).get(name)
