"""Forms of the live takeover. Every POST form carries the session's CSRF token."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import TextAreaField
from wtforms.validators import DataRequired, Length


class TakeForm(FlaskForm):
    """Take a waiting conversation, or hand one back to the bot: a button."""


class ReplyForm(FlaskForm):
    text = TextAreaField(
        _l("Trả lời"),
        validators=[DataRequired(_l("Vui lòng nhập nội dung trả lời.")), Length(max=1000)],
    )
