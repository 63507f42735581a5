"""Serving with waitress until SIGTERM or Ctrl+C, then stopping gracefully: no new
connections are taken, requests already received are answered, and only then does the
server return (to stop the timer scheduler and exit)."""
from __future__ import annotations

import logging
import signal
import threading
import time

from waitress import create_server
from waitress import wasyncore
from waitress.channel import HTTPChannel
from waitress.server import BaseWSGIServer

log = logging.getLogger("web.graceful")

# How long requests in flight may take to finish once a stop was asked for.
GRACE_SECONDS = 30.0
_POLL_SECONDS = 0.2


def _listeners(socket_map: dict) -> list:
    return [d for d in socket_map.values() if isinstance(d, BaseWSGIServer)]


def _busy(socket_map: dict) -> bool:
    return any(isinstance(c, HTTPChannel) and (c.requests or c.total_outbufs_len)
               for c in list(socket_map.values()))


def serve(app, stopping: threading.Event | None = None, grace: float = GRACE_SECONDS,
          **options) -> None:
    """Serve until SIGTERM, SIGINT or `stopping`; then finish the requests in flight."""
    stopping = stopping or threading.Event()
    for signum in (signal.SIGTERM, signal.SIGINT):
        signal.signal(signum, lambda *_: stopping.set())
    server = create_server(app, **options)
    socket_map = server._map if hasattr(server, "_map") else server.map
    server.print_listen("Serving on http://{}:{}")  # as waitress.serve says it
    while not stopping.is_set():
        wasyncore.loop(timeout=_POLL_SECONDS, map=socket_map, count=1)
    for listener in _listeners(socket_map):
        wasyncore.dispatcher.close(listener)  # stop taking connections
    deadline = time.monotonic() + grace
    while _busy(socket_map) and time.monotonic() < deadline:
        wasyncore.loop(timeout=_POLL_SECONDS / 4, map=socket_map, count=1)
    if _busy(socket_map):
        log.warning("stopping with requests still unanswered after %s s", grace)
    server.task_dispatcher.shutdown(cancel_pending=True, timeout=5)
    wasyncore.close_all(socket_map)
