"""Conversations with residents: one open conversation per channel identity, every message kept,
and the hand-off between the bot and a human agent."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from intake.models import (
    Channel,
    ContactIdentity,
    Conversation,
    ConversationState,
    Direction,
    Message,
)
from intake.services import outbox
from intake.services.contacts import PHONE_CHANNELS, contact_for_identity
from intake.validation import ValidationError, normalize_phone, normalize_text


def open_conversation(
    session: Session,
    channel: Channel,
    sender_id: str,
    now: datetime,
    *,
    display_name: str | None = None,
) -> Conversation:
    """The resident's current conversation on this channel, or a new one.

    Conversation state (the bot's forms and slots) lives in the database, keyed by channel and
    sender, so it survives restarts and any worker can continue it.
    """
    phone = None
    external_id = sender_id
    if channel in PHONE_CHANNELS:
        try:
            phone = normalize_phone(sender_id)
        except ValidationError:
            phone = None
        external_id = phone or sender_id
    # A resident already known on this channel: one query finds their open conversation.
    conversation = session.scalar(
        select(Conversation)
        .join(ContactIdentity, ContactIdentity.contact_id == Conversation.contact_id)
        .where(
            ContactIdentity.channel == channel,
            ContactIdentity.external_id == external_id,
            Conversation.channel == channel,
            Conversation.state != ConversationState.CLOSED,
        )
        .order_by(Conversation.id.desc())
        .limit(1)
    )
    if conversation is not None:
        return conversation
    contact = contact_for_identity(
        session, channel, external_id, now, phone_e164=phone, display_name=display_name
    )
    conversation = session.scalar(
        select(Conversation)
        .where(
            Conversation.contact_id == contact.id,
            Conversation.channel == channel,
            Conversation.state != ConversationState.CLOSED,
        )
        .order_by(Conversation.id.desc())
        .limit(1)
    )
    if conversation is None:
        conversation = Conversation(
            contact_id=contact.id,
            channel=channel,
            state=ConversationState.BOT,
            bot_state={},
            started_at=now,
            last_message_at=now,
        )
        session.add(conversation)
        session.flush()
    return conversation


def record_inbound(
    session: Session,
    conversation: Conversation,
    text: str,
    now: datetime,
    *,
    provider_message_id: str | None = None,
    raw: dict[str, Any] | None = None,
    known_new: bool = False,
) -> Message | None:
    """Store what the resident sent; None if the provider already delivered this message.

    `known_new`: the caller has already made sure this provider id is new (the inbox stores
    each delivery once), so the check is skipped; the unique constraint still holds."""
    if provider_message_id is not None and not known_new:
        seen = session.scalar(
            select(Message.id).where(
                Message.channel == conversation.channel,
                Message.provider_message_id == provider_message_id,
            )
        )
        if seen is not None:
            return None
    message = Message(
        conversation_id=conversation.id,
        channel=conversation.channel,
        direction=Direction.INBOUND,
        provider_message_id=provider_message_id,
        sender="citizen",
        text=text,
        normalized_text=normalize_text(text),
        raw=raw,
        created_at=now,
    )
    session.add(message)
    conversation.last_message_at = now
    return message


def record_outbound(
    session: Session, conversation: Conversation, text: str, now: datetime, *, sender: str = "bot"
) -> Message:
    message = Message(
        conversation_id=conversation.id,
        channel=conversation.channel,
        direction=Direction.OUTBOUND,
        # Set, though empty, so that an inbound message and its replies share one column list
        # and go to PostgreSQL as one multi-row INSERT.
        provider_message_id=None,
        raw=None,
        sender=sender,
        text=text,
        normalized_text=normalize_text(text),
        created_at=now,
    )
    session.add(message)
    conversation.last_message_at = now
    session.flush()
    return message


def send_to_resident(
    session: Session,
    conversation: Conversation,
    text: str,
    now: datetime,
    *,
    sender: str,
    key: str,
) -> Message:
    """Write to the resident in their conversation (an agent's reply, say).

    The message is kept in the conversation; on every channel but web chat (whose page reads
    the conversation) it is also queued in the outbox under `key`, to go out through the
    provider with retries."""
    message = record_outbound(session, conversation, text, now, sender=sender)
    if conversation.channel != Channel.WEB:
        identity = session.scalar(
            select(ContactIdentity).where(
                ContactIdentity.contact_id == conversation.contact_id,
                ContactIdentity.channel == conversation.channel,
            )
        )
        if identity is None:
            raise ValueError(f"conversation {conversation.id} has no {conversation.channel} id")
        outbox.enqueue(
            session,
            key=key,
            channel=Channel.SMS if conversation.channel == Channel.VOICE else conversation.channel,
            recipient=identity.external_id,
            body=text,
            now=now,
            conversation_id=conversation.id,
        )
    return message


def hand_off(session: Session, conversation: Conversation, now: datetime, reason: str) -> None:
    """Flag the conversation for the console; the bot stays silent until it is handed back."""
    conversation.state = ConversationState.WAITING_AGENT
    state = dict(conversation.bot_state or {})
    state["handoff"] = {"at": now.isoformat(), "reason": reason}
    conversation.bot_state = state
    session.flush()


def take(session: Session, conversation_id: int, user_id: int) -> bool:
    """An agent takes a conversation waiting for one; False if another agent was quicker.

    One UPDATE guarded by the state: of two agents clicking at once, exactly one wins."""
    result = session.execute(
        update(Conversation)
        .where(
            Conversation.id == conversation_id,
            Conversation.state == ConversationState.WAITING_AGENT,
        )
        .values(state=ConversationState.AGENT, assigned_user_id=user_id)
        .execution_options(synchronize_session="fetch")
    )
    session.flush()
    return bool(getattr(result, "rowcount", 0) == 1)


def hand_back(session: Session, conversation: Conversation) -> None:
    """An agent returns the conversation to the bot, which starts afresh."""
    conversation.state = ConversationState.BOT
    conversation.assigned_user_id = None
    conversation.bot_state = {}
    session.flush()
