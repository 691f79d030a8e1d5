"""Raw deliveries from messaging providers, stored before the provider is acknowledged.

A webhook writes the delivery and answers; a worker runs the bot on it later. The provider's
message id is unique per channel, so a repeated delivery is stored once and has no second effect.
"""

from __future__ import annotations

import enum
from datetime import datetime
from typing import Any

from sqlalchemy import ForeignKey, Index, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from intake.models.base import Base, JSONType, UTCDateTime, str_enum, utcnow
from intake.models.contacts import Channel


class DeliveryStatus(enum.StrEnum):
    PENDING = "pending"  # stored, not yet answered
    DONE = "done"  # the bot (or the agent's queue) has it
    FAILED = "failed"  # processing kept failing; kept for an agent to look at


class InboundDelivery(Base):
    __tablename__ = "inbound_deliveries"
    __table_args__ = (
        UniqueConstraint("channel", "provider_message_id"),
        Index("ix_inbound_deliveries_status_queued_at", "status", "queued_at"),
        Index("ix_inbound_deliveries_sender", "channel", "sender_id", "status"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    channel: Mapped[Channel] = mapped_column(str_enum(Channel, "channel"))
    provider_message_id: Mapped[str] = mapped_column(String(128))
    sender_id: Mapped[str] = mapped_column(String(64))
    display_name: Mapped[str | None] = mapped_column(String(200))
    text: Mapped[str] = mapped_column(Text, default="")
    attachments: Mapped[list[str]] = mapped_column(JSONType, default=list)
    latitude: Mapped[float | None]
    longitude: Mapped[float | None]
    raw: Mapped[dict[str, Any] | None] = mapped_column(JSONType)
    status: Mapped[DeliveryStatus] = mapped_column(
        str_enum(DeliveryStatus, "delivery_status"), default=DeliveryStatus.PENDING
    )
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    last_error: Mapped[str | None] = mapped_column(Text)
    conversation_id: Mapped[int | None] = mapped_column(ForeignKey("conversations.id"))
    received_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    queued_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    processed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
