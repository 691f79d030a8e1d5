"""Login, logout, the language switch and the console's home."""

from __future__ import annotations

import logging

from flask import (
    Blueprint,
    current_app,
    flash,
    redirect,
    render_template,
    request,
    session,
    url_for,
)
from flask.typing import ResponseReturnValue
from flask_babel import gettext as _

from agents_console.auth.access import (
    current_user,
    login_required,
    login_user,
    logout_user,
    safe_next,
)
from agents_console.auth.forms import LanguageForm, LoginForm
from agents_console.auth.ratelimit import WINDOW_SECONDS, LoginRateLimiter
from agents_console.web.db import db
from agents_console.web.i18n import SESSION_LANGUAGE_KEY
from agents_console.web.nav import nav_for
from intake.clock import utcnow
from intake.services.users import authenticate

log = logging.getLogger(__name__)

bp = Blueprint("auth", __name__, template_folder="templates")


def _limiter() -> LoginRateLimiter:
    limiter: LoginRateLimiter = current_app.extensions[LoginRateLimiter.EXTENSION]
    return limiter


@bp.route("/login", methods=["GET", "POST"])
def login() -> ResponseReturnValue:
    """The login form. Unknown user, inactive user and wrong password get the same answer."""
    next_url = safe_next(request.values.get("next"))
    if request.method == "GET" and current_user() is not None:
        return redirect(next_url or url_for("auth.home"))
    form = LoginForm()
    error: str | None = None
    status = 200
    if form.validate_on_submit():
        username = str(form.username.data).strip().lower()
        address = request.remote_addr or "-"
        limiter = _limiter()
        if limiter.blocked(username, address):
            log.warning("console login refused, too many failures: %r from %s", username, address)
            error = _("Bạn đã nhập sai quá nhiều lần. Vui lòng thử lại sau 15 phút.")
            status = 429
        else:
            user = authenticate(db(), username, str(form.password.data))
            if user is None:
                limiter.failed(username, address)
                log.warning("console login failed: %r from %s", username, address)
                error = _("Tên đăng nhập hoặc mật khẩu không đúng.")
            else:
                limiter.succeeded(username, address)
                login_user(user, utcnow())
                log.info("console login: %r (%s) from %s", user.username, user.role, address)
                return redirect(next_url or url_for("auth.home"))
    form.next.data = next_url or ""
    body = render_template("auth/login.html", form=form, error=error)
    headers = {"Retry-After": str(WINDOW_SECONDS)} if status == 429 else {}
    return body, status, headers


@bp.post("/logout")
def logout() -> ResponseReturnValue:
    """End the session (a POST: the CSRF check keeps other sites from logging agents out)."""
    user = current_user()
    if user is not None:
        log.info("console logout: %r", user.username)
    logout_user()
    flash(_("Bạn đã đăng xuất."), "info")
    return redirect(url_for("auth.login"))


@bp.post("/language")
def language() -> ResponseReturnValue:
    form = LanguageForm()
    if form.validate_on_submit():
        session[SESSION_LANGUAGE_KEY] = form.lang.data
    return redirect(safe_next(form.next.data) or url_for("auth.home"))


@bp.get("/console/")
@login_required
def home() -> ResponseReturnValue:
    """The console's front door: the first page the user's role may open."""
    items = nav_for(current_user())
    if items:
        return redirect(items[0].path)
    return render_template("auth/home.html")
