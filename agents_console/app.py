"""The Flask application factory: console, webhooks, web chat, public pages."""

from __future__ import annotations

import secrets
from typing import Any

from flask import Flask, jsonify
from sqlalchemy import text

from agents_console.admin.views import bp as admin_bp
from agents_console.auth import init_auth
from agents_console.cases.views import bp as cases_bp
from agents_console.conversations.views import bp as conversations_bp
from agents_console.dashboards.views import bp as dashboards_bp
from agents_console.public.views import bp as public_bp
from agents_console.registrations.views import bp as registrations_bp
from agents_console.training.views import bp as training_bp
from agents_console.web import default_config, init_web
from intake.channels.webhooks import bp as channels_bp
from intake.migrate import is_up_to_date
from intake.runtime import Runtime

MAX_BODY_BYTES = 2 * 1024 * 1024


def create_app(runtime: Runtime, overrides: dict[str, Any] | None = None) -> Flask:
    """Build the web app around an already-wired runtime (settings, database, senders)."""
    app = Flask(__name__)
    app.config.update(
        SECRET_KEY=runtime.settings.secret_key or secrets.token_hex(32),
        MAX_CONTENT_LENGTH=MAX_BODY_BYTES,
        JSON_AS_ASCII=False,
        **default_config(runtime.settings),
    )
    app.json.ensure_ascii = False  # type: ignore[attr-defined]
    if overrides:
        app.config.update(overrides)
    app.extensions["hotline.runtime"] = runtime
    # Console foundation first: cookies, CSRF, headers, languages, error pages; then accounts.
    init_web(app)
    init_auth(app, runtime)
    # Providers sign their requests; the web chat API has its own session tokens.
    app.extensions["csrf"].exempt(channels_bp)
    app.register_blueprint(channels_bp)
    app.register_blueprint(public_bp)
    app.register_blueprint(admin_bp)
    app.register_blueprint(training_bp)
    app.register_blueprint(registrations_bp)
    app.register_blueprint(dashboards_bp)
    app.register_blueprint(cases_bp)
    app.register_blueprint(conversations_bp)

    @app.get("/healthz")
    def healthz() -> Any:
        """Liveness and readiness: the database answers and its schema is current."""
        checks: dict[str, str] = {}
        healthy = True
        try:
            with runtime.engine.connect() as conn:
                conn.execute(text("SELECT 1"))
            checks["database"] = "ok" if is_up_to_date(runtime.engine) else "needs migration"
            healthy = checks["database"] == "ok"
        except Exception as exc:
            checks["database"] = f"error: {type(exc).__name__}"
            healthy = False
        settings = runtime.settings
        checks["broker"] = "embedded" if settings.uses_embedded_broker else "redis"
        checks["bot"] = settings.bot_backend
        checks["asr"] = "vosk" if settings.vosk_model_path else "keypad-only (no Vosk model)"
        body = {"status": "ok" if healthy else "unhealthy", "checks": checks}
        return jsonify(body), 200 if healthy else 503

    return app
