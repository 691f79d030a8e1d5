"""Who is signed in, and the role checks every console page uses.

    from agents_console.auth.access import current_user, login_required, require_role

    @bp.get("/console/admin")
    @require_role(Role.ADMIN)
    def admin_home() -> ResponseReturnValue: ...

Anonymous visitors are sent to `/login?next=<this page>`; a signed-in user without one of the
roles gets the 403 page. The session cookie holds the user's id, a random session id (new at
every login), a stamp of the password hash (a password change ends other sessions) and the
time of the last request (8 hours without one ends the session)."""

from __future__ import annotations

import functools
import hashlib
import hmac
import logging
import secrets
from collections.abc import Callable
from datetime import datetime
from typing import Any, TypeVar, cast
from urllib.parse import urlsplit

from flask import Flask, abort, current_app, flash, g, redirect, request, session, url_for
from flask_babel import gettext as _

from agents_console.web.db import db
from agents_console.web.i18n import SESSION_LANGUAGE_KEY
from agents_console.web.nav import nav_for
from intake.clock import utcnow
from intake.models import Role, User

log = logging.getLogger(__name__)

SESSION_KEY = "auth"
_USER_KEY = "hotline_user"
# The last-request time is rewritten at most this often (each rewrite sends a new cookie).
_TOUCH_SECONDS = 60

F = TypeVar("F", bound=Callable[..., Any])


def _password_stamp(user: User) -> str:
    key = str(current_app.config["SECRET_KEY"]).encode()
    return hmac.new(key, user.password_hash.encode(), hashlib.sha256).hexdigest()[:32]


def _reset_session() -> None:
    """Drop everything in the session but the chosen language."""
    lang = session.get(SESSION_LANGUAGE_KEY)
    session.clear()
    if lang is not None:
        session[SESSION_LANGUAGE_KEY] = lang


def login_user(user: User, now: datetime) -> None:
    """Start a new session for `user` (never reusing the previous one: no session fixation)."""
    _reset_session()
    session.permanent = True
    session[SESSION_KEY] = {
        "uid": user.id,
        "sid": secrets.token_urlsafe(18),
        "pw": _password_stamp(user),
        "seen": now.timestamp(),
    }
    g.pop(_USER_KEY, None)


def logout_user() -> None:
    _reset_session()
    setattr(g, _USER_KEY, None)


def _load_user() -> User | None:
    data = session.get(SESSION_KEY)
    if not isinstance(data, dict):
        return None
    now = utcnow().timestamp()
    idle_limit = current_app.permanent_session_lifetime.total_seconds()
    seen = data.get("seen")
    if not isinstance(seen, int | float) or now - seen > idle_limit:
        log.info("console session ended after inactivity (user id %s)", data.get("uid"))
        _reset_session()
        g.session_expired = True
        return None
    uid = data.get("uid")
    user = db().get(User, uid) if isinstance(uid, int) else None
    if (
        user is None
        or not user.active
        or not hmac.compare_digest(str(data.get("pw", "")), _password_stamp(user))
    ):
        log.info("console session refused: user id %s is gone, inactive or re-keyed", uid)
        _reset_session()
        return None
    if now - seen >= _TOUCH_SECONDS:
        session[SESSION_KEY] = {**data, "seen": now}
    return user


def current_user() -> User | None:
    """The signed-in user of this request (loaded once per request), or None."""
    if _USER_KEY not in g:
        setattr(g, _USER_KEY, _load_user())
    user: User | None = g.get(_USER_KEY)
    return user


def session_id() -> str | None:
    """The random id of the current login (changes at every login)."""
    data = session.get(SESSION_KEY)
    return str(data["sid"]) if isinstance(data, dict) and "sid" in data else None


def safe_next(target: str | None) -> str | None:
    """`target` if it is a path on this site (`/console/queue?x=1`), else None.

    Refuses absolute URLs, scheme-relative `//host`, backslashes (browsers read `/\\host` as
    `//host`) and control characters."""
    if not target or not target.startswith("/") or target.startswith("//"):
        return None
    if "\\" in target or any(ord(ch) < 32 or ord(ch) == 127 for ch in target):
        return None
    parts = urlsplit(target)
    if parts.scheme or parts.netloc:
        return None
    return target


def _to_login() -> Any:
    if g.get("session_expired"):
        flash(_("Phiên làm việc đã hết hạn. Vui lòng đăng nhập lại."), "info")
    here = request.full_path if request.query_string else request.path
    return redirect(url_for("auth.login", next=here))


def require_role(*roles: Role) -> Callable[[F], F]:
    """Decorate a view: signed-in users with one of `roles` only (any role if none given)."""
    allowed = frozenset(roles)

    def decorator(view: F) -> F:
        @functools.wraps(view)
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            user = current_user()
            if user is None:
                return _to_login()
            if allowed and user.role not in allowed:
                log.warning(
                    "console access refused: %r (%s) on %s", user.username, user.role, request.path
                )
                abort(403)
            return view(*args, **kwargs)

        return cast(F, wrapper)

    return decorator


def login_required(view: F) -> F:
    """Decorate a view: any signed-in user."""
    return require_role()(view)


def init_access(app: Flask) -> None:
    @app.context_processor
    def _user_context() -> dict[str, Any]:
        user = current_user()
        return {"current_user": user, "nav_items": nav_for(user)}
