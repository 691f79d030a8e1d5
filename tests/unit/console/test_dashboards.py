"""The dashboards: who may see them, and their numbers on a small data set known by heart."""

from __future__ import annotations

import csv
import io
from datetime import date, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import select

from intake.clock import VN_TZ
from intake.db import unit_of_work
from intake.models import (
    CallOutcome,
    CallRecord,
    Case,
    CaseExtension,
    CaseKind,
    Category,
    Channel,
    Role,
    Ward,
)
from intake.runtime import Runtime
from intake.seed import seed_demo
from intake.services import reports
from intake.services.users import create_user
from tests.conftest import NOW
from tests.unit.console.conftest import PASSWORD, csrf_token, login

PAGE = "/console/dashboards"
RANGE = "start=2026-11-20&end=2026-11-26"
HOUR = timedelta(hours=1)


def local(day: int, hour: int, minute: int = 0) -> datetime:
    return datetime(2026, 11, day, hour, minute, tzinfo=VN_TZ)


@pytest.fixture
def data(runtime: Runtime) -> None:
    """Six cases and four calls in 20-26/11 (Huế days), and one of each outside it."""
    with unit_of_work(runtime.sessions) as session:
        seed_demo(session, NOW)
        create_user(
            session,
            username="ubnd.phuhoi",
            full_name="Hồ Thị Phú",
            role=Role.AGENCY_OFFICER,
            password=PASSWORD,
            now=NOW,
            agency_code="ubnd-phu-hoi",
        )
        category = {c.code: c.id for c in session.scalars(select(Category))}
        ward = {w.name: w.id for w in session.scalars(select(Ward))}
        counter = iter(range(1, 100))

        def add(created: datetime, cat: str | None, channel: Channel, ward_name: str | None,
                ack: timedelta | None, resolve: timedelta | None,
                extended: bool = False) -> None:  # fmt: skip
            case = Case(
                code=f"HUE-TEST-{next(counter):04d}",
                kind=CaseKind.COMPLAINT if cat else CaseKind.REGISTRATION,
                category_id=category[cat] if cat else None,
                channel=channel,
                ward_id=ward[ward_name] if ward_name else None,
                created_at=created,
                updated_at=created,
                ack_due_at=created + HOUR,
                acknowledged_at=created + ack if ack is not None else None,
                resolve_due_at=created + timedelta(days=7),
                resolved_at=created + resolve if resolve is not None else None,
            )
            if extended:
                case.extensions.append(
                    CaseExtension(
                        at=created + timedelta(days=6),
                        reason="Chờ vật tư",
                        previous_due_at=case.resolve_due_at,
                        new_due_at=case.resolve_due_at,
                    )
                )
            session.add(case)

        day = timedelta(days=1)
        add(local(24, 10), "environment", Channel.VOICE, "Phú Hội", HOUR / 2, 2 * day)
        add(local(24, 11), "environment", Channel.SMS, "Phú Hội", 2 * HOUR, 9 * day)
        add(local(25, 8), "noise", Channel.ZALO, "Phú Hội", HOUR / 4, 10 * day, extended=True)
        add(local(25, 9), "noise", Channel.VOICE, "An Cựu", HOUR / 4, 6 * day, extended=True)
        add(local(26, 8), None, Channel.WEB, "An Cựu", None, None)
        add(local(20, 0, 10), "traffic_parking", Channel.VOICE, None, None, None)
        # Outside the range: the evening before it starts (local time), and earlier in November.
        add(local(19, 23, 30), "environment", Channel.VOICE, "Phú Hội", None, None)
        add(local(10, 9), "environment", Channel.VOICE, "Phú Hội", HOUR / 2, day)
        for i, (started, outcome) in enumerate(
            [
                (local(21, 9), CallOutcome.CASE_CREATED),
                (local(22, 9), CallOutcome.CASE_CREATED),
                (local(23, 9), CallOutcome.HUNG_UP),
                (local(26, 9), None),
                (local(1, 9), CallOutcome.ERROR),
            ]
        ):
            session.add(CallRecord(unique_id=f"call-{i}", started_at=started, outcome=outcome))


def csv_of(client: Any, name: str, query: str = RANGE) -> list[list[str]]:
    response = client.get(f"{PAGE}/{name}.csv?{query}")
    assert response.status_code == 200
    assert response.headers["Content-Type"] == "text/csv; charset=utf-8"
    body = response.get_data()
    assert body.startswith(b"\xef\xbb\xbf")
    return list(csv.reader(io.StringIO(body.decode("utf-8-sig"))))


@pytest.mark.parametrize("username", ["lan.agent", "ubnd.phuhoi"])
def test_agents_and_officers_are_refused(client: Any, data: None, username: str) -> None:
    login(client, username)
    assert client.get(PAGE).status_code == 403
    assert client.get(f"{PAGE}/sla.csv").status_code == 403


def test_anonymous_visitors_are_sent_to_login(client: Any, data: None) -> None:
    for path in (PAGE, f"{PAGE}/channels.csv"):
        response = client.get(path)
        assert response.status_code == 302
        assert response.headers["Location"].startswith("/login?next=")


@pytest.mark.parametrize("username", ["hoa.supervisor", "minh.admin"])
def test_the_page_for_supervisors_and_admins(client: Any, data: None, username: str) -> None:
    login(client, username)
    response = client.get(f"{PAGE}?{RANGE}")
    html = response.get_data(as_text=True)
    assert response.status_code == 200
    assert "Từ 20/11/2026 đến 26/11/2026: 6 vụ việc." in html
    assert "<svg" in html and "<script" not in html and "style=" not in html
    assert "2026-11-24 · Môi trường, rác thải, vệ sinh: 2</title>" in html
    assert "2026-11-20 · Giao thông, đỗ xe sai quy định: 1</title>" in html
    assert "2026-11-19" not in html
    assert "Trễ hạn dù đã gia hạn" in html and "Phú Hội" in html
    for name in ("cases-per-day", "sla", "channels", "wards", "calls"):
        assert f"/console/dashboards/{name}.csv?start=2026-11-20&amp;end=2026-11-26" in html


def test_cases_per_day_by_category(client: Any, data: None) -> None:
    login(client, "hoa.supervisor")
    rows = csv_of(client, "cases-per-day")
    assert rows[0] == ["Ngày", "Mã lĩnh vực", "Lĩnh vực", "Số vụ việc"]
    assert rows[1:] == [
        ["2026-11-20", "traffic_parking", "Giao thông, đỗ xe sai quy định", "1"],
        ["2026-11-24", "environment", "Môi trường, rác thải, vệ sinh", "2"],
        ["2026-11-25", "noise", "Tiếng ồn, karaoke", "2"],
        ["2026-11-26", "-", "Không phân loại", "1"],
    ]


def test_sla_compliance(client: Any, data: None) -> None:
    login(client, "hoa.supervisor")
    rows = csv_of(client, "sla")
    assert rows[0] == ["Kết quả", "Diễn giải", "Tiếp nhận", "Giải quyết"]
    assert [[r[0], r[2], r[3]] for r in rows[1:]] == [
        ["on_time", "3", "1"],
        ["on_time_with_extension", "0", "1"],
        ["late", "1", "1"],
        ["late_with_extension", "0", "1"],
        ["open", "2", "2"],
    ]


def test_channel_mix_wards_and_calls(client: Any, data: None) -> None:
    login(client, "minh.admin")
    assert csv_of(client, "channels")[1:] == [
        ["voice", "Điện thoại", "3"],
        ["sms", "SMS", "1"],
        ["web", "Trang web", "1"],
        ["zalo", "Zalo", "1"],
    ]
    assert csv_of(client, "wards")[1:] == [["Phú Hội", "3"], ["An Cựu", "2"]]
    assert csv_of(client, "calls")[1:] == [
        ["case_created", "Mở phản ánh", "2"],
        ["-", "Đang diễn ra", "1"],
        ["hung_up", "Gác máy giữa chừng", "1"],
    ]


def test_the_range_moves_the_numbers(client: Any, data: None) -> None:
    login(client, "hoa.supervisor")
    rows = csv_of(client, "cases-per-day", "start=2026-11-01&end=2026-11-19")
    assert [r[0] for r in rows[1:]] == ["2026-11-10", "2026-11-19"]
    assert csv_of(client, "calls", "start=2026-11-01&end=2026-11-01")[1:] == [["error", "Lỗi", "1"]]


def test_bad_ranges_are_explained_not_fatal(client: Any, data: None) -> None:
    login(client, "hoa.supervisor")
    html = client.get(f"{PAGE}?start=hôm-qua").get_data(as_text=True)
    assert "Ngày không hợp lệ" in html
    response = client.get(f"{PAGE}?start=2026-11-26&end=2026-11-20")
    assert "Ngày bắt đầu phải trước ngày kết thúc." in response.get_data(as_text=True)
    assert "6 vụ việc" in response.get_data(as_text=True)  # the two days swapped
    long = client.get(f"{PAGE}?start=2020-01-01&end=2026-11-26").get_data(as_text=True)
    assert "Khoảng thời gian dài nhất là 3 năm." in long


def test_default_range_and_unknown_table(client: Any, data: None) -> None:
    login(client, "hoa.supervisor")
    assert client.get(PAGE).status_code == 200
    assert client.get(f"{PAGE}/nothing.csv").status_code == 404


def test_the_page_figures_agree_with_each_table(runtime: Runtime, data: None) -> None:
    period = reports.DateRange(date(2026, 11, 20), date(2026, 11, 26))
    with unit_of_work(runtime.sessions) as session:
        together = reports.case_figures(session, period)
        assert together == reports.CaseFigures(
            reports.cases_per_day(session, period),
            reports.sla_compliance(session, period),
            reports.channel_mix(session, period),
            reports.top_wards(session, period),
        )
        assert [(r.key, r.count) for r in together.wards] == [("Phú Hội", 3), ("An Cựu", 2)]


def test_the_page_in_english(client: Any, data: None) -> None:
    login(client, "hoa.supervisor")
    client.post(
        "/language",
        data={"lang": "en", "next": PAGE, "csrf_token": csrf_token(client, "/console/test/page")},
    )
    html = client.get(f"{PAGE}?{RANGE}").get_data(as_text=True)
    assert "From 20/11/2026 to 26/11/2026: 6 cases." in html
    assert "Cases per day by category" in html and "Late with an extension" in html
