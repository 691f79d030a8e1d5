"""The Flask application factory: console, webhooks, web chat, public pages."""

from __future__ import annotations

import secrets
from typing import Any

from flask import Flask, jsonify
from sqlalchemy import text

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
    )
    app.json.ensure_ascii = False  # type: ignore[attr-defined]
    if overrides:
        app.config.update(overrides)
    app.extensions["hotline.runtime"] = runtime
    app.register_blueprint(channels_bp)

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
