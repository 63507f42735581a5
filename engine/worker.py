"""A timer worker process: `python -m engine.worker` (or `flask --app web worker`).

Any number of workers can run against one PostgreSQL database; each timer fires once.
"""
from __future__ import annotations

import argparse
import datetime as dt
import logging
import os
import signal
import threading
from typing import Callable

from . import collector, timers
from .scheduler import TimerScheduler
from .services import Services


def configure_logging(engine_steps: bool = False) -> None:
    """One line per thing a worker does (runs, failures). SpiffWorkflow's own record of
    every task state change (about twenty lines per fired case, none naming the case) is
    left out unless asked for: the case's history and audit trail say what happened."""
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(message)s")
    logging.getLogger("spiff").setLevel(logging.INFO if engine_steps else logging.WARNING)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--database-url", default=os.environ.get("COMPLAINTS_DATABASE_URL"),
                        required=os.environ.get("COMPLAINTS_DATABASE_URL") is None)
    parser.add_argument("--sweep-seconds", type=int, default=30)
    parser.add_argument("--lease-seconds", type=float, default=timers.LEASE.total_seconds())
    parser.add_argument("--name", help="worker name in leases and the audit trail")
    parser.add_argument("--log-engine-steps", action="store_true",
                        help="also log every task state change inside the engine")
    args = parser.parse_args(argv)
    timers.LEASE = dt.timedelta(seconds=args.lease_seconds)
    services = Services.create(args.database_url)
    run_until_stopped(services, args.sweep_seconds, args.name, args.log_engine_steps,
                      lambda line: print(line, flush=True))
    services.db.dispose()


def run_until_stopped(services: Services, sweep_seconds: int, name: str | None,
                      log_engine_steps: bool, say: Callable[[str], None]) -> None:
    """Fire due timers until SIGTERM or SIGINT; a run of due timers in progress
    finishes first. `say` tells the operator the worker's name as it starts and stops."""
    configure_logging(log_engine_steps)
    scheduler = TimerScheduler(services, sweep_seconds=sweep_seconds, worker=name)
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    signal.signal(signal.SIGINT, lambda *_: stop.set())
    collector.tune_after_start_up()
    scheduler.start()
    say(f"timer worker {scheduler.worker} running; Ctrl+C or SIGTERM stops it")
    stop.wait()
    scheduler.shutdown()
    say(f"timer worker {scheduler.worker} stopped")


if __name__ == "__main__":
    main()
