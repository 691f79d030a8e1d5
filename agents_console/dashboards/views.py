"""The dashboards page and one CSV per table."""

from __future__ import annotations

import csv
import io
from collections.abc import Callable
from datetime import date
from typing import Any

from flask import Blueprint, Response, abort, render_template, request
from flask.typing import ResponseReturnValue
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from sqlalchemy import select
from sqlalchemy.orm import Session

from agents_console.auth.access import require_role
from agents_console.dashboards.chart import stacked_days
from agents_console.dashboards.forms import RangeForm
from agents_console.web.db import db
from intake.clock import local_date, utcnow
from intake.models import Category, Role
from intake.services import reports
from intake.services.reports import DateRange

bp = Blueprint(
    "dashboards",
    __name__,
    url_prefix="/console/dashboards",
    template_folder="templates",
    static_folder="static",
)
SUPERVISION = (Role.SUPERVISOR, Role.ADMIN)

SLA_LABELS: dict[str, Any] = {
    "on_time": _l("Đúng hạn"),
    "on_time_with_extension": _l("Đúng hạn (có gia hạn)"),
    "late": _l("Trễ hạn"),
    "late_with_extension": _l("Trễ hạn dù đã gia hạn"),
    "open": _l("Chưa xong"),
}
CHANNEL_LABELS: dict[str, Any] = {
    "voice": _l("Điện thoại"),
    "sms": "SMS",
    "zalo": "Zalo",
    "messenger": "Messenger",
    "telegram": "Telegram",
    "web": _l("Trang web"),
    "open311": "Open311",
    "console": _l("Tổng đài viên nhập"),
}
CALL_LABELS: dict[str, Any] = {
    "case_created": _l("Mở phản ánh"),
    "registered": _l("Đăng ký hỗ trợ"),
    "status_told": _l("Tra cứu tình trạng"),
    "agent": _l("Chuyển tổng đài viên"),
    "voicemail": _l("Để lại lời nhắn"),
    "emergency": _l("Khẩn cấp"),
    "hung_up": _l("Gác máy giữa chừng"),
    "error": _l("Lỗi"),
    "-": _l("Đang diễn ra"),
}


def _period() -> tuple[RangeForm, DateRange, list[Any]]:
    form = RangeForm(request.args)
    first, last, errors = form.period(local_date(utcnow()))
    form.start.data, form.end.data = first, last
    return form, DateRange(first, last), errors


def _category_labels(session: Session) -> dict[str, str]:
    labels = dict(
        session.execute(select(Category.code, Category.name).order_by(Category.id)).tuples().all()
    )
    labels[reports.NO_CATEGORY] = _("Không phân loại")
    return labels


def _share(count: int, total: int) -> str:
    return f"{100 * count / total:.1f}%" if total else "-"


@bp.get("")
@require_role(*SUPERVISION)
def index() -> ResponseReturnValue:
    session = db()
    form, period, errors = _period()
    figures = reports.case_figures(session, period)
    per_day = figures.per_day
    labels = _category_labels(session)
    totals: dict[str, int] = {}
    for row in per_day:
        totals[row.category] = totals.get(row.category, 0) + row.count
    sla = figures.sla
    calls = reports.call_outcomes(session, period)
    total_cases = sum(totals.values())
    return render_template(
        "dashboards/index.html",
        form=form,
        errors=errors,
        period=period,
        chart=stacked_days(per_day, period.days, labels),
        categories=sorted(totals.items(), key=lambda kv: (-kv[1], kv[0])),
        category_labels=labels,
        total_cases=total_cases,
        sla=sla,
        sla_total=sum(r.resolve for r in sla),
        channels=figures.channels,
        wards=figures.wards,
        calls=calls,
        calls_total=sum(c.count for c in calls),
        share=_share,
        sla_labels=SLA_LABELS,
        channel_labels=CHANNEL_LABELS,
        call_labels=CALL_LABELS,
        csv_args={"start": period.first.isoformat(), "end": period.last.isoformat()},
    )


def _rows_per_day(session: Session, period: DateRange) -> list[list[Any]]:
    labels = _category_labels(session)
    return [
        [r.day.isoformat(), r.category, labels.get(r.category, r.category), r.count]
        for r in reports.cases_per_day(session, period)
    ]


def _rows_sla(session: Session, period: DateRange) -> list[list[Any]]:
    return [
        [r.outcome, str(SLA_LABELS[r.outcome]), r.acknowledge, r.resolve]
        for r in reports.sla_compliance(session, period)
    ]


def _counts(
    rows: Callable[[Session, DateRange], list[reports.Count]], names: dict[str, Any]
) -> Callable[[Session, DateRange], list[list[Any]]]:
    def build(session: Session, period: DateRange) -> list[list[Any]]:
        return [[r.key, str(names.get(r.key, r.key)), r.count] for r in rows(session, period)]

    return build


def _rows_wards(session: Session, period: DateRange) -> list[list[Any]]:
    return [[r.key, r.count] for r in reports.top_wards(session, period)]


TABLES: dict[str, tuple[Callable[[], list[str]], Callable[[Session, DateRange], list[list[Any]]]]]
TABLES = {
    "cases-per-day": (
        lambda: [_("Ngày"), _("Mã lĩnh vực"), _("Lĩnh vực"), _("Số vụ việc")],
        _rows_per_day,
    ),
    "sla": (
        lambda: [_("Kết quả"), _("Diễn giải"), _("Tiếp nhận"), _("Giải quyết")],
        _rows_sla,
    ),
    "channels": (
        lambda: [_("Kênh"), _("Tên kênh"), _("Số vụ việc")],
        _counts(reports.channel_mix, CHANNEL_LABELS),
    ),
    "wards": (lambda: [_("Phường/xã"), _("Số vụ việc")], _rows_wards),
    "calls": (
        lambda: [_("Kết quả cuộc gọi"), _("Diễn giải"), _("Số cuộc gọi")],
        _counts(reports.call_outcomes, CALL_LABELS),
    ),
}


@bp.get("/<name>.csv")
@require_role(*SUPERVISION)
def table_csv(name: str) -> ResponseReturnValue:
    if name not in TABLES:
        abort(404)
    _form, period, _errors = _period()
    header, build = TABLES[name]
    buffer = io.StringIO()
    buffer.write("\ufeff")  # Excel reads UTF-8 (the accents) only with a BOM
    writer = csv.writer(buffer)
    writer.writerow(header())
    writer.writerows(build(db(), period))
    filename = f"{name}-{_stamp(period.first)}-{_stamp(period.last)}.csv"
    return Response(
        buffer.getvalue().encode("utf-8"),
        content_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": f'attachment; filename="{filename}"'},
    )


def _stamp(day: date) -> str:
    return day.strftime("%Y%m%d")
