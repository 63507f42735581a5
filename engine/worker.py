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
    configure_logging(args.log_engine_steps)
    timers.LEASE = dt.timedelta(seconds=args.lease_seconds)
    services = Services.create(args.database_url)
    scheduler = TimerScheduler(services, sweep_seconds=args.sweep_seconds, worker=args.name)
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    signal.signal(signal.SIGINT, lambda *_: stop.set())
    collector.tune_after_start_up()
    scheduler.start()
    print(f"timer worker {scheduler.worker} running", flush=True)
    stop.wait()
    scheduler.shutdown()  # lets a run of due timers in progress finish
    services.db.dispose()
    print(f"timer worker {scheduler.worker} stopped", flush=True)


if __name__ == "__main__":
    main()
