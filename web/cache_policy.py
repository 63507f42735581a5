"""Pages that show a case, or figures about cases, keep out of every cache: the browser's back button after
signing out, a shared computer's disk, a proxy in between."""
from __future__ import annotations

from flask import Flask, request

PRIVATE_ENDPOINTS = frozenset({"public.status", "inbox.task", "inbox.complete"})
# Evidence files are case records too; statistics are counted from them.
PRIVATE_BLUEPRINTS = frozenset({"cases", "attachments", "statistics", "support_metrics"})


def shows_a_case() -> bool:
    return (request.endpoint in PRIVATE_ENDPOINTS
            or request.blueprint in PRIVATE_BLUEPRINTS)


def init_app(app: Flask) -> None:
    @app.after_request
    def no_store(response):
        if shows_a_case():
            response.headers["Cache-Control"] = "no-store"
        return response
