"""Console accounts: login, logout, the language switch and role checks (`access`)."""

from __future__ import annotations

from flask import Flask

from agents_console.auth import access
from agents_console.auth.ratelimit import LoginRateLimiter
from agents_console.auth.views import bp
from intake.runtime import Runtime


def init_auth(app: Flask, runtime: Runtime) -> None:
    app.extensions[LoginRateLimiter.EXTENSION] = LoginRateLimiter.for_settings(runtime.settings)
    app.register_blueprint(bp)
    access.init_access(app)
