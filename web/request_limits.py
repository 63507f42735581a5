"""How large a request may be: only the forms that carry evidence take bodies up to
MAX_CONTENT_LENGTH; every other request is held to SMALL_BODY, so no JSON or form post
is read at the size of a set of files."""
from __future__ import annotations

from flask import Flask, request

SMALL_BODY = 2 * 1024 * 1024
EVIDENCE_ENDPOINTS = frozenset({"public.file", "intake.submit", "attachments.customer_upload",
                                "attachments.staff_upload"})
# A deploy carries a version's documents, each capped on its own (engine/process_uploads.py).
BUNDLE_BODY = 16 * 1024 * 1024
BUNDLE_ENDPOINTS = frozenset({"api.deploy_processes"})


def carries_evidence() -> bool:
    return request.endpoint in EVIDENCE_ENDPOINTS


def init_app(app: Flask) -> None:
    """Call before the CSRF protection is set up: its check reads the form."""
    @app.before_request
    def limit_body_size():
        if not carries_evidence():
            allowed = BUNDLE_BODY if request.endpoint in BUNDLE_ENDPOINTS else SMALL_BODY
            limit = app.config.get("MAX_CONTENT_LENGTH")
            request.max_content_length = allowed if limit is None else min(allowed, limit)
