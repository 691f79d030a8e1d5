"""Error pages for people (in the console's language); the API routes keep their own answers."""

from __future__ import annotations

from flask import Flask, render_template
from flask.typing import ResponseReturnValue
from flask_wtf.csrf import CSRFError
from werkzeug.exceptions import BadRequest, Forbidden, HTTPException

from agents_console.web.security import is_api_request


def _page(template: str, exc: HTTPException) -> ResponseReturnValue:
    if is_api_request():
        return exc
    return render_template(template, error=exc), exc.code or 500


def init_errors(app: Flask) -> None:
    @app.errorhandler(CSRFError)
    def _csrf_refused(exc: CSRFError) -> ResponseReturnValue:
        return _page("errors/csrf.html", exc)

    @app.errorhandler(BadRequest)
    def _bad_request(exc: BadRequest) -> ResponseReturnValue:
        return _page("errors/400.html", exc)

    @app.errorhandler(Forbidden)
    def _forbidden(exc: Forbidden) -> ResponseReturnValue:
        return _page("errors/403.html", exc)
