"""Limits on what one client may do, counted in the database that every web process
shares (engine/rate_limits.py); the client is the address the trusted proxy names
(web/proxy.py)."""
from __future__ import annotations

from typing import Optional

from flask import Flask, request

from engine.rate_limits import (
    ACKNOWLEDGEMENTS, CUSTOMER_WRITES, FILING, SIGN_IN_ADDRESS, SIGN_IN_FAILURES, Rule,
)

from .services import services

# App settings that override a rule's limits (tests loosen them).
RULE_SETTINGS = {"FILING_LIMIT": FILING, "SIGN_IN_FAILURE_LIMIT": SIGN_IN_FAILURES,
                 "ACKNOWLEDGEMENT_LIMIT": ACKNOWLEDGEMENTS}


def client_address() -> str:
    return request.remote_addr or "unknown"


def refused(rule: Rule, key: Optional[str] = None) -> Optional[int]:
    """Count this request against the rule: the seconds to wait if it is over the limit."""
    verdict = services().limits.hit(rule, key if key is not None else client_address())
    return None if verdict.allowed else verdict.retry_after


def too_many_attempts(key: str) -> bool:
    """Customer messages and uploads from one address (LOGIN_ATTEMPTS_PER_MINUTE)."""
    return refused(CUSTOMER_WRITES, key) is not None


def with_retry_after(response, seconds: int):
    response.headers["Retry-After"] = str(seconds)
    return response


def init_app(app: Flask) -> None:
    limits = app.extensions["services"].limits
    per_minute = app.config.get("LOGIN_ATTEMPTS_PER_MINUTE")
    if per_minute:
        for rule in (CUSTOMER_WRITES, SIGN_IN_ADDRESS):
            limits.configure(rule, f"{per_minute}/minute")
    for setting, rule in RULE_SETTINGS.items():
        if app.config.get(setting):
            limits.configure(rule, app.config[setting])
