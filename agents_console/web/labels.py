"""Names the console shows for the core's values, in the console's language: case statuses,
priorities, timeline actors, and the Vietnamese sentences the intake core writes (timeline lines,
refusals) translated when the page is in English.

The core (`intake.messages_vi`, the services) speaks Vietnamese only: it is what residents read.
Each msgid below is the core's sentence with `{name}` written `%(name)s`, so Vietnamese pages
show exactly the core's text and English pages its translation
(`tests/unit/console/test_english.py` checks that the two stay in step)."""

from __future__ import annotations

import re
from typing import Any

from flask import Flask
from flask_babel import gettext
from flask_babel import lazy_gettext as _l

from intake import messages_vi as msg
from intake.models import CaseStatus, Priority
from intake.services import reference_admin

STATUS_LABELS: dict[CaseStatus, Any] = {
    CaseStatus.NEW: _l("Mới tiếp nhận"),
    CaseStatus.ACKNOWLEDGED: _l("Đã tiếp nhận, đang chuyển xử lý"),
    CaseStatus.IN_PROGRESS: _l("Đang xử lý"),
    CaseStatus.RESOLVED: _l("Đã xử lý xong"),
    CaseStatus.CLOSED: _l("Đã đóng"),
    CaseStatus.REJECTED: _l("Không thuộc phạm vi xử lý"),
    CaseStatus.DUPLICATE: _l("Trùng với phản ánh khác"),
    CaseStatus.REOPENED: _l("Đã mở lại để xử lý tiếp"),
}

# `Priority`: lower sorts first, emergencies head every queue.
PRIORITY_LABELS: dict[Priority, Any] = {
    Priority.EMERGENCY: _l("Khẩn cấp"),
    Priority.HIGH: _l("Cao"),
    Priority.NORMAL: _l("Bình thường"),
    Priority.LOW: _l("Thấp"),
}

# Who did something on a case when it was not a console user (`intake.services.cases.Actor`).
ACTOR_LABELS: dict[str, Any] = {
    "system": _l("Hệ thống"),
    "citizen": _l("Người dân"),
    "bot": _l("Trợ lý tự động"),
}


def N_(msgid: str) -> str:
    """Mark a msgid for extraction (`pybabel extract` knows `N_`); translated when shown."""
    return msgid


# (the core's sentence, its msgid), tried in order.
CORE_SENTENCES: list[tuple[str, str]] = [
    # Timeline lines (intake.messages_vi.EVENT_*).
    (msg.EVENT_CREATED, N_("Hệ thống đã tiếp nhận phản ánh.")),
    (msg.EVENT_REGISTRATION_CREATED, N_("Hệ thống đã tiếp nhận hồ sơ đăng ký hỗ trợ.")),
    (msg.EVENT_ACKNOWLEDGED, N_("Tổng đài đã xác nhận phản ánh.")),
    (msg.EVENT_ROUTED, N_("Đã chuyển đến %(agency)s xử lý.")),
    (msg.EVENT_IN_PROGRESS, N_("Đơn vị đang xử lý.")),
    (msg.EVENT_RESOLVED, N_("Đã xử lý xong: %(resolution)s")),
    (msg.EVENT_CLOSED, N_("Phản ánh đã được đóng.")),
    (msg.EVENT_REJECTED, N_("Phản ánh không thuộc phạm vi xử lý: %(reason)s")),
    (
        msg.EVENT_DUPLICATE,
        N_("Phản ánh trùng với phản ánh %(master_code)s, sẽ được xử lý chung."),
    ),
    (msg.EVENT_REOPENED, N_("Phản ánh được mở lại: %(reason)s")),
    (msg.EVENT_EXTENDED, N_("Thời hạn xử lý được gia hạn đến %(due)s. Lý do: %(reason)s")),
    # Refusals of the case actions and of the administration pages.
    (
        msg.ERR_CASE_NOT_FOUND,
        N_("Không tìm thấy phản ánh có mã %(code)s. Vui lòng kiểm tra lại mã."),
    ),
    (
        msg.ERR_TRANSITION,
        N_("Không thể chuyển phản ánh %(code)s từ trạng thái “%(src)s” sang “%(dst)s”."),
    ),
    (msg.ERR_REASON_REQUIRED, N_("Vui lòng ghi rõ lý do.")),
    (msg.ERR_NOTE_REQUIRED, N_("Vui lòng nhập nội dung ghi chú.")),
    (msg.ERR_REPLY_REQUIRED, N_("Vui lòng nhập nội dung trả lời người dân.")),
    (msg.ERR_RESOLUTION_REQUIRED, N_("Vui lòng ghi kết quả xử lý để công khai cho người dân.")),
    (msg.ERR_EXTENSION_NOT_LATER, N_("Thời hạn mới phải sau thời hạn hiện tại (%(due)s).")),
    (
        msg.ERR_MASTER_CASE,
        N_("Không thể đánh dấu phản ánh trùng với chính nó hoặc với một phản ánh trùng khác."),
    ),
    (msg.ERR_AGENCY_UNKNOWN, N_("Không có đơn vị “%(agency)s”.")),
    (
        msg.ERR_USERNAME_CHARS,
        N_("Tên đăng nhập chỉ gồm chữ, số, dấu chấm, gạch dưới hoặc gạch ngang."),
    ),
    (msg.ERR_USERNAME_TAKEN, N_("Tên đăng nhập “%(username)s” đã có người dùng.")),
    (msg.ERR_PASSWORD_SHORT, N_("Mật khẩu cần ít nhất 10 ký tự.")),
    (msg.ERR_OFFICER_NEEDS_AGENCY, N_("Cán bộ đơn vị cần được gắn với một đơn vị (--agency).")),
    (reference_admin.ERR_CODE_TAKEN, N_("Mã “%(code)s” đã được dùng.")),
    (
        reference_admin.ERR_IN_USE,
        N_("Không thể xóa “%(name)s” vì đang được dùng (%(uses)s). Hãy ngừng sử dụng thay vì xóa."),
    ),
    ("Đơn vị đã chọn không tồn tại.", N_("Đơn vị đã chọn không tồn tại.")),
    (
        "Hạn tiếp nhận không được dài hơn hạn giải quyết.",
        N_("Hạn tiếp nhận không được dài hơn hạn giải quyết."),
    ),
    ("Không tìm thấy lĩnh vực này.", N_("Không tìm thấy lĩnh vực này.")),
    ("Không tìm thấy đơn vị này.", N_("Không tìm thấy đơn vị này.")),
    ("Không tìm thấy phường/xã này.", N_("Không tìm thấy phường/xã này.")),
    ("Bạn không thể tự khóa tài khoản của mình.", N_("Bạn không thể tự khóa tài khoản của mình.")),
    ("Không tìm thấy tin nhắn này.", N_("Không tìm thấy tin nhắn này.")),
    ("Không tìm thấy bản ghi cuộc gọi này.", N_("Không tìm thấy bản ghi cuộc gọi này.")),
    ("Không tìm thấy mục này.", N_("Không tìm thấy mục này.")),
    ("Mục này đã được xử lý.", N_("Mục này đã được xử lý.")),
    (
        "Tin nhắn này đã được quản trị viên xử lý.",
        N_("Tin nhắn này đã được quản trị viên xử lý."),
    ),
]

_FIELD = re.compile(r"\{(\w+)\}")


def _pattern(template: str) -> re.Pattern[str]:
    parts = _FIELD.split(template)
    regex = "".join(
        re.escape(part) if i % 2 == 0 else f"(?P<{part}>.*?)" for i, part in enumerate(parts)
    )
    return re.compile(regex + r"\Z", re.DOTALL)


_PATTERNS = [(_pattern(template), msgid) for template, msgid in CORE_SENTENCES]
_STATUS_BY_NAME = {name: status for status, name in msg.STATUS_NAMES.items()}


# What a refused deletion counts (`reference_admin._refuse_if_used`: "2 phản ánh, 1 lĩnh vực").
USE_COUNTS: dict[str, str] = {
    "phản ánh": N_("%(num)d phản ánh"),
    "người dùng": N_("%(num)d người dùng"),
    "phường/xã": N_("%(num)d phường/xã"),
    "lĩnh vực": N_("%(num)d lĩnh vực"),
    "quy tắc phân công": N_("%(num)d quy tắc phân công"),
}


def _uses(text: str) -> str:
    parts = []
    for part in text.split(", "):
        number, _sep, what = part.partition(" ")
        if not number.isdigit() or what not in USE_COUNTS:
            return text
        parts.append(str(gettext(USE_COUNTS[what], num=int(number))))
    return ", ".join(parts)


def status_label(status: CaseStatus | str | None) -> str:
    """A case status by name ('new' or CaseStatus.NEW), in the console's language."""
    try:
        return str(STATUS_LABELS[CaseStatus(str(status))])
    except ValueError:
        return str(status or "—")


def priority_label(priority: int | None) -> str:
    if priority is None:
        return "—"
    try:
        return str(PRIORITY_LABELS[Priority(priority)])
    except ValueError:
        return str(priority)


def actor_label(actor: str | None) -> str:
    return str(ACTOR_LABELS.get(actor or "", actor or "—"))


def core_text(text: str | None) -> str:
    """One of the core's Vietnamese sentences in the console's language (unchanged when it is
    not one of them, e.g. text an agent or a resident wrote)."""
    if not text:
        return ""
    for pattern, msgid in _PATTERNS:
        match = pattern.match(text)
        if match is None:
            continue
        values: dict[str, str] = match.groupdict()
        for key in ("src", "dst"):
            if key in values and values[key] in _STATUS_BY_NAME:
                values[key] = status_label(_STATUS_BY_NAME[values[key]])
        if "uses" in values:
            values["uses"] = _uses(values["uses"])
        return str(gettext(msgid, **values))
    return text


def init_labels(app: Flask) -> None:
    app.jinja_env.globals.update(
        status_name=status_label,
        priority_name=priority_label,
        actor_name=actor_label,
        core_text=core_text,
    )
