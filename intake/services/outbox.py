"""The notification outbox: enqueue once, send with retries and back-off, never lose one."""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import event, select
from sqlalchemy.orm import Session

from intake.models import Channel, OutboxMessage, OutboxStatus

BASE_DELAY = timedelta(seconds=30)
MAX_DELAY = timedelta(hours=1)
MAX_ATTEMPTS = 10


_QUEUED = "outbox_queued"


@event.listens_for(Session, "pending_to_persistent")
def _remember_queued(session: Session, instance: object) -> None:
    if isinstance(instance, OutboxMessage):
        session.info.setdefault(_QUEUED, []).append(instance)


def queued_in(session: Session) -> list[OutboxMessage]:
    """The messages this session has written so far (after a flush), for sending at once."""
    return list(session.info.get(_QUEUED, ()))


def enqueue(
    session: Session,
    *,
    key: str,
    channel: Channel,
    recipient: str,
    body: str,
    now: datetime,
    case_id: int | None = None,
    conversation_id: int | None = None,
) -> OutboxMessage:
    """Queue a notification. The same `key` enqueued twice gives back the first message."""
    existing = session.scalar(select(OutboxMessage).where(OutboxMessage.idempotency_key == key))
    if existing is not None:
        return existing
    message = new_message(
        key=key,
        channel=channel,
        recipient=recipient,
        body=body,
        now=now,
        case_id=case_id,
        conversation_id=conversation_id,
    )
    session.add(message)
    session.flush()
    return message


def new_message(
    *,
    key: str,
    channel: Channel,
    recipient: str,
    body: str,
    now: datetime,
    case_id: int | None = None,
    conversation_id: int | None = None,
) -> OutboxMessage:
    """A pending message, not yet added: for keys that cannot exist yet (a brand-new case)."""
    return OutboxMessage(
        idempotency_key=key,
        channel=channel,
        recipient=recipient,
        body=body,
        case_id=case_id,
        conversation_id=conversation_id,
        status=OutboxStatus.PENDING,
        attempts=0,
        max_attempts=MAX_ATTEMPTS,
        next_attempt_at=now,
        created_at=now,
    )


def due_ids(session: Session, now: datetime, limit: int = 100) -> list[int]:
    """Ids of pending messages whose next try is due, oldest first."""
    stmt = (
        select(OutboxMessage.id)
        .where(OutboxMessage.status == OutboxStatus.PENDING, OutboxMessage.next_attempt_at <= now)
        .order_by(OutboxMessage.next_attempt_at, OutboxMessage.id)
        .limit(limit)
    )
    return list(session.scalars(stmt))


def claim(session: Session, message_id: int, now: datetime) -> OutboxMessage | None:
    """Lock one due message for sending; None if it is gone, sent, or taken by another worker."""
    found = claim_many(session, [message_id], now)
    return found[0] if found else None


def claim_many(session: Session, message_ids: list[int], now: datetime) -> list[OutboxMessage]:
    """Lock the due messages among these ids, oldest first; the ones already sent, not yet
    due, or taken by another worker are left out."""
    if not message_ids:
        return []
    stmt = (
        select(OutboxMessage)
        .where(
            OutboxMessage.id.in_(message_ids),
            OutboxMessage.status == OutboxStatus.PENDING,
            OutboxMessage.next_attempt_at <= now,
        )
        .order_by(OutboxMessage.id)
    )
    if session.get_bind().dialect.name == "postgresql":
        stmt = stmt.with_for_update(skip_locked=True)
    return list(session.scalars(stmt))


def record_sent(message: OutboxMessage, now: datetime, provider_message_id: str | None) -> None:
    message.attempts += 1
    message.status = OutboxStatus.SENT
    message.sent_at = now
    message.provider_message_id = provider_message_id
    message.last_error = None


def record_failure(
    message: OutboxMessage, now: datetime, error: str, *, permanent: bool = False
) -> None:
    """Count a failed try; back off exponentially, and give up after `max_attempts` (or at
    once when the provider refused for good)."""
    message.attempts += 1
    message.last_error = error[:2000]
    if permanent or message.attempts >= message.max_attempts:
        message.status = OutboxStatus.FAILED
        return
    delay = min(BASE_DELAY * (2 ** (message.attempts - 1)), MAX_DELAY)
    message.next_attempt_at = now + delay
