"""Compiled templates shared by every app made in one process.

A template is parsed and compiled to Python once per Jinja environment, and each Flask
app has its own: a process that makes several apps (a server's app and the ones its
management commands make, a test run's app per test) would compile every page again for
each. Jinja's bytecode cache keys a template by its name and the checksum of its source,
so an edited template is compiled afresh.
"""
from __future__ import annotations

import threading

from jinja2 import BytecodeCache
from jinja2.bccache import Bucket


class ProcessBytecodeCache(BytecodeCache):
    def __init__(self):
        self._compiled: dict[str, bytes] = {}
        self._lock = threading.Lock()

    def load_bytecode(self, bucket: Bucket) -> None:
        compiled = self._compiled.get(bucket.key)
        if compiled is not None:
            bucket.bytecode_from_string(compiled)

    def dump_bytecode(self, bucket: Bucket) -> None:
        compiled = bucket.bytecode_to_string()
        with self._lock:
            self._compiled[bucket.key] = compiled


SHARED = ProcessBytecodeCache()
