"""The engine's services of the running app, for every page and the API."""
from __future__ import annotations

from flask import current_app

from engine.services import Services


def services() -> Services:
    return current_app.extensions["services"]
