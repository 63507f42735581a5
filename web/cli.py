"""`flask --app web ...` commands for operators."""
from __future__ import annotations

import click
from flask import Flask

from engine import accounts, audit, bootstrap, migrate, monthly_work, periods, sign_in, versions
from engine.directory import ROLES, create_user, find_user

# Who the audit trail names for a change made on the server's command line (the same
# name the calendar commands record).
OPERATOR = "admin"


def _check_password(password: str, username: str) -> None:
    problem = accounts.password_problem(password, username)
    if problem:
        raise click.ClickException(str(problem))


def register(app: Flask) -> None:
    services = app.extensions["services"]

    @app.cli.command("migrate")
    def migrate_command():
        """Bring the database schema up to date."""
        migrate.upgrade(services.db.url)
        click.echo("database schema is up to date")

    @app.cli.command("deploy")
    def deploy_command():
        """Deploy processes/ as a new version if it changed."""
        version, created = versions.deploy_shipped(services)
        click.echo(f"complaint process version {version} {'deployed' if created else 'unchanged'}")

    @app.cli.command("demo")
    def demo_command():
        """Create the demo departments and users (password 'demo')."""
        for username, roles in bootstrap.create_demo_directory(services):
            click.echo(f"  {username:<10} {roles}")

    @app.cli.command("create-user")
    @click.argument("username")
    @click.option("--role", "roles", multiple=True, type=click.Choice(sorted(ROLES)), required=True)
    @click.option("--department")
    @click.option("--name")
    @click.password_option()
    def create_user_command(username, roles, department, name, password):
        """Create a staff account."""
        _check_password(password, username)
        bootstrap.ensure_departments(services)
        with services.db.write() as session:
            create_user(session, username, password, list(roles), display_name=name,
                        department=department)
            audit.record(session, "user_created", OPERATOR, username=username,
                         roles=sorted(roles), department=department, via="command line")
        click.echo(f"user {username} created")

    @app.cli.command("create-admin")
    @click.argument("username")
    @click.option("--name", help="the name shown on the pages (default: the user name)")
    @click.option("--email")
    @click.password_option()
    def create_admin_command(username, name, email, password):
        """Create an administrator for a real installation (no demo accounts); the
        password is asked for twice and must pass the password rules. The database schema
        is brought up to date first."""
        _check_password(password, username)
        if not accounts.USERNAME.match(username):
            raise click.ClickException("use lower-case letters, digits, dots, hyphens and "
                                       "underscores for the user name")
        migrate.upgrade(services.db.url)
        with services.db.write() as session:
            if find_user(session, username) is not None:
                raise click.ClickException(f"user {username!r} already exists")
            create_user(session, username, password, ["admin"], display_name=name,
                        email=email)
            audit.record(session, "user_created", OPERATOR, username=username,
                         roles=["admin"], department=None, via="command line")
        click.echo(f"administrator {username} created; sign in and add the others under "
                   f"Admin > Users")

    @app.cli.command("set-password")
    @click.argument("username")
    @click.password_option()
    def set_password_command(username, password):
        """Give an account a new password; its open sessions end."""
        _check_password(password, username)
        with services.db.write() as session:
            user = find_user(session, username)
            if user is None:
                raise click.ClickException(f"no user {username!r}")
            sign_in.change_password(session, user, password)
            audit.record(session, "password_changed", OPERATOR, username=username,
                         via="command line")
        click.echo(f"password of {username} changed; its sessions are ended")

    @app.cli.command("deactivate-user")
    @click.argument("username")
    def deactivate_user_command(username):
        """Stop an account from signing in; its sessions and API tokens end."""
        with services.db.write() as session:
            user = find_user(session, username)
            if user is None:
                raise click.ClickException(f"no user {username!r}")
            sign_in.deactivate(session, user)
            audit.record(session, "user_deactivated", OPERATOR, username=username,
                         via="command line")
        click.echo(f"user {username} deactivated")

    @app.cli.command("worker")
    @click.option("--sweep-seconds", default=30, show_default=True,
                  help="Safety sweep interval; due timers are armed exactly anyway.")
    @click.option("--log-engine-steps", is_flag=True,
                  help="Also log every task state change inside the engine.")
    def worker_command(sweep_seconds, log_engine_steps):
        """Fire due timers (SLA reminders, escalations, waits) until stopped.

        Run one or more next to the web processes on PostgreSQL: each timer fires once.
        """
        from engine import worker
        worker.run_until_stopped(services, sweep_seconds, None, log_engine_steps, click.echo)

    @app.cli.command("monthly-work")
    @click.option("--period", help="the month, YYYY-MM (default: last month)")
    def monthly_work_command(period):
        """Make a month's supervision report and review task, unless they exist."""
        chosen = periods.parse(period) if period else periods.previous(
            periods.of(services.now()))
        if chosen is None:
            raise click.BadParameter("give the month as YYYY-MM", param_hint="--period")
        done = monthly_work.run_period(services, chosen, "cli")
        click.echo(f"{chosen}: {', '.join(done) if done else 'nothing to do, already done'}")

    @app.cli.command("send-mail")
    def send_mail_command():
        """Send the outbox e-mails that are due, once, and print the counts.

        SMTP from COMPLAINTS_SMTP_HOST/PORT/USER/PASSWORD/STARTTLS/SENDER; without a
        host (development mode) the mails are kept for the admin outbox page."""
        from engine import mailer
        settings = mailer.MailSettings.from_env()
        counts = mailer.deliver_due(services, settings)
        click.echo(f"{settings.describe()}")
        click.echo(f"sent {counts['sent']}, retried {counts['retried']}, "
                   f"failed {counts['failed']}, kept {counts['kept']}")

    @app.cli.command("close-day")
    @click.argument("calendar")
    @click.argument("day", type=click.DateTime(formats=["%Y-%m-%d"]))
    @click.option("--reason", default="")
    @click.option("--open", "is_open", is_flag=True, help="Make it a working day instead.")
    def close_day_command(calendar, day, reason, is_open):
        """Close (or open) a day on a business calendar, beyond the public holidays."""
        from engine import calendars_admin
        calendars_admin.set_day(services, calendar, day.date(), is_open, reason)
        click.echo(f"{calendar} {day.date()} is now {'open' if is_open else 'closed'}")

    @app.cli.command("set-calendar")
    @click.argument("department")
    @click.argument("calendar")
    def set_calendar_command(department, calendar):
        """Choose the business calendar a department's SLA clocks count in."""
        from engine import calendars_admin
        calendars_admin.set_department_calendar(services, department, calendar)
        click.echo(f"{department} counts in {calendar}")

    @app.cli.command("import-lookup")
    @click.argument("kind", type=click.Choice(["order", "shipment"]))
    @click.argument("csv_file", type=click.File("r", encoding="utf-8-sig"))
    @click.option("--key", "key_column", default="order_number", show_default=True,
                  help="The column that identifies a row.")
    def import_lookup_command(kind, csv_file, key_column):
        """Load orders or shipments from a CSV export for the built-in connectors."""
        from engine import connectors
        with services.db.write() as session:
            count = connectors.import_csv(session, kind, csv_file.read(), key_column)
            audit.record(session, "lookup_imported", OPERATOR, kind=kind, rows=count)
        click.echo(f"{count} {kind} rows imported")

    @app.cli.command("purge-attachments")
    def purge_attachments_command():
        """Delete the evidence of cases closed more than three years ago (the retention
        period), and every stored file no attachment refers to any more."""
        from engine import attachments
        report = attachments.purge_expired(services)
        click.echo(f"purged {report.attachments} attachments of {report.cases} cases, "
                   f"deleted {report.files} files")

    @app.cli.command("verify-audit")
    def verify_audit_command():
        """Check every audit hash chain; exit 1 if one is broken, naming where and why."""
        from engine import audit_trail
        with services.db.read() as session:
            result = audit.check_all(session)
        if not result.intact:
            for broken in sorted(result.breaks, key=lambda b: (b.event_id is None,
                                                               b.event_id or 0)):
                where = f"event {broken.event_id}" if broken.event_id else "its end"
                click.echo(f"BROKEN {broken.chain} at {where} ({broken.problem}): "
                           f"{audit_trail.explain(broken)}")
            raise SystemExit(1)
        click.echo(f"all audit chains intact ({result.chains} chains, {result.events} events)")
