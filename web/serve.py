"""`make run`: migrate, deploy, create the demo directory, then serve.

With COMPLAINTS_ENV=production there is no demo directory, and the server refuses to
start while an account accepts the demo password, no administrator exists or SECRET_KEY
is not set."""
from __future__ import annotations

import os
import sys

from engine import accounts, bootstrap, collector, migrate, public_address, versions
from engine.scheduler import TimerScheduler

from . import create_app, graceful


def main() -> None:
    host = os.environ.get("HOST", "127.0.0.1")
    port = int(os.environ.get("PORT", "5000"))
    public_address.serving_at(host, port)  # links in mails, unless COMPLAINTS_PUBLIC_URL
    app = create_app()
    services = app.extensions["services"]
    migrate.upgrade(services.db.url)
    version, created = versions.deploy_shipped(services)
    production = os.environ.get("COMPLAINTS_ENV", "").strip().lower() == accounts.PRODUCTION
    if production:
        with services.db.read() as session:
            problems = accounts.production_problems(session, os.environ.get("SECRET_KEY"))
        if problems:
            print("Refusing to start in production mode (COMPLAINTS_ENV=production):",
                  file=sys.stderr)
            for problem in problems:
                print(f"  - {problem}", file=sys.stderr)
            services.db.dispose()
            raise SystemExit(2)
        users = []
    else:
        users = bootstrap.create_demo_directory(services)
    url = f"http://{host}:{port}"
    print(f"\nComplaint handling is running at {url}", flush=True)
    print(f"  database: {services.db.url}")
    print(f"  complaint process: version {version}{' (newly deployed)' if created else ''}")
    if production:
        print("  production mode: no demo accounts")
    else:
        print(f"  demo logins (password '{bootstrap.DEMO_PASSWORD}'):")
        for username, roles in users:
            print(f"    {username:<10} {roles}")
    # The embedded setup fires its own timers; production runs `flask --app web worker`.
    scheduler = TimerScheduler(services)
    scheduler.start()
    print("  timers: fired in this process (catch-up done)")
    print("  press Ctrl+C to stop\n", flush=True)
    collector.tune_after_start_up()
    try:
        graceful.serve(app, host=host, port=port, threads=8, ident="complaints")
    finally:
        scheduler.shutdown()
        services.db.dispose()
        print("Complaint handling stopped", flush=True)


if __name__ == "__main__":
    main()
