"""Forms of the registrations feature: the list's filters (GET, no CSRF) and a decision."""

from __future__ import annotations

from typing import Any

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import (
    BooleanField,
    Form,
    IntegerField,
    SelectChoice,
    SelectField,
    StringField,
    TextAreaField,
)
from wtforms.validators import DataRequired, Length, Optional

from intake.models import VerificationStatus, Verifier
from intake.services.verification import DECISIONS

VERIFIER_LABELS: dict[Verifier, Any] = {
    Verifier.FRONT: _l("Mặt trận Tổ quốc"),
    Verifier.LABOUR: _l("Lao động - TB&XH"),
    Verifier.WARD: _l("UBND phường/xã"),
}
STATUS_LABELS: dict[VerificationStatus, Any] = {
    VerificationStatus.PENDING: _l("Chờ xác minh"),
    VerificationStatus.APPROVED: _l("Đồng ý"),
    VerificationStatus.REJECTED: _l("Từ chối"),
    VerificationStatus.NEEDS_INFO: _l("Cần bổ sung"),
}


def _int_or_none(value: Any) -> int | None:
    if value in (None, ""):
        return None
    return int(value)


def _str_or_none(value: Any) -> str | None:
    return None if value in (None, "") else str(value)


class FilterForm(Form):
    """The list's filters, read from the query string; an invalid value is ignored."""

    programme = SelectField(_l("Chương trình"), coerce=_int_or_none, validate_choice=False)
    ward = SelectField(_l("Phường/xã"), coerce=_int_or_none, validate_choice=False)
    verifier = SelectField(_l("Bên xác minh"), coerce=_str_or_none)
    status = SelectField(_l("Trạng thái xác minh"), coerce=_str_or_none)
    dup_phone = BooleanField(_l("Trùng số điện thoại"))
    dup_household = BooleanField(_l("Trùng hộ gia đình"))
    q = StringField(_l("Tên hoặc mã hồ sơ"), validators=[Optional(), Length(max=200)])
    cccd = StringField(_l("Số CCCD"), validators=[Optional(), Length(max=20)])
    before = IntegerField(validators=[Optional()])

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        everything = SelectChoice("", _l("Tất cả"))
        self.verifier.choices = [
            everything,
            *(SelectChoice(v.value, VERIFIER_LABELS[v]) for v in Verifier),
        ]
        self.status.choices = [
            everything,
            *(SelectChoice(s.value, STATUS_LABELS[s]) for s in VerificationStatus),
        ]


class DecisionForm(FlaskForm):
    verifier = SelectField(
        _l("Bên xác minh"), choices=[SelectChoice(v.value, VERIFIER_LABELS[v]) for v in Verifier]
    )
    status = SelectField(
        _l("Quyết định"),
        choices=[SelectChoice(s.value, STATUS_LABELS[s]) for s in DECISIONS],
        validators=[DataRequired(_l("Vui lòng chọn một quyết định."))],
    )
    note = TextAreaField(_l("Ghi chú"), validators=[Optional(), Length(max=2000)])
