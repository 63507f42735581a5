"""Limits on what one client may do, counted in the database that every web process
shares (engine/rate_limits.py); the client is the address the trusted proxy names
(web/proxy.py)."""
from __future__ import annotations

from typing import Optional

from flask import Flask, make_response, request

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


def customer_wait(key: str) -> Optional[int]:
    """Customer messages and uploads from one address (LOGIN_ATTEMPTS_PER_MINUTE): the
    seconds to wait when over the limit, else None."""
    return refused(CUSTOMER_WRITES, key)


def with_retry_after(answer, seconds: int):
    """The answer (a response or a view's return tuple) telling when to try again."""
    response = make_response(answer)
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
