"""The two SLA clocks (acknowledge within 1 hour, resolve within 7 days) and the overdue sweep."""

from __future__ import annotations

import enum
from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy import Select, select
from sqlalchemy.orm import Session

from intake.models import Case, CaseEvent, CaseStatus, Priority
from intake.services.cases import OPEN_STATUSES, SYSTEM


class Outcome(enum.StrEnum):
    """How a finished case did against its resolution clock (for dashboards)."""

    ON_TIME = "on_time"
    LATE = "late"
    LATE_WITH_EXTENSION = "late_with_extension"
    ON_TIME_WITH_EXTENSION = "on_time_with_extension"
    OPEN = "open"


@dataclass
class SweepResult:
    ack_overdue: list[str] = field(default_factory=list)
    resolve_overdue: list[str] = field(default_factory=list)

    @property
    def total(self) -> int:
        return len(self.ack_overdue) + len(self.resolve_overdue)


def sweep_overdue(session: Session, now: datetime, *, limit: int = 500) -> SweepResult:
    """Mark open cases whose clocks ran out as overdue and escalate them.

    Each case is marked once per clock (the `*_overdue_at` timestamps), so running the sweep
    again, or from two beat processes, changes nothing more. An overdue resolution raises the
    case's priority one step so it climbs the queue.
    """
    result = SweepResult()
    ack_stmt = (
        select(Case)
        .where(
            Case.status.in_(OPEN_STATUSES),
            Case.acknowledged_at.is_(None),
            Case.ack_overdue_at.is_(None),
            Case.ack_due_at <= now,
        )
        .order_by(Case.ack_due_at)
        .limit(limit)
    )
    for case in session.scalars(_locking(session, ack_stmt)):
        case.ack_overdue_at = now
        _escalation(case, now, "ack", case.ack_due_at)
        result.ack_overdue.append(case.code)
    resolve_stmt = (
        select(Case)
        .where(
            Case.status.in_(OPEN_STATUSES),
            Case.resolved_at.is_(None),
            Case.resolve_overdue_at.is_(None),
            Case.resolve_due_at <= now,
        )
        .order_by(Case.resolve_due_at)
        .limit(limit)
    )
    for case in session.scalars(_locking(session, resolve_stmt)):
        case.resolve_overdue_at = now
        case.priority = max(int(Priority.EMERGENCY), case.priority - 1)
        _escalation(case, now, "resolve", case.resolve_due_at)
        result.resolve_overdue.append(case.code)
    session.flush()
    return result


def outcome(case: Case) -> Outcome:
    """On time, late, or late even with an extension, judged at resolution."""
    if case.resolved_at is None:
        return Outcome.OPEN
    extended = bool(case.extensions)
    if case.resolved_at <= case.resolve_due_at:
        return Outcome.ON_TIME_WITH_EXTENSION if extended else Outcome.ON_TIME
    return Outcome.LATE_WITH_EXTENSION if extended else Outcome.LATE


def _locking(session: Session, stmt: Select[tuple[Case]]) -> Select[tuple[Case]]:
    # Two sweeps at once (two beat processes) skip each other's rows instead of waiting.
    if session.get_bind().dialect.name == "postgresql":
        return stmt.with_for_update(skip_locked=True)
    return stmt


def _escalation(case: Case, now: datetime, clock: str, due: datetime) -> None:
    case.updated_at = now
    case.events.append(
        CaseEvent(
            at=now,
            actor=SYSTEM.name,
            action="overdue",
            data={
                "clock": clock,
                "due_at": due.isoformat(),
                "status": CaseStatus(case.status).value,
            },
            public=False,
        )
    )
