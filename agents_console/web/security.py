"""Session cookies, CSRF protection and the security headers of every response.

CSRF: every POST, PUT, PATCH and DELETE must carry the session's token (the `csrf_token` form
field, or an `X-CSRFToken` header), except the machine-to-machine routes below, which
authenticate with their own signatures or keys: the provider webhooks, the web chat's JSON API
and Open311. A refused request answers 400."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from flask import Flask, Response, request
from flask_wtf.csrf import CSRFProtect

from intake.config import Settings

# A console session ends after this long without a request (also the cookie's lifetime).
SESSION_IDLE_TIMEOUT = timedelta(hours=8)

# Routes called by machines with their own authentication: no CSRF token, JSON errors.
API_PREFIXES = ("/webhooks/", "/chat/api/", "/open311/")

CONTENT_SECURITY_POLICY = (
    "default-src 'self'; img-src 'self' data:; object-src 'none'; base-uri 'self'; "
    "form-action 'self'; frame-ancestors 'none'"
)
HSTS_MAX_AGE = 365 * 24 * 3600


def is_api_request() -> bool:
    return request.path.startswith(API_PREFIXES)


def default_config(settings: Settings) -> dict[str, Any]:
    """Flask settings of the console (`create_app` applies them before its overrides)."""
    https = settings.public_base_url.lower().startswith("https://")
    return {
        "SESSION_COOKIE_NAME": "hotline_session",
        "SESSION_COOKIE_HTTPONLY": True,
        "SESSION_COOKIE_SAMESITE": "Lax",
        "SESSION_COOKIE_SECURE": https,
        "PERMANENT_SESSION_LIFETIME": SESSION_IDLE_TIMEOUT,
        "HOTLINE_HSTS": https,
        # The token lives in the session: it ends with it (logout, login, idle timeout).
        "WTF_CSRF_TIME_LIMIT": int(SESSION_IDLE_TIMEOUT.total_seconds()),
    }


def init_security(app: Flask) -> CSRFProtect:
    # Checked by our own hook below, so that the API prefixes can be left out.
    app.config["WTF_CSRF_CHECK_DEFAULT"] = False
    csrf = CSRFProtect(app)

    @app.before_request
    def _check_csrf() -> None:
        if app.config.get("WTF_CSRF_ENABLED", True) and not is_api_request():
            csrf.protect(apply_exemptions=True)

    @app.after_request
    def _security_headers(response: Response) -> Response:
        headers = response.headers
        headers.setdefault("Content-Security-Policy", CONTENT_SECURITY_POLICY)
        headers.setdefault("X-Content-Type-Options", "nosniff")
        headers.setdefault("X-Frame-Options", "DENY")
        headers.setdefault("Referrer-Policy", "same-origin")
        if app.config["HOTLINE_HSTS"]:
            headers.setdefault("Strict-Transport-Security", f"max-age={HSTS_MAX_AGE}")
        return response

    return csrf
