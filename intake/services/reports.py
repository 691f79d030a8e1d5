"""Dashboard figures for a range of local (Huế) days, each one GROUP BY in the database.

Every report covers cases (or calls) created from the first day's local midnight up to, not
including, the midnight after the last day. Days are Huế calendar days (UTC+7, no DST)."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from typing import Any

from sqlalchemy import ColumnElement, Date, case, cast, func, literal_column, select
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


def _is_postgresql(session: Session) -> bool:
    return session.get_bind().dialect.name == "postgresql"


def _local_day(session: Session, column: Any) -> ColumnElement[Any]:
    # Vietnam keeps UTC+7 all year: a fixed offset is exact, and much cheaper per row than a
    # zone name looked up in the tz database.
    if _is_postgresql(session):
        return cast(func.timezone(literal_column("INTERVAL '+07:00'"), column), Date)
    return func.date(column, "+7 hours")  # SQLite keeps UTC as text


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
    return _day_rows(session, rows)


def _day_rows(session: Session, rows: Iterable[Any]) -> list[DayCount]:
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
    ack, resolve = _sla_outcomes()
    rows = session.execute(
        select(ack, resolve, func.count())
        .where(*_in_range(Case.created_at, period))
        .group_by(ack, resolve)
    ).all()
    return _sla_rows(rows)


def _sla_outcomes() -> tuple[ColumnElement[str], ColumnElement[str]]:
    # IN, not a correlated EXISTS: PostgreSQL hashes the extended cases once instead of
    # probing case_extensions for every case.
    extended = Case.id.in_(select(CaseExtension.case_id))
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
    return ack, resolve


def _sla_rows(rows: Iterable[Any]) -> list[SlaRow]:
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
    return _channel_rows(rows)


def _channel_rows(rows: Iterable[Any]) -> list[Count]:
    return sorted((Count(str(c), int(n)) for c, n in rows), key=lambda r: (-r.count, r.key))


def top_wards(session: Session, period: DateRange, limit: int = 10) -> list[Count]:
    """The wards with most cases (cases without a ward are left out), most first."""
    rows = session.execute(
        select(Case.ward_id, func.count())
        .where(*_in_range(Case.created_at, period), Case.ward_id.is_not(None))
        .group_by(Case.ward_id)
    ).all()
    return _ward_rows(session, rows, limit)


def _ward_rows(session: Session, rows: Iterable[Any], limit: int) -> list[Count]:
    counts = {ward_id: int(n) for ward_id, n in rows if ward_id is not None}
    # A few dozen wards: naming and ranking them here costs nothing.
    names = dict(session.execute(select(Ward.id, Ward.name)).tuples().all())
    ranked = sorted(
        (Count(names.get(ward_id, NO_WARD), n) for ward_id, n in counts.items()),
        key=lambda r: (-r.count, r.key),
    )
    return ranked[:limit]


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


@dataclass(frozen=True)
class CaseFigures:
    per_day: list[DayCount]
    sla: list[SlaRow]
    channels: list[Count]
    wards: list[Count]


def case_figures(session: Session, period: DateRange, ward_limit: int = 10) -> CaseFigures:
    """The four case reports of the dashboards page in two scans of the range's cases.

    One GROUP BY (day, category); one GROUP BY (channel, ward, both clocks' outcomes), about a
    thousand groups, from which the SLA, channel and ward tables are summed. Each scan of a
    year of a million cases costs about half a second, so two scans rather than four matter.
    (GROUPING SETS in one scan measured slower on PostgreSQL: it sorts instead of hashing.)"""
    ack, resolve = _sla_outcomes()
    profile = session.execute(
        select(Case.channel, Case.ward_id, ack, resolve, func.count())
        .where(*_in_range(Case.created_at, period))
        .group_by(Case.channel, Case.ward_id, ack, resolve)
    ).all()
    sla: dict[tuple[str, str], int] = {}
    channels: dict[str, int] = {}
    wards: dict[int, int] = {}
    for channel, ward_id, a, r, n in profile:
        sla[(a, r)] = sla.get((a, r), 0) + n
        channels[channel] = channels.get(channel, 0) + n
        if ward_id is not None:
            wards[ward_id] = wards.get(ward_id, 0) + n
    return CaseFigures(
        cases_per_day(session, period),
        _sla_rows((a, r, n) for (a, r), n in sla.items()),
        _channel_rows(channels.items()),
        _ward_rows(session, wards.items(), ward_limit),
    )
