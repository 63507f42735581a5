"""Flask application factory: thin routes over the engine's services."""
from __future__ import annotations

import os
import secrets
from pathlib import Path

from flask import Flask, jsonify
from flask_wtf.csrf import CSRFProtect

from engine.services import Services

from . import template_cache
from .json_provider import OrjsonProvider

csrf = CSRFProtect()


def _secret_key(instance_path: Path) -> str:
    """A per-installation key kept in the instance folder, never in the repository."""
    key_file = instance_path / "secret_key"
    if not key_file.exists():
        key_file.write_text(secrets.token_hex(32))
        key_file.chmod(0o600)
    return key_file.read_text().strip()


def create_app(config: dict | None = None) -> Flask:
    app = Flask(__name__, instance_path=os.environ.get("COMPLAINTS_INSTANCE") or None)
    app.jinja_options = {**app.jinja_options, "bytecode_cache": template_cache.SHARED}
    instance = Path(app.instance_path)
    instance.mkdir(parents=True, exist_ok=True)
    app.config.update(
        DATABASE_URL=os.environ.get("COMPLAINTS_DATABASE_URL")
        or f"sqlite:///{instance / 'complaints.db'}",
        SESSION_COOKIE_HTTPONLY=True,
        SESSION_COOKIE_SAMESITE="Lax",
        SESSION_COOKIE_SECURE=os.environ.get("COMPLAINTS_SECURE_COOKIES") == "1",
        # Room for a submission of evidence files (5 of 20 MiB) and the form around them.
        MAX_CONTENT_LENGTH=110 * 1024 * 1024,
        WTF_CSRF_TIME_LIMIT=None,
        LOGIN_ATTEMPTS_PER_MINUTE=10,
    )
    if config:
        app.config.update(config)
    if not app.config.get("SECRET_KEY"):
        app.config["SECRET_KEY"] = os.environ.get("SECRET_KEY") or _secret_key(instance)

    app.json = OrjsonProvider(app)
    app.json.sort_keys = False  # keep the documented field order, and skip a sort per response
    services = app.config.get("SERVICES") or Services.create(app.config["DATABASE_URL"])
    app.extensions["services"] = services
    if services.attachment_dir is None:
        services.attachment_dir = Path(os.environ.get("COMPLAINTS_ATTACHMENT_DIR")
                                       or instance / "attachments")

    from . import (
        accounts, admin, api, attachments, audit, auth, cache_policy, cases, cli, errors, i18n, inbox,
        intake, language, ledger, modeler, processes, proxy, public, rate_limit, request_limits,
        settings, start, statistics, support_metrics, templating,
    )

    proxy.init_app(app)
    rate_limit.init_app(app)
    request_limits.init_app(app)  # before the CSRF check, which reads the form
    csrf.init_app(app)
    i18n.init_app(app)
    templating.init_app(app)
    cache_policy.init_app(app)
    errors.init_app(app)

    app.register_blueprint(language.bp)
    app.register_blueprint(auth.bp)
    app.register_blueprint(inbox.bp)
    app.register_blueprint(cases.bp)
    app.register_blueprint(intake.bp)
    app.register_blueprint(start.bp)
    app.register_blueprint(public.bp)
    app.register_blueprint(attachments.bp)
    app.register_blueprint(admin.bp)
    app.register_blueprint(accounts.bp)
    app.register_blueprint(settings.bp)
    app.register_blueprint(processes.bp)
    app.register_blueprint(modeler.bp)
    app.register_blueprint(statistics.bp)
    app.register_blueprint(support_metrics.bp)
    app.register_blueprint(ledger.bp)
    app.register_blueprint(audit.bp)
    app.register_blueprint(api.bp)
    csrf.exempt(api.bp)
    cli.register(app)

    @app.get("/healthz")
    def healthz():
        try:
            services.db.ping()
        except Exception:  # noqa: BLE001 - any database failure means unhealthy
            return jsonify(status="unavailable", database="unreachable"), 503
        return jsonify(status="ok", database="ok")

    @app.after_request
    def security_headers(response):
        response.headers.setdefault("X-Content-Type-Options", "nosniff")
        response.headers.setdefault("X-Frame-Options", "DENY")
        response.headers.setdefault("Referrer-Policy", "same-origin")
        response.headers.setdefault(
            "Content-Security-Policy",
            "default-src 'self'; style-src 'self'; img-src 'self' data:; frame-ancestors 'none'",
        )
        return response

    return app
