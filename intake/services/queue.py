"""The agents' queue: filtered, most urgent first, newest first, with keyset pagination.

Order: priority ascending (emergency = 1 first), then created_at and id descending. The pages
are read one priority at a time: within a priority the keyset `(created_at, id) < cursor` is a
plain range on the `(…, priority, created_at, id)` indexes read backwards, so page 1 000 costs
what page 1 costs (no OFFSET). Priorities are the `Priority` values.
"""

from __future__ import annotations

import base64
import binascii
import enum
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import ColumnElement, Select, and_, literal, or_, select, tuple_
from sqlalchemy.orm import Session, joinedload

from intake.models import Agency, Case, CaseStatus, Category, Channel, Priority, Role, User, Ward
from intake.services.cases import OPEN_STATUSES
from intake.services.codes import canonical_code
from intake.validation import normalize_text

PAGE_SIZE = 50
DUE_SOON = timedelta(hours=1)


class SlaState(enum.StrEnum):
    ON_TIME = "on_time"
    ACK_OVERDUE = "ack_overdue"
    RESOLVE_OVERDUE = "resolve_overdue"
    DUE_SOON = "due_soon"


class Scope(enum.StrEnum):
    OPEN = "open"
    ALL = "all"


@dataclass(frozen=True)
class Cursor:
    """Where a page ends: the last case's sort key."""

    priority: int
    created_at: datetime
    id: int

    def encode(self) -> str:
        raw = f"{self.priority}|{self.created_at.isoformat()}|{self.id}".encode()
        return base64.urlsafe_b64encode(raw).decode().rstrip("=")

    @classmethod
    def decode(cls, token: str) -> Cursor | None:
        """The cursor in `token`, or None if it is not one of ours."""
        try:
            raw = base64.urlsafe_b64decode(token + "=" * (-len(token) % 4)).decode()
            priority, created, case_id = raw.split("|")
            created_at = datetime.fromisoformat(created)
            if created_at.tzinfo is None:
                return None
            return cls(int(priority), created_at, int(case_id))
        except (binascii.Error, UnicodeDecodeError, ValueError):
            return None

    @classmethod
    def of(cls, case: Case) -> Cursor:
        return cls(case.priority, case.created_at, case.id)


@dataclass(frozen=True)
class QueueFilter:
    """What the agent asked for. Empty fields do not filter."""

    status: CaseStatus | None = None
    scope: Scope = Scope.OPEN  # used when no status is chosen
    category: str | None = None
    channel: Channel | None = None
    ward: str | None = None
    agency: str | None = None
    assignee: str | None = None  # a username, "me" or "none"
    sla: SlaState | None = None
    text: str | None = None


@dataclass(frozen=True)
class QueuePage:
    cases: list[Case]
    next_cursor: str | None


def _conditions(
    session: Session, flt: QueueFilter, viewer: User, now: datetime, code_prefix: str
) -> list[ColumnElement[bool]] | None:
    """The WHERE conditions of the filter, or None when nothing can match."""
    conds: list[ColumnElement[bool]] = []
    if viewer.role == Role.AGENCY_OFFICER:
        if viewer.agency_id is None:
            return None
        conds.append(Case.agency_id == viewer.agency_id)
    if flt.status is not None:
        conds.append(Case.status == flt.status)
    elif flt.scope == Scope.OPEN:
        conds.append(Case.status.in_(sorted(OPEN_STATUSES)))
    if flt.channel is not None:
        conds.append(Case.channel == flt.channel)
    for model, code, column in (
        (Category, flt.category, Case.category_id),
        (Ward, flt.ward, Case.ward_id),
        (Agency, flt.agency, Case.agency_id),
    ):
        if code:
            found = session.scalar(select(model.id).where(model.code == code))
            if found is None:
                return None
            conds.append(column == found)
    if flt.assignee == "me":
        conds.append(Case.assignee_id == viewer.id)
    elif flt.assignee == "none":
        conds.append(Case.assignee_id.is_(None))
    elif flt.assignee:
        user_id = session.scalar(select(User.id).where(User.username == flt.assignee))
        if user_id is None:
            return None
        conds.append(Case.assignee_id == user_id)
    if flt.sla is not None:
        conds.append(sla_condition(flt.sla, now))
    if flt.text:
        text = normalize_text(flt.text)
        code = canonical_code(text, code_prefix)
        if code:
            conds.append(Case.code == code)
        else:
            escaped = text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
            conds.append(Case.description.ilike(f"%{escaped}%", escape="\\"))
    return conds


def sla_condition(state: SlaState, now: datetime) -> ColumnElement[bool]:
    """Open cases in this SLA state (closed cases have no running clock)."""
    is_open = Case.status.in_(sorted(OPEN_STATUSES))
    unacknowledged = Case.acknowledged_at.is_(None)
    if state == SlaState.ACK_OVERDUE:
        return and_(is_open, unacknowledged, Case.ack_due_at < now)
    if state == SlaState.RESOLVE_OVERDUE:
        return and_(is_open, Case.resolve_due_at < now)
    if state == SlaState.DUE_SOON:
        soon = now + DUE_SOON
        return and_(
            is_open,
            or_(
                and_(unacknowledged, Case.ack_due_at >= now, Case.ack_due_at < soon),
                and_(Case.resolve_due_at >= now, Case.resolve_due_at < soon),
            ),
        )
    return and_(
        is_open,
        or_(Case.acknowledged_at.is_not(None), Case.ack_due_at >= now),
        Case.resolve_due_at >= now,
    )


def _page_query(conds: Sequence[ColumnElement[bool]], limit: int) -> Select[tuple[Case]]:
    return (
        select(Case)
        .where(*conds)
        .order_by(Case.created_at.desc(), Case.id.desc())
        .limit(limit)
        .options(
            joinedload(Case.category),
            joinedload(Case.ward),
            joinedload(Case.agency),
            joinedload(Case.assignee),
        )
    )


def list_queue(
    session: Session,
    flt: QueueFilter,
    *,
    viewer: User,
    now: datetime,
    after: Cursor | None = None,
    page_size: int = PAGE_SIZE,
    code_prefix: str = "HUE",
) -> QueuePage:
    """One page of the queue as `viewer` may see it (an agency officer: their agency's)."""
    conds = _conditions(session, flt, viewer, now, code_prefix)
    if conds is None:
        return QueuePage([], None)
    found: list[Case] = []
    wanted = page_size + 1  # one more tells whether a next page exists
    for priority in sorted(int(p) for p in Priority):
        if after is not None and priority < after.priority:
            continue
        where = [*conds, Case.priority == priority]
        if after is not None and priority == after.priority:
            where.append(
                tuple_(Case.created_at, Case.id)
                < tuple_(literal(after.created_at, Case.created_at.type), literal(after.id))
            )
        found.extend(session.scalars(_page_query(where, wanted - len(found))).unique())
        if len(found) >= wanted:
            break
    page = found[:page_size]
    has_more = len(found) > page_size
    return QueuePage(page, Cursor.of(page[-1]).encode() if has_more and page else None)
