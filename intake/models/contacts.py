"""Citizens, the identities they reach us by, and their conversations."""

from __future__ import annotations

import enum
from datetime import datetime
from typing import Any

from sqlalchemy import ForeignKey, Index, String, Text, UniqueConstraint, text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from intake.models.base import Base, JSONType, UTCDateTime, str_enum, utcnow


class Channel(enum.StrEnum):
    VOICE = "voice"
    SMS = "sms"
    ZALO = "zalo"
    MESSENGER = "messenger"
    TELEGRAM = "telegram"
    WEB = "web"
    OPEN311 = "open311"
    CONSOLE = "console"


class Direction(enum.StrEnum):
    INBOUND = "inbound"
    OUTBOUND = "outbound"


class ConversationState(enum.StrEnum):
    BOT = "bot"
    WAITING_AGENT = "waiting_agent"
    AGENT = "agent"
    CLOSED = "closed"


class Contact(Base):
    __tablename__ = "contacts"

    id: Mapped[int] = mapped_column(primary_key=True)
    phone_e164: Mapped[str | None] = mapped_column(String(16), unique=True)
    full_name: Mapped[str | None] = mapped_column(String(200))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    identities: Mapped[list[ContactIdentity]] = relationship(
        back_populates="contact", cascade="all, delete-orphan"
    )


class ContactIdentity(Base):
    """A caller ID, SMS number, Zalo user id, Messenger PSID or Telegram chat id."""

    __tablename__ = "contact_identities"
    __table_args__ = (UniqueConstraint("channel", "external_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    contact_id: Mapped[int] = mapped_column(ForeignKey("contacts.id", ondelete="CASCADE"))
    channel: Mapped[Channel] = mapped_column(str_enum(Channel, "channel"))
    # Zalo user ids are 64-bit integers and larger: always kept as strings.
    external_id: Mapped[str] = mapped_column(String(64))
    display_name: Mapped[str | None] = mapped_column(String(200))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    contact: Mapped[Contact] = relationship(back_populates="identities")


class Conversation(Base):
    __tablename__ = "conversations"
    __table_args__ = (
        Index("ix_conversations_contact_channel", "contact_id", "channel"),
        # The console's live takeover lists the conversations waiting for (or with) an agent.
        Index(
            "ix_conversations_state_waiting",
            "state",
            "last_message_at",
            postgresql_where=text("state IN ('waiting_agent', 'agent')"),
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    contact_id: Mapped[int] = mapped_column(ForeignKey("contacts.id"))
    channel: Mapped[Channel] = mapped_column(str_enum(Channel, "channel"))
    state: Mapped[ConversationState] = mapped_column(
        str_enum(ConversationState, "conversation_state"), default=ConversationState.BOT
    )
    assigned_user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    bot_state: Mapped[dict[str, Any]] = mapped_column(JSONType, default=dict)
    started_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    last_message_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    closed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    contact: Mapped[Contact] = relationship()
    messages: Mapped[list[Message]] = relationship(
        back_populates="conversation", order_by="Message.id"
    )


class Message(Base):
    __tablename__ = "messages"
    # A provider may deliver the same message twice: its id is unique per channel.
    __table_args__ = (UniqueConstraint("channel", "provider_message_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    conversation_id: Mapped[int] = mapped_column(
        ForeignKey("conversations.id", ondelete="CASCADE"), index=True
    )
    channel: Mapped[Channel] = mapped_column(str_enum(Channel, "channel"))
    direction: Mapped[Direction] = mapped_column(str_enum(Direction, "direction"))
    provider_message_id: Mapped[str | None] = mapped_column(String(128))
    sender: Mapped[str] = mapped_column(String(20))  # citizen | bot | agent | system
    text: Mapped[str] = mapped_column(Text, default="")
    normalized_text: Mapped[str] = mapped_column(Text, default="")
    raw: Mapped[dict[str, Any] | None] = mapped_column(JSONType)
    intent: Mapped[str | None] = mapped_column(String(40))
    confidence: Mapped[float | None]
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    conversation: Mapped[Conversation] = relationship(back_populates="messages")
