"""Forms of the accounts feature. Every FlaskForm carries the session's CSRF token."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import HiddenField, PasswordField, StringField
from wtforms.validators import AnyOf, DataRequired, Length

from agents_console.web.i18n import LANGUAGES


class LoginForm(FlaskForm):
    username = StringField(
        _l("Tên đăng nhập"),
        validators=[DataRequired(_l("Vui lòng nhập tên đăng nhập.")), Length(max=80)],
    )
    # Bounded: scrypt over a megabyte-long "password" would be a cheap way to load the server.
    password = PasswordField(
        _l("Mật khẩu"),
        validators=[DataRequired(_l("Vui lòng nhập mật khẩu.")), Length(max=1024)],
    )
    next = HiddenField()


class LanguageForm(FlaskForm):
    lang = HiddenField(validators=[AnyOf(list(LANGUAGES))])
    next = HiddenField()
