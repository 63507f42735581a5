"""Who may read the process library and who may change the procedure.

A deployment runs code (scripts, conditions, timer expressions): only process owners and
administrators deploy or roll back. Compliance reads every version, its files and diffs.
"""
from __future__ import annotations

from typing import Optional

from .directory import Actor
from .errors import Forbidden
from .i18n import N_

EDITOR_ROLES = frozenset({"process_owner", "admin"})
READER_ROLES = EDITOR_ROLES | {"compliance"}


def may_read(actor: Optional[Actor]) -> bool:
    return actor is not None and bool(actor.roles & READER_ROLES)


def may_edit(actor: Optional[Actor]) -> bool:
    return actor is not None and bool(actor.roles & EDITOR_ROLES)


def require_reader(actor: Optional[Actor]) -> None:
    if not may_read(actor):
        raise Forbidden(N_("Only process owners, administrators and compliance see the "
                           "process library."))


def require_editor(actor: Optional[Actor]) -> None:
    if not may_edit(actor):
        raise Forbidden(N_("Only process owners and administrators change the procedure."))
