"""Conversations with residents: one open conversation per channel identity, every message kept,
and the hand-off between the bot and a human agent."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from typing import Any

from sqlalchemy import Select, select, tuple_, update
from sqlalchemy.orm import Session, aliased

from intake.models import (
    Channel,
    ContactIdentity,
    Conversation,
    ConversationState,
    Direction,
    Message,
)
from intake.services import outbox
from intake.services.contacts import PHONE_CHANNELS, find_or_create_contact
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
    phone, external_id = _identity(channel, sender_id)
    known: dict[tuple[Channel, str], Conversation | None] = session.info.get(_OPEN, {})
    identity_is_new = False
    if (channel, external_id) in known:
        # Looked up with the others of a batch (`prefetch_open_conversations`).
        conversation = known[(channel, external_id)]
        if conversation is not None and conversation.state != ConversationState.CLOSED:
            return conversation
        identity_is_new = (channel, external_id) in session.info.get(_NEW, ())
    else:
        # A resident already known on this channel: one query finds their open conversation.
        conversation = session.scalar(
            _open_conversations([(channel, external_id)]).with_only_columns(Conversation).limit(1)
        )
        if conversation is not None:
            return conversation
    contact, created = find_or_create_contact(
        session,
        channel,
        external_id,
        now,
        phone_e164=phone,
        display_name=display_name,
        identity_is_new=identity_is_new,
        flush=False,
    )
    conversation = None
    if not created:  # a new contact has no conversation yet
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
            contact=contact,
            channel=channel,
            state=ConversationState.BOT,
            bot_state={},
            started_at=now,
            last_message_at=now,
        )
        session.add(conversation)
    # The contact, its identity and the conversation in one flush (the caller needs the id).
    session.flush()
    if _OPEN in session.info:
        session.info[_OPEN][(channel, external_id)] = conversation
        session.info[_NEW].discard((channel, external_id))
    return conversation


# What `prefetch_open_conversations` found, kept in the session for `open_conversation`: the
# open conversation of each identity looked up (None: none open), and the identities never seen.
_OPEN = "open_conversations"
_NEW = "new_identities"


def prefetch_open_conversations(session: Session, senders: list[tuple[Channel, str]]) -> None:
    """Find the open conversations of several residents in one query, for `open_conversation`
    to use during this session (a worker answering a batch of deliveries); a resident never
    seen on that channel needs no further query to be told apart."""
    wanted = {(channel, _identity(channel, sender_id)[1]) for channel, sender_id in senders}
    found: dict[tuple[Channel, str], Conversation | None] = dict.fromkeys(wanted)
    seen: set[tuple[Channel, str]] = set()
    if wanted:
        open_ones = (
            select(Conversation).where(Conversation.state != ConversationState.CLOSED).subquery()
        )
        conversation = aliased(Conversation, open_ones)
        rows = session.execute(
            select(ContactIdentity.channel, ContactIdentity.external_id, conversation)
            .outerjoin(
                conversation,
                (conversation.contact_id == ContactIdentity.contact_id)
                & (conversation.channel == ContactIdentity.channel),
            )
            .where(tuple_(ContactIdentity.channel, ContactIdentity.external_id).in_(list(wanted)))
            .order_by(conversation.id.desc())
        )
        for channel, external_id, open_conversation in rows:
            seen.add((channel, external_id))
            if found.get((channel, external_id)) is None:  # the newest one, as one by one
                found[(channel, external_id)] = open_conversation
    session.info.setdefault(_OPEN, {}).update(found)
    session.info.setdefault(_NEW, set()).update(wanted - seen)


def _identity(channel: Channel, sender_id: str) -> tuple[str | None, str]:
    """The phone number (E.164) of a sender on a phone channel, and the identity's key."""
    if channel not in PHONE_CHANNELS:
        return None, sender_id
    try:
        phone = normalize_phone(sender_id)
    except ValidationError:
        return None, sender_id
    return phone, phone


def _open_conversations(identities: Iterable[tuple[Channel, str]]) -> Select[Any]:
    """(channel, external id, conversation) of these identities' open conversations, newest
    first."""
    return (
        select(ContactIdentity.channel, ContactIdentity.external_id, Conversation)
        .join(ContactIdentity, ContactIdentity.contact_id == Conversation.contact_id)
        .where(
            tuple_(ContactIdentity.channel, ContactIdentity.external_id).in_(list(identities)),
            Conversation.channel == ContactIdentity.channel,
            Conversation.state != ConversationState.CLOSED,
        )
        .order_by(Conversation.id.desc())
    )


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
    session: Session,
    conversation: Conversation,
    text: str,
    now: datetime,
    *,
    sender: str = "bot",
    flush: bool = True,
) -> Message:
    """Store a reply to the resident. `flush=False` leaves the INSERT to the caller's next flush
    (the bot's replies: a worker writes a whole batch's messages at once)."""
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
    if flush:
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
