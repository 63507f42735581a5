"""The client's real address behind a reverse proxy: with COMPLAINTS_TRUSTED_PROXIES=N
the address (and scheme and host) the N proxies in front of us forwarded are believed;
without it, nobody's X-Forwarded-For is, since any client can send one."""
from __future__ import annotations

import os

from flask import Flask
from werkzeug.middleware.proxy_fix import ProxyFix


def trusted_proxies(app: Flask) -> int:
    configured = app.config.get("TRUSTED_PROXIES")
    if configured is None:
        configured = os.environ.get("COMPLAINTS_TRUSTED_PROXIES") or 0
    return max(0, int(configured))


def init_app(app: Flask) -> None:
    hops = trusted_proxies(app)
    if hops:
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=hops, x_proto=hops, x_host=hops)
