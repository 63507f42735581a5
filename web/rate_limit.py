"""How often one address may try something (sign in, file, upload, write) per minute."""
from __future__ import annotations

import time
from collections import defaultdict, deque

from flask import current_app

_attempts: dict[str, deque] = defaultdict(deque)


def too_many_attempts(key: str) -> bool:
    """A small in-process limiter: enough for one process; a shared store comes with scale-out."""
    now = time.monotonic()
    window = _attempts[key]
    while window and now - window[0] > 60:
        window.popleft()
    if len(window) >= current_app.config["LOGIN_ATTEMPTS_PER_MINUTE"]:
        return True
    window.append(now)
    return False
