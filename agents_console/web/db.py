"""One database session per console request, committed once at the outer layer.

Views call `db()` for the request's session and never commit: the session is committed after
the view when the response is a success or a redirect (status below 400), rolled back
otherwise, and closed when the request ends."""

from __future__ import annotations

from flask import Flask, Response, current_app, g
from sqlalchemy.orm import Session

from intake.runtime import Runtime

_KEY = "hotline_db_session"


def db() -> Session:
    """The session of the current request (opened on first use)."""
    session: Session | None = g.get(_KEY)
    if session is None:
        runtime: Runtime = current_app.extensions["hotline.runtime"]
        session = runtime.sessions()
        setattr(g, _KEY, session)
    return session


def _commit(response: Response) -> Response:
    session: Session | None = g.get(_KEY)
    if session is not None:
        if response.status_code < 400:
            session.commit()
        else:
            session.rollback()
    return response


def _close(_exc: BaseException | None) -> None:
    session: Session | None = g.pop(_KEY, None)
    if session is not None:
        session.rollback()  # a no-op after the commit; undoes a request that raised
        session.close()


def init_db(app: Flask) -> None:
    app.after_request(_commit)
    app.teardown_request(_close)
