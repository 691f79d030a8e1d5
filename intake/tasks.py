"""Celery tasks: take ids and plain values, open one session, call one service, commit."""

from __future__ import annotations

import logging
from typing import Any

import requests
from sqlalchemy.exc import OperationalError

from intake.channels.senders import configured_senders
from intake.clock import local_date, utcnow
from intake.db import unit_of_work
from intake.delivery import deliver_one
from intake.models import CaseKind, Channel, Priority
from intake.runtime import get_runtime
from intake.services import outbox, reports
from intake.services.cases import Actor, NewCase, open_case, untranscribed_ids
from intake.services.sla import sweep_overdue
from intake.transcription import describe, transcribe_case
from intake.worker import celery_app

log = logging.getLogger(__name__)


@celery_app.task(name="intake.open_case", acks_late=True)
def open_case_task(payload: dict[str, Any]) -> str:
    """Open a case from plain values; `intake_key` makes a redelivered task harmless."""
    runtime = get_runtime()
    data = NewCase(
        channel=Channel(payload["channel"]),
        description=payload.get("description", ""),
        kind=CaseKind(payload.get("kind", CaseKind.COMPLAINT.value)),
        category_code=payload.get("category"),
        ward_code=payload.get("ward"),
        location_text=payload.get("location_text"),
        latitude=payload.get("latitude"),
        longitude=payload.get("longitude"),
        priority=Priority(payload.get("priority", int(Priority.NORMAL))),
        reporter_contact_id=payload.get("reporter_contact_id"),
        conversation_id=payload.get("conversation_id"),
        anonymous=bool(payload.get("anonymous", False)),
        transcript=payload.get("transcript"),
        recording_path=payload.get("recording_path"),
        intake_key=payload.get("intake_key"),
    )
    with unit_of_work(runtime.sessions) as session:
        case = open_case(
            session,
            data,
            now=utcnow(),
            actor=Actor(payload.get("actor", "system")),
            settings=runtime.case_settings,
        )
        code = case.code
    return code


@celery_app.task(name="intake.sweep_sla")
def sweep_sla_task() -> dict[str, list[str]]:
    """Mark cases whose acknowledgement or resolution clock ran out (run by beat)."""
    runtime = get_runtime()
    with unit_of_work(runtime.sessions) as session:
        result = sweep_overdue(session, utcnow())
    if result.total:
        log.warning("SLA sweep: %d overdue", result.total)
    return {"ack_overdue": result.ack_overdue, "resolve_overdue": result.resolve_overdue}


@celery_app.task(name="intake.refresh_reports")
def refresh_reports_task(backfill: int = reports.REFRESH_BATCH_DAYS) -> int:
    """Bring the dashboards' daily summary up to date (run by beat): recompute the days whose
    cases or calls changed, and up to `backfill` days never summarised. Each batch of days is
    its own short transaction. Until a changed day is recomputed the dashboards count it live,
    so a late or lost run makes them slower, never wrong."""
    runtime = get_runtime()
    with unit_of_work(runtime.sessions) as session:
        days = reports.stale_days(session, local_date(utcnow()), backfill=backfill)
    for batch in reports.batches(days):
        with unit_of_work(runtime.sessions) as session:
            reports.refresh_days(session, batch, utcnow())
    return len(days)


@celery_app.task(name="intake.dispatch_outbox")
def dispatch_outbox_task(limit: int = 100) -> int:
    """Send every due notification, each in its own transaction so one failure stops none."""
    runtime = get_runtime()
    senders = configured_senders(runtime.settings)
    with unit_of_work(runtime.sessions) as session:
        due = outbox.due_ids(session, utcnow(), limit)
    sent = 0
    for message_id in due:
        with unit_of_work(runtime.sessions) as session:
            status = deliver_one(session, message_id, utcnow(), senders)
            sent += status is not None and status.value == "sent"
    return sent


@celery_app.task(
    name="asr.transcribe_case",
    bind=True,
    acks_late=True,
    ignore_result=True,  # queued from webhooks and calls: never wait on the result backend
    max_retries=5,
    autoretry_for=(requests.RequestException, OperationalError),
    retry_backoff=10,
    retry_backoff_max=600,
)
def transcribe_case_task(self: Any, case_id: int) -> dict[str, Any]:
    """Transcribe the recording on a case (queue `asr`, so speech workers scale on their own)."""
    return describe(transcribe_case(get_runtime(), case_id))


@celery_app.task(name="asr.requeue_untranscribed")
def requeue_untranscribed_task() -> int:
    """Queue again the recordings still without a transcript (run by beat: a lost task, a
    broker outage or a restarted speech worker leaves nothing untranscribed for long)."""
    runtime = get_runtime()
    with unit_of_work(runtime.sessions) as session:
        ids = untranscribed_ids(session, utcnow())
    for case_id in ids:
        transcribe_case_task.delay(case_id)
    if ids:
        log.warning("re-queued %d recordings for transcription", len(ids))
    return len(ids)
