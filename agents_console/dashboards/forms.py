"""The dashboards' date range (GET, no CSRF)."""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

from flask_babel import lazy_gettext as _l
from wtforms import DateField, Form
from wtforms.validators import Optional

DEFAULT_DAYS = 30
MAX_DAYS = 3 * 366


class RangeForm(Form):
    start = DateField(_l("Từ ngày"), validators=[Optional()])
    end = DateField(_l("Đến ngày"), validators=[Optional()])

    def period(self, today: date) -> tuple[date, date, list[Any]]:
        """The chosen days (first, last), the last 30 days by default, and any complaints."""
        self.validate()
        errors: list[Any] = []
        if self.start.errors or self.end.errors:
            errors.append(_l("Ngày không hợp lệ; dùng dạng năm-tháng-ngày."))
        end = self.end.data if self.end.data and not self.end.errors else today
        start = self.start.data if self.start.data and not self.start.errors else None
        if start is None:
            start = end - timedelta(days=DEFAULT_DAYS - 1)
        if start > end:
            errors.append(_l("Ngày bắt đầu phải trước ngày kết thúc."))
            start, end = end, start
        if (end - start).days + 1 > MAX_DAYS:
            errors.append(_l("Khoảng thời gian dài nhất là 3 năm."))
            start = end - timedelta(days=MAX_DAYS - 1)
        return start, end, errors
