"""Where people reach the pages, for links in mails: COMPLAINTS_PUBLIC_URL when set (the
address behind a proxy), else the address this process serves on (python -m web.serve
tells it), else the development default."""
from __future__ import annotations

import os
import socket
from typing import Optional

DEVELOPMENT_URL = "http://127.0.0.1:5000"
_served_at: Optional[str] = None


def serving_at(host: str, port: int) -> None:
    global _served_at
    if host in ("", "0.0.0.0", "::"):
        host = socket.getfqdn()  # every interface: the name others know the machine by
    elif ":" in host:
        host = f"[{host}]"
    _served_at = f"http://{host}:{port}"


def public_url() -> str:
    configured = os.environ.get("COMPLAINTS_PUBLIC_URL")
    return (configured or _served_at or DEVELOPMENT_URL).rstrip("/")
