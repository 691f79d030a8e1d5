"""What every console page stands on: the request's database session, CSRF, secure cookies,
security headers, languages, the names of the core's values, the navigation and the error
pages."""

from __future__ import annotations

from typing import Any

from flask import Flask

from agents_console.web import db, errors, i18n, labels, nav, security
from intake.config import Settings


def default_config(settings: Settings) -> dict[str, Any]:
    """The console's Flask settings; `create_app` applies them before its overrides."""
    return {**security.default_config(settings), **i18n.default_config()}


def init_web(app: Flask) -> None:
    """Install the console's foundation on `app` (called once by `create_app`)."""
    security.init_security(app)
    db.init_db(app)
    i18n.init_i18n(app)
    nav.init_nav(app)
    labels.init_labels(app)
    errors.init_errors(app)
