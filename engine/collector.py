"""Garbage-collector settings for the long-running processes (web server, timer worker).

Every step loads a SpiffWorkflow task tree whose tasks point at their parents, children
and workflow: cyclic garbage that only the cyclic collector frees. With the interpreter's
default (a young-generation pass every 700 net allocations) a step triggers several
passes while its tree is still in use, so the tree survives them and is promoted to the
older generations, which are then collected more often too. Collecting the young
generation every YOUNG_THRESHOLD allocations instead finds a step's tree already garbage.
The cost is memory: at most that many young objects wait for a pass (a few megabytes).

Freezing the start-up objects out of collection (gc.freeze) was measured as well and left
out: it made both the timer worker and the inbox slower, not faster.
"""
from __future__ import annotations

import gc

YOUNG_THRESHOLD = 50_000
OLDER_THRESHOLDS = (20, 20)


def tune_after_start_up() -> None:
    """Call once the process has loaded what it keeps (its app, its services)."""
    gc.collect()
    gc.set_threshold(YOUNG_THRESHOLD, *OLDER_THRESHOLDS)
