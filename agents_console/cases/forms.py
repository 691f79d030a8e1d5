"""Forms of the queue and the case page. Every POST form carries the session's CSRF token."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import DateTimeLocalField, SelectChoice, SelectField, StringField, TextAreaField
from wtforms.validators import DataRequired, Length, Optional

from agents_console.web.labels import STATUS_LABELS
from intake.models import CaseStatus, Channel
from intake.services.queue import Scope, SlaState

_REQUIRED = _l("Vui lòng điền mục này.")


def options(pairs: Iterable[tuple[str, Any]]) -> list[SelectChoice]:
    """(value, label) pairs as the select options WTForms wants."""
    return [SelectChoice(value, label) for value, label in pairs]


class QueueFilterForm(FlaskForm):
    """The queue's filters (a GET form: nothing to protect)."""

    class Meta:
        csrf = False

    status = SelectField(
        _l("Trạng thái"),
        choices=options(
            [("", _l("Đang mở")), (Scope.ALL.value, _l("Tất cả"))]
            + [(s.value, STATUS_LABELS[s]) for s in CaseStatus]
        ),
        default="",
        validate_choice=False,
    )
    category = SelectField(_l("Lĩnh vực"), choices=options([("", "—")]), validate_choice=False)
    channel = SelectField(
        _l("Kênh"), choices=options([("", "—")] + [(c.value, c.value) for c in Channel]), default=""
    )
    ward = SelectField(_l("Phường/xã"), choices=options([("", "—")]), validate_choice=False)
    agency = SelectField(_l("Đơn vị"), choices=options([("", "—")]), validate_choice=False)
    assignee = SelectField(
        _l("Người xử lý"),
        choices=options([("", "—"), ("me", _l("Của tôi")), ("none", _l("Chưa giao"))]),
        validate_choice=False,
    )
    sla = SelectField(
        _l("Thời hạn"),
        choices=options(
            [
                ("", "—"),
                (SlaState.ON_TIME.value, _l("Đúng hạn")),
                (SlaState.ACK_OVERDUE.value, _l("Quá hạn xác nhận")),
                (SlaState.RESOLVE_OVERDUE.value, _l("Quá hạn xử lý")),
                (SlaState.DUE_SOON.value, _l("Đến hạn trong 1 giờ")),
            ]
        ),
        default="",
    )
    q = StringField(_l("Tìm mã hoặc nội dung"), validators=[Optional(), Length(max=200)])


class ActionForm(FlaskForm):
    """A button with nothing to fill in (acknowledge)."""


class AssignForm(FlaskForm):
    assignee = SelectField(_l("Giao cho"), choices=options([]), validate_choice=False)


class RouteForm(FlaskForm):
    agency = SelectField(_l("Chuyển đến đơn vị"), choices=options([]), validate_choice=False)
    reason = StringField(_l("Lý do"), validators=[Optional(), Length(max=500)])


class StatusForm(FlaskForm):
    status = SelectField(_l("Trạng thái mới"), choices=options([]), validate_choice=False)
    reason = StringField(_l("Lý do (khi từ chối)"), validators=[Optional(), Length(max=1000)])
    resolution = TextAreaField(
        _l("Kết quả xử lý (khi đã xử lý xong)"), validators=[Optional(), Length(max=4000)]
    )


class NoteForm(FlaskForm):
    text = TextAreaField(
        _l("Ghi chú nội bộ"), validators=[DataRequired(_REQUIRED), Length(max=4000)]
    )


class ReplyForm(FlaskForm):
    text = TextAreaField(
        _l("Trả lời người dân"), validators=[DataRequired(_REQUIRED), Length(max=1000)]
    )


class ExtendForm(FlaskForm):
    due = DateTimeLocalField(
        _l("Thời hạn mới"), format="%Y-%m-%dT%H:%M", validators=[DataRequired(_REQUIRED)]
    )
    reason = StringField(
        _l("Lý do gia hạn"), validators=[DataRequired(_REQUIRED), Length(max=1000)]
    )


class DuplicateForm(FlaskForm):
    master = StringField(
        _l("Mã phản ánh gốc"), validators=[DataRequired(_REQUIRED), Length(max=40)]
    )


class ReopenForm(FlaskForm):
    reason = StringField(_l("Lý do mở lại"), validators=[DataRequired(_REQUIRED), Length(max=1000)])
