"""Hotline calls as data: opened when the IVR answers, one step per menu choice, closed with an
outcome. Like every service these take the session and `now` and never commit: the call flow
commits after each step so nothing a caller said is lost if the call drops."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from intake.models import CallOutcome, CallRecord
from intake.services.errors import NotFound


def start_call(
    session: Session,
    unique_id: str,
    *,
    now: datetime,
    caller_e164: str | None = None,
    dnid: str | None = None,
) -> CallRecord:
    """The row of this call, created on first use; the same `unique_id` (a flow run again for
    the same call) returns the existing row."""
    call = session.scalar(select(CallRecord).where(CallRecord.unique_id == unique_id))
    if call is None:
        call = CallRecord(
            unique_id=unique_id,
            caller_e164=caller_e164,
            dnid=dnid or None,
            started_at=now,
            steps=[],
            recordings=[],
        )
        session.add(call)
        session.flush()
    return call


def get_call(session: Session, call_id: int) -> CallRecord:
    call = session.get(CallRecord, call_id)
    if call is None:
        raise NotFound(f"call {call_id} not found")
    return call


def add_step(
    session: Session,
    call_id: int,
    step: str,
    *,
    now: datetime,
    recording: str | None = None,
    **details: Any,
) -> CallRecord:
    """Append one step of the path through the menus (and the recording it produced)."""
    call = get_call(session, call_id)
    entry: dict[str, Any] = {"at": now.isoformat(), "step": step}
    entry.update({key: value for key, value in details.items() if value is not None})
    # JSON columns track reassignment, not in-place changes.
    call.steps = [*call.steps, entry]
    if recording:
        call.recordings = [*call.recordings, recording]
    session.flush()
    return call


def finish_call(
    session: Session,
    call_id: int,
    outcome: CallOutcome,
    *,
    now: datetime,
    case_id: int | None = None,
    registration_id: int | None = None,
) -> CallRecord:
    """Record how the call ended. The first outcome stands: a call that ended with a case and
    then errored while saying goodbye still counts as `case_created`."""
    call = get_call(session, call_id)
    if call.outcome is None:
        call.outcome = outcome
        call.ended_at = now
    if case_id is not None and call.case_id is None:
        call.case_id = case_id
    if registration_id is not None and call.registration_id is None:
        call.registration_id = registration_id
    session.flush()
    return call


def link_case(session: Session, call_id: int, case_id: int) -> CallRecord:
    """Tie the case a call opened to the call, as soon as it exists."""
    call = get_call(session, call_id)
    call.case_id = case_id
    session.flush()
    return call
