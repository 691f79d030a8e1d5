"""The dashboards: who may see them, and their numbers on a small data set known by heart."""

from __future__ import annotations

import csv
import io
from datetime import date, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import select

from intake.clock import VN_TZ, local_date, utcnow
from intake.db import unit_of_work
from intake.models import (
    CallOutcome,
    CallRecord,
    Case,
    CaseExtension,
    CaseKind,
    Category,
    Channel,
    ReportDayCount,
    Role,
    Ward,
)
from intake.runtime import Runtime, set_runtime
from intake.seed import seed_demo
from intake.services import cases as svc
from intake.services import reports
from intake.services.cases import Actor
from intake.services.users import create_user
from intake.tasks import refresh_reports_task
from tests.conftest import NOW
from tests.unit.console.conftest import PASSWORD, csrf_token, login

PAGE = "/console/dashboards"
RANGE = "start=2026-11-20&end=2026-11-26"
HOUR = timedelta(hours=1)


def local(day: int, hour: int, minute: int = 0) -> datetime:
    return datetime(2026, 11, day, hour, minute, tzinfo=VN_TZ)


@pytest.fixture(params=["live", "summary"])
def data(request: pytest.FixtureRequest, runtime: Runtime) -> None:
    """Six cases and four calls in 20-26/11 (Huế days), and one of each outside it.

    Every test using it runs twice: counted live from the cases, and with the daily summary
    built (`hotline reports refresh`), which must give the same figures."""
    add_cases(runtime)
    if request.param == "summary":
        with unit_of_work(runtime.sessions) as session:
            days = reports.DateRange(date(2026, 11, 1), date(2026, 11, 30)).days
            reports.refresh_days(session, days, NOW)
            assert reports.covered_days(session, reports.DateRange(days[0], days[-1])) == days


def add_cases(runtime: Runtime) -> None:
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


# -- the daily summary ------------------------------------------------------------------------

NOVEMBER = reports.DateRange(date(2026, 11, 1), date(2026, 11, 30))
AGENT = Actor("lan.agent")


def assert_exact(session: Any, period: reports.DateRange = NOVEMBER) -> None:
    """The figures through the summary equal a count of everything live."""
    assert reports.case_figures(session, period) == reports.case_figures(session, period, live=True)
    assert reports.call_outcomes(session, period) == reports.call_outcomes(
        session, period, live=True
    )
    assert reports.sla_compliance(session, period) == reports.sla_compliance(
        session, period, live=True
    )


def covered(session: Any) -> set[date]:
    return set(reports.covered_days(session, NOVEMBER))


def test_every_change_to_a_counted_case_uncovers_its_day_until_refreshed(runtime: Runtime) -> None:
    add_cases(runtime)
    with unit_of_work(runtime.sessions) as session:
        reports.refresh_days(session, NOVEMBER.days, NOW)
        assert covered(session) == set(NOVEMBER.days)
        assert reports.tally(session, NOVEMBER, ("category",)).summary_days == 30
        opened_at = local(22, 10)
        case = svc.open_case(
            session,
            svc.NewCase(channel=Channel.TELEGRAM, description="Rác tồn đọng", category_code="noise",
                        ward_code="an-cuu"),
            now=opened_at,
            actor=AGENT,
        )  # fmt: skip
        day = date(2026, 11, 22)
        steps = [
            lambda: svc.acknowledge(session, case, now=opened_at + 2 * HOUR, actor=AGENT),
            lambda: svc.extend(
                session,
                case,
                case.resolve_due_at + timedelta(days=1),
                "Chờ vật tư",
                now=opened_at + timedelta(days=6),
                actor=AGENT,
            ),
            lambda: svc.resolve(
                session, case, "Đã dọn", now=opened_at + timedelta(days=9), actor=AGENT
            ),
            lambda: svc.reopen(
                session, case, "Vẫn còn rác", now=opened_at + timedelta(days=10), actor=AGENT
            ),
        ]
        before = reports.case_figures(session, NOVEMBER)
        for step in [lambda: None, *steps]:
            step()
            session.flush()
            assert day not in covered(session)  # counted live, so the change shows at once
            assert covered(session) == set(NOVEMBER.days) - {day}
            assert_exact(session)
            reports.refresh_days(session, reports.stale_days(session, date(2026, 11, 26)), NOW)
            assert covered(session) == set(NOVEMBER.days)
            assert_exact(session)
        assert reports.case_figures(session, NOVEMBER) != before
        sla = {r.outcome: r for r in reports.sla_compliance(session, NOVEMBER)}
        assert sla["late"].acknowledge == 2 and sla["open"].resolve == 4  # reopened


def test_changes_the_dashboards_do_not_count_leave_the_summary_alone(runtime: Runtime) -> None:
    add_cases(runtime)
    with unit_of_work(runtime.sessions) as session:
        reports.refresh_days(session, NOVEMBER.days, NOW)
        case = session.scalars(select(Case).order_by(Case.id)).first()
        assert case is not None
        svc.add_note(session, case, "Đã gọi lại cho người dân", now=NOW, actor=AGENT)
        case.priority = 1
        session.flush()
        assert covered(session) == set(NOVEMBER.days)


def test_calls_extensions_and_deletions_mark_their_days(runtime: Runtime) -> None:
    add_cases(runtime)
    with unit_of_work(runtime.sessions) as session:
        reports.refresh_days(session, NOVEMBER.days, NOW)
        call = session.scalars(select(CallRecord).where(CallRecord.outcome.is_(None))).one()
        call.outcome = CallOutcome.AGENT
        session.flush()
        assert covered(session) == set(NOVEMBER.days) - {date(2026, 11, 26)}
        assert_exact(session)
        reports.refresh_days(session, [date(2026, 11, 26)], NOW)
        extension = session.scalars(select(CaseExtension)).first()
        assert extension is not None
        session.delete(extension)
        session.flush()
        assert covered(session) == set(NOVEMBER.days) - {date(2026, 11, 25)}
        assert_exact(session)
        reports.refresh_days(session, [date(2026, 11, 25)], NOW)
        session.delete(session.scalars(select(Case).where(Case.created_at == local(24, 10))).one())
        session.flush()
        assert covered(session) == set(NOVEMBER.days) - {date(2026, 11, 24)}
        assert_exact(session)
        # A case opened on a day summarised long ago (an import with its own dates).
        reports.refresh_days(session, [date(2026, 11, 24)], NOW)
        session.add(
            Case(code="HUE-TEST-0100", kind=CaseKind.COMPLAINT, channel=Channel.SMS,
                 created_at=local(3, 23, 59), updated_at=NOW, ack_due_at=NOW, resolve_due_at=NOW)
        )  # fmt: skip
        session.flush()
        assert covered(session) == set(NOVEMBER.days) - {date(2026, 11, 3)}
        assert_exact(session)


def test_refreshing_is_idempotent_and_days_without_cases_are_covered(runtime: Runtime) -> None:
    add_cases(runtime)
    with unit_of_work(runtime.sessions) as session:
        first = reports.refresh_days(session, NOVEMBER.days, NOW)
        assert (first.days, first.cases, first.calls) == (30, 8, 5)
        rows = session.execute(select(ReportDayCount).order_by(ReportDayCount.day)).all()
        again = reports.refresh_days(session, NOVEMBER.days, NOW)
        assert again == first
        assert session.execute(select(ReportDayCount).order_by(ReportDayCount.day)).all() == rows
        assert_exact(session)
        quiet = reports.DateRange(date(2026, 11, 11), date(2026, 11, 18))
        assert reports.case_figures(session, quiet).per_day == []
        assert reports.tally(session, quiet, reports.DIMENSIONS).summary_days == 8


def test_the_beat_task_refreshes_changed_and_missing_days(runtime: Runtime) -> None:
    add_cases(runtime)
    set_runtime(runtime)
    try:
        today = local_date(utcnow())
        with unit_of_work(runtime.sessions) as session:
            first = reports.first_day(session)
            assert first == date(2026, 11, 1)
            assert reports.stale_days(session, today, backfill=0) == sorted(
                {date(2026, 11, d) for d in (1, 10, 19, 20, 21, 22, 23, 24, 25, 26)}
            )
        refresh_reports_task(backfill=10_000)
        with unit_of_work(runtime.sessions) as session:
            assert reports.stale_days(session, today) == []
            everything = reports.DateRange(date(2026, 11, 1), today)
            assert len(reports.covered_days(session, everything)) == len(everything.days)
            assert_exact(session, everything)
    finally:
        set_runtime(None)
