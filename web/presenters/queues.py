"""Task queues by their human names: the role, and for a department's queue the
department ("Department handler · Quality"), never the diagram's lane."""
from __future__ import annotations

from engine import tasks
from engine.directory import ROLES

from ..i18n import translate


def queue_label(queue: tasks.Queue, department_names: dict[str, str]) -> str:
    role = translate(ROLES.get(queue.role, queue.role))
    if not queue.department:
        return role
    return f"{role} · {translate(department_names.get(queue.department, queue.department))}"
