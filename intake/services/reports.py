"""Dashboard figures for a range of local (Huế) days, from the daily summary and live counts.

Every report covers cases (or calls) created from the first day's local midnight up to, not
including, the midnight after the last day. Days are Huế calendar days (UTC+7, no DST).

A year of a million cases takes over a second to count from `cases`, so each day's counts
are kept in a summary (`report_day_counts`, models/reports.py): per category, channel, ward,
acknowledgement outcome, resolution outcome and call outcome. A report reads the days the
summary covers from it, and counts every other day live from `cases` and `calls`:

* a day is covered when it has been refreshed (`report_days`) and nothing it counts has changed
  since: database triggers write a `report_changes` marker for the day of every case, extension
  or call inserted, deleted or changed in a counted column, in the changing transaction;
* `refresh_days` recomputes whole days with the same queries the live counts use, and removes
  the markers it has taken into account; the beat task (`intake.refresh_reports`) refreshes
  the marked days and back-fills missing ones, `hotline reports refresh` rebuilds a range.

So the figures always equal a live count: a stale day is never read from the summary."""

from __future__ import annotations

import enum
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from typing import Any

from sqlalchemy import (
    ColumnElement,
    Date,
    and_,
    case,
    cast,
    delete,
    exists,
    func,
    insert,
    literal_column,
    or_,
    select,
)
from sqlalchemy.orm import Session

from intake.clock import VN_TZ, local_date
from intake.models import (
    CallRecord,
    Case,
    CaseExtension,
    Category,
    ReportChange,
    ReportDay,
    ReportDayCount,
    Ward,
)
from intake.services.sla import Outcome

NO_CATEGORY = "-"
NO_WARD = "-"
NONE = "-"  # the summary's item for "no category / no ward / call still going"

CATEGORY, CHANNEL, WARD, ACK, RESOLVE, CALL = (
    "category",
    "channel",
    "ward",
    "ack",
    "resolve",
    "call",
)
CASE_DIMENSIONS = (CATEGORY, CHANNEL, WARD, ACK, RESOLVE)
DIMENSIONS = (*CASE_DIMENSIONS, CALL)
# The profile query's columns (channel, ward, ack, resolve) in this order.
_PROFILE = (CHANNEL, WARD, ACK, RESOLVE)

# Days refreshed in one transaction (the CLI and the beat task commit after each batch).
REFRESH_BATCH_DAYS = 31
# Refreshes take this transaction-level advisory lock on PostgreSQL, so two never interleave.
_REFRESH_LOCK = 0x686F_746C_0009


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
    # zone name looked up in the tz database. The triggers use the same expression.
    if _is_postgresql(session):
        return cast(func.timezone(literal_column("INTERVAL '+07:00'"), column), Date)
    return func.date(column, "+7 hours")  # SQLite keeps UTC as text


def _as_date(value: Any) -> date:
    return value if isinstance(value, date) else date.fromisoformat(str(value)[:10])


def _runs(days: Iterable[date]) -> list[DateRange]:
    """Days as the fewest ranges of consecutive days."""
    runs: list[DateRange] = []
    for day in sorted(set(days)):
        if runs and runs[-1].last + timedelta(days=1) == day:
            runs[-1] = DateRange(runs[-1].first, day)
        else:
            runs.append(DateRange(day, day))
    return runs


def _in_runs(column: Any, runs: Sequence[DateRange]) -> ColumnElement[bool]:
    return or_(*(and_(column >= r.start, column < r.end) for r in runs))


def _days_in_runs(column: Any, runs: Sequence[DateRange]) -> ColumnElement[bool]:
    return or_(*(and_(column >= r.first, column <= r.last) for r in runs))


def _item(value: Any) -> str:
    if value is None:
        return NONE
    if isinstance(value, enum.Enum):
        return str(value.value)
    return str(value)


# -- counting from cases and calls ------------------------------------------------------------


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


def _case_columns() -> dict[str, Any]:
    ack, resolve = _sla_outcomes()
    return {
        CATEGORY: Case.category_id,
        CHANNEL: Case.channel,
        WARD: Case.ward_id,
        ACK: ack,
        RESOLVE: resolve,
    }


Row = tuple[date | None, str, str, int]  # (day or None for the whole range, dimension, item, n)


def _count_live(
    session: Session, runs: Sequence[DateRange], dimensions: Iterable[str], *, by_day: bool
) -> list[Row]:
    """Counts of the days in `runs`, straight from `cases` and `calls`.

    Categories are always per day (the chart). With `by_day` (a refresh) every dimension is
    counted per day, one GROUP BY each; without it (a report) channel, ward and both clocks'
    outcomes come from one scan grouped by all four, about a thousand groups for a year, summed
    here (two scans of a year rather than five)."""
    wanted = set(dimensions)
    if not runs or not wanted:
        return []
    rows: list[Row] = []
    columns = _case_columns()
    in_runs = _in_runs(Case.created_at, runs)
    day = _local_day(session, Case.created_at).label("day")
    per_day = {CATEGORY} | (wanted if by_day else set())
    for dimension in (d for d in CASE_DIMENSIONS if d in wanted and d in per_day):
        column = columns[dimension]
        result = session.execute(
            select(day, column, func.count()).where(in_runs).group_by(day, column)
        )
        rows += [(_as_date(d), dimension, _item(v), int(n)) for d, v, n in result]
    profile = [d for d in _PROFILE if d in wanted and d not in per_day]
    if profile:
        group = [columns[d] for d in profile]
        totals: dict[tuple[str, str], int] = {}
        for values in session.execute(select(*group, func.count()).where(in_runs).group_by(*group)):
            for dimension, value in zip(profile, values, strict=False):
                key = (dimension, _item(value))
                totals[key] = totals.get(key, 0) + int(values[-1])
        rows += [(None, dimension, item, n) for (dimension, item), n in totals.items()]
    if CALL in wanted:
        started = CallRecord.started_at
        call_day = _local_day(session, started).label("day") if by_day else None
        keys = [c for c in (call_day, CallRecord.outcome) if c is not None]
        result = session.execute(
            select(*keys, func.count()).where(_in_runs(started, runs)).group_by(*keys)
        )
        for values in result:
            when = _as_date(values[0]) if by_day else None
            rows.append((when, CALL, _item(values[-2]), int(values[-1])))
    return rows


# -- reading the summary ----------------------------------------------------------------------


def covered_days(session: Session, period: DateRange) -> list[date]:
    """The days of the range the summary holds and nothing has changed since (one statement,
    so a refresh or a change committing meanwhile is seen entirely or not at all)."""
    changed = exists().where(ReportChange.day == ReportDay.day)
    rows = session.scalars(
        select(ReportDay.day).where(
            ReportDay.day >= period.first, ReportDay.day <= period.last, ~changed
        )
    )
    return [_as_date(d) for d in rows]


def _count_summary(
    session: Session, runs: Sequence[DateRange], dimensions: Iterable[str]
) -> list[Row]:
    """The summary's counts of the days in `runs`, summed over the days in the database except
    the categories (per day, for the chart)."""
    wanted = list(dimensions)
    if not runs or not wanted:
        return []
    day = case((ReportDayCount.dimension == CATEGORY, ReportDayCount.day), else_=None).label("d")
    result = session.execute(
        select(day, ReportDayCount.dimension, ReportDayCount.item, func.sum(ReportDayCount.total))
        .where(_days_in_runs(ReportDayCount.day, runs), ReportDayCount.dimension.in_(wanted))
        .group_by(day, ReportDayCount.dimension, ReportDayCount.item)
    )
    return [
        (_as_date(d) if d is not None else None, dim, item, int(n)) for d, dim, item, n in result
    ]


@dataclass
class Tally:
    """Counts of a range: categories per day, everything else over the whole range."""

    per_day: dict[tuple[date, str], int] = field(default_factory=dict)
    totals: dict[str, dict[str, int]] = field(default_factory=dict)
    summary_days: int = 0  # how many days came from the summary (the rest were counted live)

    def add(self, rows: Iterable[Row]) -> None:
        for day, dimension, item, n in rows:
            if dimension == CATEGORY:
                assert day is not None
                self.per_day[(day, item)] = self.per_day.get((day, item), 0) + n
            counts = self.totals.setdefault(dimension, {})
            counts[item] = counts.get(item, 0) + n

    def of(self, dimension: str) -> dict[str, int]:
        return self.totals.get(dimension, {})


def tally(
    session: Session, period: DateRange, dimensions: Iterable[str], *, live: bool = False
) -> Tally:
    """The range's counts: covered days from the summary, the others live (`live`: all live)."""
    wanted = tuple(dimensions)
    covered = set() if live else set(covered_days(session, period))
    result = Tally(summary_days=len(covered))
    result.add(_count_summary(session, _runs(covered), wanted))
    result.add(_count_live(session, _runs(d for d in period.days if d not in covered), wanted,
                           by_day=False))  # fmt: skip
    return result


# -- the reports ------------------------------------------------------------------------------


@dataclass(frozen=True)
class DayCount:
    day: date
    category: str
    count: int


def cases_per_day(session: Session, period: DateRange, *, live: bool = False) -> list[DayCount]:
    """Cases opened per local day and category code (`-` for none), by day then category."""
    return _day_rows(session, tally(session, period, (CATEGORY,), live=live))


def _day_rows(session: Session, counts: Tally) -> list[DayCount]:
    codes = {str(i): c for i, c in session.execute(select(Category.id, Category.code)).tuples()}
    merged: dict[tuple[date, str], int] = {}
    for (day, item), n in counts.per_day.items():
        key = (day, codes.get(item, NO_CATEGORY))
        merged[key] = merged.get(key, 0) + n
    return [DayCount(day, code, n) for (day, code), n in sorted(merged.items()) if n]


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


def sla_compliance(session: Session, period: DateRange, *, live: bool = False) -> list[SlaRow]:
    """Both clocks of the cases opened in the range: on time, late, late with an extension.

    The acknowledgement clock has no extensions; a clock not yet stopped counts as `open`."""
    return _sla_rows(tally(session, period, (ACK, RESOLVE), live=live))


def _sla_rows(counts: Tally) -> list[SlaRow]:
    acks, resolves = counts.of(ACK), counts.of(RESOLVE)
    return [SlaRow(o.value, acks.get(o.value, 0), resolves.get(o.value, 0)) for o in SLA_ORDER]


@dataclass(frozen=True)
class Count:
    key: str
    count: int


def channel_mix(session: Session, period: DateRange, *, live: bool = False) -> list[Count]:
    """Cases per channel they came in on, most first."""
    return _ranked(tally(session, period, (CHANNEL,), live=live).of(CHANNEL).items())


def _ranked(rows: Iterable[tuple[str, int]]) -> list[Count]:
    return sorted((Count(k, n) for k, n in rows if n), key=lambda r: (-r.count, r.key))


def top_wards(
    session: Session, period: DateRange, limit: int = 10, *, live: bool = False
) -> list[Count]:
    """The wards with most cases (cases without a ward are left out), most first."""
    return _ward_rows(session, tally(session, period, (WARD,), live=live), limit)


def _ward_rows(session: Session, counts: Tally, limit: int) -> list[Count]:
    # A few dozen wards: naming and ranking them here costs nothing.
    names = {str(i): n for i, n in session.execute(select(Ward.id, Ward.name)).tuples()}
    return _ranked(
        (names.get(item, NO_WARD), n) for item, n in counts.of(WARD).items() if item != NONE
    )[:limit]


def call_outcomes(session: Session, period: DateRange, *, live: bool = False) -> list[Count]:
    """Hotline calls by how they ended (`-` while a call is still going), most first."""
    return _ranked(tally(session, period, (CALL,), live=live).of(CALL).items())


@dataclass(frozen=True)
class CaseFigures:
    per_day: list[DayCount]
    sla: list[SlaRow]
    channels: list[Count]
    wards: list[Count]


def case_figures(
    session: Session, period: DateRange, ward_limit: int = 10, *, live: bool = False
) -> CaseFigures:
    """The four case reports of the dashboards page from one tally of the range."""
    counts = tally(session, period, CASE_DIMENSIONS, live=live)
    return CaseFigures(
        _day_rows(session, counts),
        _sla_rows(counts),
        _ranked(counts.of(CHANNEL).items()),
        _ward_rows(session, counts, ward_limit),
    )


# -- keeping the summary ----------------------------------------------------------------------


@dataclass(frozen=True)
class Refreshed:
    days: int
    cases: int
    calls: int


def refresh_days(session: Session, days: Iterable[date], now: datetime) -> Refreshed:
    """Recompute the summary of whole days from `cases` and `calls` (idempotent).

    The days' change markers are deleted first, then the days counted: a change committed
    before that delete is in the counts, one committed after it keeps its marker, so the day
    stays uncovered (counted live) until the next refresh; so do the days of a change that
    commits between two of the counting queries, whose counts may then disagree with each
    other but are never read. Flushes, never commits; run it in its own short transaction
    (the caller's unit of work)."""
    chosen = sorted(set(days))
    if not chosen:
        return Refreshed(0, 0, 0)
    if _is_postgresql(session):
        session.execute(select(func.pg_advisory_xact_lock(_REFRESH_LOCK)))
    session.execute(
        delete(ReportChange)
        .where(ReportChange.day.in_(chosen))
        .execution_options(synchronize_session=False)
    )
    rows = _count_live(session, _runs(chosen), DIMENSIONS, by_day=True)
    for stmt in (
        delete(ReportDayCount).where(ReportDayCount.day.in_(chosen)),
        delete(ReportDay).where(ReportDay.day.in_(chosen)),
    ):
        session.execute(stmt.execution_options(synchronize_session=False))
    session.execute(insert(ReportDay), [{"day": d, "refreshed_at": now} for d in chosen])
    if rows:
        session.execute(
            insert(ReportDayCount),
            [{"day": d, "dimension": dim, "item": item, "total": n} for d, dim, item, n in rows],
        )
    session.flush()
    return Refreshed(
        len(chosen),
        sum(n for _d, dim, _i, n in rows if dim == CATEGORY),
        sum(n for _d, dim, _i, n in rows if dim == CALL),
    )


def first_day(session: Session) -> date | None:
    """The Huế day of the first case or call (None on an empty database)."""
    moments = [
        session.scalar(select(func.min(Case.created_at))),
        session.scalar(select(func.min(CallRecord.started_at))),
    ]
    known = [m for m in moments if m is not None]
    return local_date(min(known)) if known else None


def stale_days(session: Session, today: date, *, backfill: int = REFRESH_BATCH_DAYS) -> list[date]:
    """The days to refresh: every day with a change marker, and up to `backfill` days from the
    first case to `today` that were never summarised (newest first)."""
    changed = {_as_date(d) for d in session.scalars(select(ReportChange.day).distinct())}
    missing: list[date] = []
    start = first_day(session)
    if start is not None and backfill > 0:
        summarised = {
            _as_date(d)
            for d in session.scalars(
                select(ReportDay.day).where(ReportDay.day >= start, ReportDay.day <= today)
            )
        }
        day = today
        while day >= start and len(missing) < backfill:
            if day not in summarised and day not in changed:
                missing.append(day)
            day -= timedelta(days=1)
    return sorted(changed | set(missing))


def batches(days: Sequence[date], size: int = REFRESH_BATCH_DAYS) -> list[list[date]]:
    return [list(days[i : i + size]) for i in range(0, len(days), size)]
