"""Forms of the administration pages. Messages are Vietnamese (translated when shown)."""

from __future__ import annotations

from typing import Any

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import (
    BooleanField,
    IntegerField,
    PasswordField,
    SelectChoice,
    SelectField,
    StringField,
)
from wtforms.validators import DataRequired, InputRequired, Length, NumberRange, Optional, Regexp

from intake.models import AgencyKind, Role

CODE = Regexp(r"^[a-z0-9_-]+$", message=_l("Mã chỉ gồm chữ thường không dấu, số, “-” và “_”."))
REQUIRED = DataRequired(_l("Vui lòng điền mục này."))


AGENCY_KIND_LABELS: dict[AgencyKind, Any] = {
    AgencyKind.WARD_COMMITTEE: _l("UBND phường/xã"),
    AgencyKind.ENVIRONMENT: _l("Môi trường đô thị"),
    AgencyKind.POLICE: _l("Công an"),
    AgencyKind.POWER: _l("Điện lực"),
    AgencyKind.WATER: _l("Cấp nước"),
    AgencyKind.LABOUR: _l("Lao động - TB&XH"),
    AgencyKind.FRONT: _l("Mặt trận Tổ quốc"),
    AgencyKind.HEALTH: _l("Y tế"),
    AgencyKind.EDUCATION: _l("Giáo dục"),
    AgencyKind.TRANSPORT: _l("Giao thông vận tải"),
    AgencyKind.CONSTRUCTION: _l("Xây dựng"),
    AgencyKind.OPERATIONS: _l("Điều hành đô thị"),
    AgencyKind.OTHER: _l("Khác"),
}


def agency_kind_label(kind: str) -> str:
    try:
        return str(AGENCY_KIND_LABELS[AgencyKind(kind)])
    except ValueError:
        return str(kind)


def options(pairs: list[tuple[str, str]]) -> list[SelectChoice]:
    """Select choices (wtforms 3.3 deprecates plain tuples)."""
    return [SelectChoice(value, label) for value, label in pairs]


class HoursField(IntegerField):
    """A whole number of hours; a non-number gets a Vietnamese message, not wtforms' English."""

    def process_formdata(self, valuelist: list[str]) -> None:
        if not valuelist or not valuelist[0].strip():
            self.data = None
            return
        try:
            self.data = int(valuelist[0].strip())
        except ValueError as exc:
            self.data = None
            raise ValueError(str(_l("Vui lòng nhập số giờ (số nguyên)."))) from exc


def _optional_int(value: object) -> int | None:
    return int(str(value)) if value not in (None, "", "None") else None


class CategoryForm(FlaskForm):
    code = StringField(_l("Mã"), validators=[REQUIRED, Length(max=40), CODE])
    name = StringField(_l("Tên lĩnh vực"), validators=[REQUIRED, Length(max=200)])
    description = StringField(_l("Mô tả"), validators=[Optional(), Length(max=2000)])
    default_agency_id = SelectField(_l("Đơn vị xử lý mặc định"), coerce=_optional_int)
    routes_to_ward = BooleanField(_l("Chuyển cho phường/xã nơi xảy ra"))
    ack_hours = HoursField(
        _l("Hạn tiếp nhận (giờ)"),
        validators=[
            InputRequired(_l("Vui lòng nhập số giờ (số nguyên).")),
            NumberRange(1, 24 * 30, _l("Số giờ phải từ %(min)s đến %(max)s.")),
        ],
    )
    resolve_hours = HoursField(
        _l("Hạn giải quyết (giờ)"),
        validators=[
            InputRequired(_l("Vui lòng nhập số giờ (số nguyên).")),
            NumberRange(1, 24 * 365, _l("Số giờ phải từ %(min)s đến %(max)s.")),
        ],
    )
    active = BooleanField(_l("Đang dùng"), default=True)


class AgencyForm(FlaskForm):
    code = StringField(_l("Mã"), validators=[REQUIRED, Length(max=40), CODE])
    name = StringField(_l("Tên đơn vị"), validators=[REQUIRED, Length(max=200)])
    kind = SelectField(
        _l("Loại"),
        choices=options([(k.value, AGENCY_KIND_LABELS[k]) for k in AgencyKind]),
        validators=[REQUIRED],
    )
    phone = StringField(
        _l("Điện thoại"),
        validators=[
            Optional(),
            Length(max=20),
            Regexp(r"^[0-9 +().-]+$", message=_l("Số điện thoại chỉ gồm chữ số.")),
        ],
    )
    email = StringField(
        _l("Thư điện tử"),
        validators=[
            Optional(),
            Length(max=200),
            Regexp(r"^[^@\s]+@[^@\s]+\.[^@\s]+$", message=_l("Địa chỉ thư điện tử không hợp lệ.")),
        ],
    )
    active = BooleanField(_l("Đang hoạt động"), default=True)


class WardForm(FlaskForm):
    code = StringField(_l("Mã"), validators=[REQUIRED, Length(max=40), CODE])
    name = StringField(_l("Tên phường/xã"), validators=[REQUIRED, Length(max=120)])
    district = StringField(_l("Quận/huyện"), validators=[REQUIRED, Length(max=120)])
    agency_id = SelectField(_l("UBND / đơn vị phụ trách"), coerce=_optional_int)


class UserCreateForm(FlaskForm):
    username = StringField(_l("Tên đăng nhập"), validators=[REQUIRED, Length(max=80)])
    full_name = StringField(_l("Họ và tên"), validators=[REQUIRED, Length(max=200)])
    role = SelectField(_l("Vai trò"), choices=[], validators=[REQUIRED])
    agency_id = SelectField(_l("Đơn vị"), coerce=_optional_int)
    password = PasswordField(
        _l("Mật khẩu"),
        validators=[REQUIRED, Length(10, 1024, _l("Mật khẩu cần ít nhất 10 ký tự."))],
    )


class UserEditForm(FlaskForm):
    full_name = StringField(_l("Họ và tên"), validators=[REQUIRED, Length(max=200)])
    role = SelectField(_l("Vai trò"), choices=[], validators=[REQUIRED])
    agency_id = SelectField(_l("Đơn vị"), coerce=_optional_int)


class PasswordResetForm(FlaskForm):
    password = PasswordField(
        _l("Mật khẩu mới"),
        validators=[REQUIRED, Length(10, 1024, _l("Mật khẩu cần ít nhất 10 ký tự."))],
    )


ROLE_VALUES = [r.value for r in Role]
