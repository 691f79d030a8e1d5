"""Delivering outbox messages to citizens through the channel they used.

A sender returns the provider's message id or raises DeliveryError; the outbox records either,
and a failed message is tried again later with back-off.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping
from datetime import datetime

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from intake.models import Channel, Conversation, Direction, Message, OutboxMessage, OutboxStatus
from intake.pii import masked
from intake.services import outbox
from intake.validation import normalize_text

log = logging.getLogger(__name__)


class DeliveryError(Exception):
    """The provider refused or could not be reached. The message stays queued for a retry
    unless the refusal is `permanent` (a retry cannot succeed: a blocked user, a bad number)."""

    def __init__(self, message: str, *, permanent: bool = False) -> None:
        super().__init__(message)
        self.permanent = permanent


Sender = Callable[[Session, OutboxMessage, datetime], str | None]


def web_chat_sender(session: Session, message: OutboxMessage, now: datetime) -> str | None:
    """Web chat has no provider: the reply is written into the conversation the widget polls."""
    conversation = None
    if message.conversation_id is not None:
        conversation = session.get(Conversation, message.conversation_id)
    if conversation is None:
        raise DeliveryError("web chat reply without a conversation")
    reply = Message(
        conversation_id=conversation.id,
        channel=Channel.WEB,
        direction=Direction.OUTBOUND,
        provider_message_id=f"outbox-{message.id}",
        sender="system",
        text=message.body,
        normalized_text=normalize_text(message.body),
        created_at=now,
    )
    session.add(reply)
    conversation.last_message_at = now
    session.flush()
    return reply.provider_message_id


def deliver_one(
    session: Session, message_id: int, now: datetime, senders: Mapping[Channel, Sender]
) -> OutboxStatus | None:
    """Try to send one due message; None when it was not due or another worker has it."""
    message = outbox.claim(session, message_id, now)
    if message is None:
        return None
    _attempt(session, message, now, senders)
    session.flush()
    return message.status


def deliver_many(
    session: Session, message_ids: list[int], now: datetime, senders: Mapping[Channel, Sender]
) -> dict[int, OutboxStatus]:
    """Send several due messages under one claim and one flush (a worker's fresh replies).

    A sender that breaks in an unexpected way counts as a failed try of its own message, so the
    others' outcomes are still recorded when the caller commits."""
    results: dict[int, OutboxStatus] = {}
    for message in outbox.claim_many(session, message_ids, now):
        try:
            _attempt(session, message, now, senders)
        except Exception as exc:
            log.exception("outbox %s: the sender failed unexpectedly", message.id)
            outbox.record_failure(message, now, f"{type(exc).__name__}: {exc}")
        results[message.id] = message.status
    session.flush()
    return results


def _attempt(
    session: Session, message: OutboxMessage, now: datetime, senders: Mapping[Channel, Sender]
) -> None:
    sender = senders.get(message.channel)
    if sender is None:
        outbox.record_failure(message, now, f"no sender configured for {message.channel.value}")
    else:
        try:
            provider_id = sender(session, message, now)
        except DeliveryError as exc:
            outbox.record_failure(message, now, str(exc), permanent=exc.permanent)
        else:
            outbox.record_sent(message, now, provider_id)
    log.log(
        logging.INFO if message.status != OutboxStatus.FAILED else logging.ERROR,
        "outbox %s to %s via %s: %s (attempt %d)",
        message.id,
        masked(message.recipient),
        message.channel.value,
        message.status.value,
        message.attempts,
    )


def pending_count(session: Session) -> int:
    stmt = select(func.count()).where(OutboxMessage.status == OutboxStatus.PENDING)
    return int(session.scalar(stmt) or 0)
