"""What the public may know about a case: the view behind /track/<code> and Open311.

Everything a page or an API shows to the public comes from `public_case`, so the rule "never
personal data" is decided here once: no reporter, no description, no address, no CCCD, no
internal event; a registration case does not even show its ward. Public event texts are
masked too, in case an agent typed a phone number into a resolution.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass
from datetime import datetime

from intake.models import Case, CaseKind, CaseStatus
from intake.services.cases import OPEN_STATUSES, public_events
from intake.validation import mask_pii

# Open311 knows two statuses.
OPEN311_OPEN = "open"
OPEN311_CLOSED = "closed"


class SlaState(enum.StrEnum):
    """Where a case stands against its two clocks (acknowledge, resolve), at `now`."""

    AWAITING_ACK = "awaiting_ack"
    ACK_OVERDUE = "ack_overdue"
    WITHIN_DEADLINE = "within_deadline"
    RESOLVE_OVERDUE = "resolve_overdue"
    RESOLVED_ON_TIME = "resolved_on_time"
    RESOLVED_LATE = "resolved_late"
    ENDED = "ended"  # rejected, duplicate, or closed without a result: no clock applies


@dataclass(frozen=True)
class PublicEvent:
    at: datetime
    text: str


@dataclass(frozen=True)
class PublicCase:
    """A case as the public sees it; holds nothing that identifies a person."""

    code: str
    kind: CaseKind
    status: CaseStatus
    category_code: str | None
    category_name: str | None
    ward_name: str | None
    agency_name: str | None
    created_at: datetime
    updated_at: datetime
    ack_due_at: datetime
    resolve_due_at: datetime
    resolved_at: datetime | None
    extended: bool
    sla: SlaState
    events: tuple[PublicEvent, ...]

    @property
    def open311_status(self) -> str:
        return OPEN311_OPEN if self.status in OPEN_STATUSES else OPEN311_CLOSED

    @property
    def latest_note(self) -> str | None:
        return self.events[-1].text if self.events else None


def public_case(case: Case, now: datetime) -> PublicCase:
    """The public view of `case` at `now` (the SLA state depends on the time)."""
    registration = case.kind == CaseKind.REGISTRATION
    return PublicCase(
        code=case.code,
        kind=case.kind,
        status=case.status,
        category_code=case.category.code if case.category else None,
        category_name=case.category.name if case.category else None,
        # A registrant's ward is where they live: for a complaint it is where the problem is.
        ward_name=None if registration or case.ward is None else case.ward.name,
        # A registration goes to its ward's committee: the agency would name the ward.
        agency_name=None if registration or case.agency is None else case.agency.name,
        created_at=case.created_at,
        updated_at=case.updated_at,
        ack_due_at=case.ack_due_at,
        resolve_due_at=case.resolve_due_at,
        resolved_at=case.resolved_at,
        extended=bool(case.extensions),
        sla=sla_state(case, now),
        events=tuple(
            PublicEvent(at=event.at, text=mask_pii(event.public_text or ""))
            for event in public_events(case)
            if event.public_text and not (registration and event.action == "routed")
        ),
    )


def sla_state(case: Case, now: datetime) -> SlaState:
    """Judged against the clock itself, not only the sweep's marks (it may not have run yet)."""
    if case.status in OPEN_STATUSES:
        if case.resolve_overdue_at is not None or now > case.resolve_due_at:
            return SlaState.RESOLVE_OVERDUE
        if case.acknowledged_at is None:
            if case.ack_overdue_at is not None or now > case.ack_due_at:
                return SlaState.ACK_OVERDUE
            return SlaState.AWAITING_ACK
        return SlaState.WITHIN_DEADLINE
    if case.resolved_at is not None:
        if case.resolved_at <= case.resolve_due_at:
            return SlaState.RESOLVED_ON_TIME
        return SlaState.RESOLVED_LATE
    return SlaState.ENDED
