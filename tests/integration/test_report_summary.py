"""The dashboards' daily summary on the real PostgreSQL server: its statement triggers, and
figures through the summary equal to a live count after every kind of change."""

from __future__ import annotations

import random
from datetime import date, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import select, text
from sqlalchemy.orm import Session

from intake.clock import VN_TZ, local_date
from intake.db import make_session_factory, unit_of_work
from intake.models import (
    CallOutcome,
    CallRecord,
    Case,
    CaseStatus,
    Category,
    Channel,
    ReportChange,
    Ward,
)
from intake.seed import seed_demo
from intake.services import calls as call_svc
from intake.services import cases as svc
from intake.services import codes, reports
from intake.services.cases import Actor, NewCase

pytestmark = pytest.mark.integration
AGENT = Actor("lan")
FIRST = date(2026, 11, 1)
DAYS = 14
PERIOD = reports.DateRange(FIRST, FIRST + timedelta(days=DAYS - 1))
PERIODS = [
    PERIOD,
    reports.DateRange(FIRST + timedelta(days=3), FIRST + timedelta(days=9)),
    reports.DateRange(FIRST - timedelta(days=30), FIRST + timedelta(days=60)),
]
TODAY = FIRST + timedelta(days=DAYS + 20)


@pytest.fixture(autouse=True)
def _fresh_code_sequences(monkeypatch: pytest.MonkeyPatch) -> None:
    # The tests open cases on the same days; a rolled-back test's day sequences are gone.
    monkeypatch.setattr(codes, "_known_sequences", set())


def assert_exact(session: Session) -> None:
    for period in PERIODS:
        assert reports.case_figures(session, period) == reports.case_figures(
            session, period, live=True
        )
        assert reports.call_outcomes(session, period) == reports.call_outcomes(
            session, period, live=True
        )
        assert reports.cases_per_day(session, period) == reports.cases_per_day(
            session, period, live=True
        )


def changed_days(session: Session) -> set[date]:
    return set(session.scalars(select(ReportChange.day).distinct()))


def refresh_stale(session: Session, now: datetime) -> None:
    for batch in reports.batches(reports.stale_days(session, TODAY, backfill=0)):
        reports.refresh_days(session, batch, now)
    assert changed_days(session) == set()


def at(day: int, hour: int, minute: int = 0) -> datetime:
    return datetime.combine(FIRST + timedelta(days=day), datetime.min.time(), VN_TZ) + timedelta(
        hours=hour, minutes=minute
    )


def open_cases(session: Session, rng: random.Random) -> list[Case]:
    categories = list(session.scalars(select(Category.code)))
    wards = list(session.scalars(select(Ward.code)))
    opened = []
    for i in range(80):
        # Hours 0-23 local: some cases open just after a local midnight (still 17:xx UTC).
        when = at(rng.randrange(DAYS), rng.randrange(24), rng.randrange(60))
        opened.append(
            svc.open_case(
                session,
                NewCase(
                    channel=rng.choice(list(Channel)),
                    description=f"Phản ánh số {i}",
                    category_code=rng.choice([*categories, None]),
                    ward_code=rng.choice([*wards, None]),
                ),
                now=when,
                actor=AGENT,
                notify=False,
            )
        )
    for i in range(30):
        call = call_svc.start_call(session, f"call-{i}", now=at(rng.randrange(DAYS), 9, i))
        if i % 4:
            call_svc.finish_call(
                session, call.id, rng.choice(list(CallOutcome)), now=call.started_at
            )
    return opened


def work_on(session: Session, case: Case, rng: random.Random) -> None:
    """A random life: acknowledged early or late, extended, resolved on time or late,
    reopened, rejected or closed."""
    t = case.created_at
    if rng.random() < 0.8:
        t += timedelta(minutes=rng.choice([20, 50, 90, 300]))
        svc.acknowledge(session, case, now=t, actor=AGENT)
    if rng.random() < 0.3:
        t += timedelta(days=rng.choice([1, 6, 8]))
        svc.extend(session, case, case.resolve_due_at + timedelta(days=2), "Chờ vật tư",
                   now=t, actor=AGENT)  # fmt: skip
    if case.status == CaseStatus.NEW:
        if rng.random() < 0.2:
            svc.reject(session, case, "Không thuộc thẩm quyền", now=t, actor=AGENT)
        return
    if rng.random() < 0.7:
        t += timedelta(days=rng.choice([1, 5, 8, 12]))
        svc.resolve(session, case, "Đã xử lý", now=t, actor=AGENT)
        choice = rng.random()
        if choice < 0.3:
            t += timedelta(days=1)
            svc.reopen(session, case, "Chưa xử lý xong", now=t, actor=AGENT)
            if rng.random() < 0.5:
                svc.resolve(session, case, "Đã xử lý lại", now=t + timedelta(days=3), actor=AGENT)
        elif choice < 0.6:
            svc.close(session, case, now=t + timedelta(days=1), actor=AGENT)


def test_summary_figures_equal_live_ones_through_a_cases_life(session: Session, now: Any) -> None:
    rng = random.Random(7)
    seed_demo(session, now)
    opened = open_cases(session, rng)
    session.flush()
    call_days = {local_date(t) for t in session.scalars(select(CallRecord.started_at))}
    assert changed_days(session) == {local_date(c.created_at) for c in opened} | call_days
    assert_exact(session)  # nothing summarised yet: all live
    # Build the summary of every day, as `hotline reports refresh` does.
    for batch in reports.batches(reports.DateRange(FIRST - timedelta(days=40), TODAY).days):
        reports.refresh_days(session, batch, now)
    assert changed_days(session) == set()
    assert reports.tally(session, PERIOD, reports.DIMENSIONS).summary_days == DAYS
    assert_exact(session)
    summarised = reports.case_figures(session, PERIOD)

    # Every case lives its life: each change uncovers its case's day, counted live at once.
    for case in rng.sample(opened, len(opened)):
        work_on(session, case, rng)
        session.flush()
        if rng.random() < 0.2:
            assert_exact(session)
        if rng.random() < 0.1:
            refresh_stale(session, now)
    assert_exact(session)
    assert reports.case_figures(session, PERIOD) != summarised
    outcomes = {r.outcome: r.resolve for r in reports.sla_compliance(session, PERIOD)}
    assert all(outcomes.values()), outcomes  # every outcome happened at least once
    refresh_stale(session, now)
    assert reports.tally(session, PERIOD, reports.DIMENSIONS).summary_days == DAYS
    assert_exact(session)


def test_bulk_sql_changes_mark_their_days_once_per_statement(session: Session, now: Any) -> None:
    seed_demo(session, now)
    opened = open_cases(session, random.Random(11))
    session.flush()
    for batch in reports.batches(reports.DateRange(FIRST - timedelta(days=40), TODAY).days):
        reports.refresh_days(session, batch, now)
    assert_exact(session)
    days_of = {c.id: local_date(c.created_at) for c in opened}

    session.execute(text("UPDATE cases SET ward_id = NULL WHERE id % 7 = 0"))
    marked = list(session.scalars(select(ReportChange.day)))
    assert sorted(marked) == sorted({d for i, d in days_of.items() if i % 7 == 0})
    assert_exact(session)
    # An update that changes nothing counted (a priority, a transcript) marks nothing.
    session.execute(text("UPDATE cases SET priority = 1, transcript = 'x'"))
    assert sorted(session.scalars(select(ReportChange.day))) == sorted(marked)
    refresh_stale(session, now)

    session.execute(
        text(
            "INSERT INTO case_extensions (case_id, at, reason, previous_due_at, new_due_at) "
            "SELECT id, created_at, 'bulk', resolve_due_at, resolve_due_at FROM cases "
            "WHERE id % 5 = 0"
        )
    )
    assert set(session.scalars(select(ReportChange.day))) == {
        d for i, d in days_of.items() if i % 5 == 0
    }
    session.execute(text("UPDATE cases SET resolved_at = created_at WHERE id % 3 = 0"))
    session.execute(text("DELETE FROM calls WHERE id % 2 = 0"))
    session.execute(text("UPDATE calls SET outcome = 'error' WHERE outcome IS NULL"))
    assert_exact(session)
    refresh_stale(session, now)
    assert_exact(session)
    session.execute(text("TRUNCATE calls"))  # no rows to mark: the summary is forgotten
    assert reports.covered_days(session, PERIOD) == []
    assert_exact(session)


def test_a_change_committed_during_a_refresh_stays_marked(clean_db: Any, now: Any) -> None:
    factory = make_session_factory(clean_db)
    with unit_of_work(factory) as s:
        seed_demo(s, now)
        case = svc.open_case(
            s, NewCase(channel=Channel.SMS, description="Ổ gà"), now=at(2, 10), actor=AGENT
        )
        case_id, day = case.id, local_date(case.created_at)
    with unit_of_work(factory) as s:
        reports.refresh_days(s, [day], now)
    period = reports.DateRange(day, day)

    refresh = factory()
    try:
        # The refresh counts the day while an agent's change is not yet committed …
        with unit_of_work(factory) as agent:
            reports.refresh_days(refresh, [day], now)
            target = agent.get(Case, case_id)
            assert target is not None
            svc.acknowledge(agent, target, now=at(2, 12), actor=AGENT)
        # … the change commits first, then the refresh.
        refresh.commit()
    finally:
        refresh.close()
    with unit_of_work(factory) as s:
        assert reports.covered_days(s, period) == []  # the day is still counted live
        sla = {r.outcome: r.acknowledge for r in reports.sla_compliance(s, period)}
        assert sla["late"] == 1
        assert reports.case_figures(s, period) == reports.case_figures(s, period, live=True)
        refresh_stale(s, now)
    with unit_of_work(factory) as s:
        assert reports.covered_days(s, period) == [day]
        assert {r.outcome: r.acknowledge for r in reports.sla_compliance(s, period)}["late"] == 1
