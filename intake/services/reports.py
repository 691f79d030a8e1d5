"""Dashboard figures for a range of local (Huế) days, each one GROUP BY in the database.

Every report covers cases (or calls) created from the first day's local midnight up to, not
including, the midnight after the last day. Days are Huế calendar days (UTC+7, no DST)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from typing import Any

from sqlalchemy import ColumnElement, Date, case, cast, exists, func, select
from sqlalchemy.orm import Session

from intake.clock import VN_TZ
from intake.models import CallRecord, Case, CaseExtension, Category, Ward
from intake.services.sla import Outcome

NO_CATEGORY = "-"
NO_WARD = "-"


@dataclass(frozen=True)
class DateRange:
    first: date
    last: date  # inclusive

    @property
    def start(self) -> datetime:
        return datetime.combine(self.first, time(0), VN_TZ)

    @property
    def end(self) -> datetime:
        return datetime.combine(self.last + timedelta(days=1), time(0), VN_TZ)

    @property
    def days(self) -> list[date]:
        return [self.first + timedelta(days=i) for i in range((self.last - self.first).days + 1)]


def _local_day(session: Session, column: Any) -> ColumnElement[Any]:
    if session.get_bind().dialect.name == "postgresql":
        return cast(func.timezone("Asia/Ho_Chi_Minh", column), Date)
    # SQLite stores UTC as text; Vietnam keeps UTC+7 all year.
    return func.date(column, "+7 hours")


def _as_date(value: Any) -> date:
    return value if isinstance(value, date) else date.fromisoformat(str(value)[:10])


def _in_range(column: Any, period: DateRange) -> list[ColumnElement[bool]]:
    return [column >= period.start, column < period.end]


@dataclass(frozen=True)
class DayCount:
    day: date
    category: str
    count: int


def cases_per_day(session: Session, period: DateRange) -> list[DayCount]:
    """Cases opened per local day and category code (`-` for none), by day then category."""
    day = _local_day(session, Case.created_at).label("day")
    rows = session.execute(
        select(day, Case.category_id, func.count())
        .where(*_in_range(Case.created_at, period))
        .group_by(day, Case.category_id)
    ).all()
    codes = dict(session.execute(select(Category.id, Category.code)).tuples().all())
    result = [
        DayCount(_as_date(d), codes.get(cid, NO_CATEGORY) if cid else NO_CATEGORY, int(n))
        for d, cid, n in rows
    ]
    return sorted(result, key=lambda r: (r.day, r.category))


@dataclass(frozen=True)
class SlaRow:
    outcome: str
    acknowledge: int
    resolve: int


SLA_ORDER = (
    Outcome.ON_TIME,
    Outcome.ON_TIME_WITH_EXTENSION,
    Outcome.LATE,
    Outcome.LATE_WITH_EXTENSION,
    Outcome.OPEN,
)


def sla_compliance(session: Session, period: DateRange) -> list[SlaRow]:
    """Both clocks of the cases opened in the range: on time, late, late with an extension.

    The acknowledgement clock has no extensions; a clock not yet stopped counts as `open`."""
    extended = exists(select(CaseExtension.id).where(CaseExtension.case_id == Case.id))
    resolve = case(
        (Case.resolved_at.is_(None), Outcome.OPEN.value),
        (
            Case.resolved_at <= Case.resolve_due_at,
            case((extended, Outcome.ON_TIME_WITH_EXTENSION.value), else_=Outcome.ON_TIME.value),
        ),
        (extended, Outcome.LATE_WITH_EXTENSION.value),
        else_=Outcome.LATE.value,
    ).label("resolve")
    ack = case(
        (Case.acknowledged_at.is_(None), Outcome.OPEN.value),
        (Case.acknowledged_at <= Case.ack_due_at, Outcome.ON_TIME.value),
        else_=Outcome.LATE.value,
    ).label("ack")
    rows = session.execute(
        select(ack, resolve, func.count())
        .where(*_in_range(Case.created_at, period))
        .group_by(ack, resolve)
    ).all()
    acks: dict[str, int] = {}
    resolves: dict[str, int] = {}
    for a, r, n in rows:
        acks[a] = acks.get(a, 0) + int(n)
        resolves[r] = resolves.get(r, 0) + int(n)
    return [SlaRow(o.value, acks.get(o.value, 0), resolves.get(o.value, 0)) for o in SLA_ORDER]


@dataclass(frozen=True)
class Count:
    key: str
    count: int


def channel_mix(session: Session, period: DateRange) -> list[Count]:
    """Cases per channel they came in on, most first."""
    rows = session.execute(
        select(Case.channel, func.count())
        .where(*_in_range(Case.created_at, period))
        .group_by(Case.channel)
    ).all()
    return sorted((Count(str(c), int(n)) for c, n in rows), key=lambda r: (-r.count, r.key))


def top_wards(session: Session, period: DateRange, limit: int = 10) -> list[Count]:
    """The wards with most cases (cases without a ward are left out), most first."""
    n = func.count().label("n")
    top = (
        select(Case.ward_id, n)
        .where(*_in_range(Case.created_at, period), Case.ward_id.is_not(None))
        .group_by(Case.ward_id)
        .order_by(n.desc(), Case.ward_id)
        .limit(limit)
        .subquery()
    )
    rows = session.execute(
        select(Ward.name, top.c.n)
        .join(top, top.c.ward_id == Ward.id)
        .order_by(top.c.n.desc(), Ward.name)
    ).all()
    return [Count(name, int(count)) for name, count in rows]


def call_outcomes(session: Session, period: DateRange) -> list[Count]:
    """Hotline calls by how they ended (`-` while a call is still going), most first."""
    rows = session.execute(
        select(CallRecord.outcome, func.count())
        .where(*_in_range(CallRecord.started_at, period))
        .group_by(CallRecord.outcome)
    ).all()
    return sorted(
        (Count(str(o) if o else NO_CATEGORY, int(n)) for o, n in rows),
        key=lambda r: (-r.count, r.key),
    )
