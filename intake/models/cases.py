"""Cases, their timeline, SLA extensions, attachments and the code counter."""

from __future__ import annotations

import enum
from datetime import date, datetime
from typing import Any

from sqlalchemy import (
    Boolean,
    Date,
    Float,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    text,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from intake.models.base import Base, JSONType, UTCDateTime, str_enum, utcnow
from intake.models.contacts import Channel, Contact
from intake.models.reference import Agency, Category, Ward
from intake.models.users import User


class CaseKind(enum.StrEnum):
    COMPLAINT = "complaint"
    REGISTRATION = "registration"
    INQUIRY = "inquiry"


class CaseStatus(enum.StrEnum):
    NEW = "new"
    ACKNOWLEDGED = "acknowledged"
    IN_PROGRESS = "in_progress"
    RESOLVED = "resolved"
    CLOSED = "closed"
    REJECTED = "rejected"
    DUPLICATE = "duplicate"
    REOPENED = "reopened"


class Priority(enum.IntEnum):
    """Lower sorts first: emergencies head every queue."""

    EMERGENCY = 1
    HIGH = 2
    NORMAL = 3
    LOW = 4


# The statuses whose SLA clocks run (intake.services.cases.OPEN_STATUSES), for partial indexes.
OPEN_SQL = text("status IN ('new', 'acknowledged', 'in_progress', 'reopened')")


class Case(Base):
    __tablename__ = "cases"
    __table_args__ = (
        Index("ix_cases_status_priority", "status", "priority", "created_at"),
        Index("ix_cases_ack_due_at", "ack_due_at"),
        Index("ix_cases_resolve_due_at", "resolve_due_at"),
        # The console queue: one priority at a time, newest first, with a keyset on
        # (created_at, id); backward index scans give the DESC order (see services/queue.py).
        Index("ix_cases_queue", "priority", "created_at", "id"),
        Index("ix_cases_queue_open", "priority", "created_at", "id", postgresql_where=OPEN_SQL),
        Index("ix_cases_queue_status", "status", "priority", "created_at", "id"),
        Index("ix_cases_queue_agency", "agency_id", "priority", "created_at", "id"),
        # "Mine" is an agent's open work; their closed cases are found by the other indexes.
        Index(
            "ix_cases_queue_assignee",
            "assignee_id",
            "priority",
            "created_at",
            "id",
            postgresql_where=OPEN_SQL,
        ),
        # SLA filters of the queue: only open cases have a running clock.
        Index(
            "ix_cases_ack_due_open",
            "ack_due_at",
            postgresql_where=text(f"{OPEN_SQL.text} AND acknowledged_at IS NULL"),
        ),
        Index("ix_cases_resolve_due_open", "resolve_due_at", postgresql_where=OPEN_SQL),
        # Dashboards count cases of a date range.
        Index("ix_cases_created_at", "created_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(32), unique=True)
    # Set by callers that may retry (a task redelivered after a crash): the same key never
    # opens a second case.
    intake_key: Mapped[str | None] = mapped_column(String(200), unique=True)
    kind: Mapped[CaseKind] = mapped_column(str_enum(CaseKind, "case_kind"))
    category_id: Mapped[int | None] = mapped_column(ForeignKey("categories.id"))
    status: Mapped[CaseStatus] = mapped_column(
        str_enum(CaseStatus, "case_status"), default=CaseStatus.NEW
    )
    priority: Mapped[int] = mapped_column(Integer, default=int(Priority.NORMAL))
    channel: Mapped[Channel] = mapped_column(str_enum(Channel, "channel"))
    description: Mapped[str] = mapped_column(Text, default="")
    transcript: Mapped[str | None] = mapped_column(Text)
    # Mean word confidence of the speech recogniser (0..1); None until transcribed.
    transcript_confidence: Mapped[float | None] = mapped_column(Float)
    recording_path: Mapped[str | None] = mapped_column(String(500))
    location_text: Mapped[str | None] = mapped_column(Text)
    ward_id: Mapped[int | None] = mapped_column(ForeignKey("wards.id"))
    latitude: Mapped[float | None] = mapped_column(Float)
    longitude: Mapped[float | None] = mapped_column(Float)
    agency_id: Mapped[int | None] = mapped_column(ForeignKey("agencies.id"), index=True)
    assignee_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"), index=True)
    reporter_contact_id: Mapped[int | None] = mapped_column(ForeignKey("contacts.id"), index=True)
    conversation_id: Mapped[int | None] = mapped_column(ForeignKey("conversations.id"))
    anonymous: Mapped[bool] = mapped_column(Boolean, default=False)
    master_case_id: Mapped[int | None] = mapped_column(ForeignKey("cases.id"))
    resolution: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    # The two SLA clocks: due times, when each was met, and when each was found overdue.
    ack_due_at: Mapped[datetime] = mapped_column(UTCDateTime)
    acknowledged_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    ack_overdue_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    resolve_due_at: Mapped[datetime] = mapped_column(UTCDateTime)
    resolved_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    resolve_overdue_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    closed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    category: Mapped[Category | None] = relationship()
    ward: Mapped[Ward | None] = relationship()
    agency: Mapped[Agency | None] = relationship()
    assignee: Mapped[User | None] = relationship()
    reporter: Mapped[Contact | None] = relationship()
    master_case: Mapped[Case | None] = relationship(remote_side="Case.id")
    events: Mapped[list[CaseEvent]] = relationship(
        back_populates="case", order_by="CaseEvent.id", cascade="all, delete-orphan"
    )
    extensions: Mapped[list[CaseExtension]] = relationship(
        back_populates="case", order_by="CaseExtension.id", cascade="all, delete-orphan"
    )
    attachments: Mapped[list[Attachment]] = relationship(
        back_populates="case", order_by="Attachment.id", cascade="all, delete-orphan"
    )

    @property
    def code_digits(self) -> str:
        return "".join(ch for ch in self.code if ch.isdigit())

    @property
    def is_overdue(self) -> bool:
        return self.ack_overdue_at is not None or self.resolve_overdue_at is not None


class CaseEvent(Base):
    """One entry of the timeline: who did what, when; public events show on /track."""

    __tablename__ = "case_events"

    id: Mapped[int] = mapped_column(primary_key=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("cases.id", ondelete="CASCADE"), index=True)
    at: Mapped[datetime] = mapped_column(UTCDateTime)
    actor_user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    actor: Mapped[str] = mapped_column(String(80))  # a username, "system", "citizen", "bot"
    action: Mapped[str] = mapped_column(String(40))
    data: Mapped[dict[str, Any]] = mapped_column(JSONType, default=dict)
    public: Mapped[bool] = mapped_column(Boolean, default=False)
    public_text: Mapped[str | None] = mapped_column(Text)

    case: Mapped[Case] = relationship(back_populates="events")


class CaseExtension(Base):
    __tablename__ = "case_extensions"

    id: Mapped[int] = mapped_column(primary_key=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("cases.id", ondelete="CASCADE"), index=True)
    at: Mapped[datetime] = mapped_column(UTCDateTime)
    by_user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    reason: Mapped[str] = mapped_column(Text)
    previous_due_at: Mapped[datetime] = mapped_column(UTCDateTime)
    new_due_at: Mapped[datetime] = mapped_column(UTCDateTime)

    case: Mapped[Case] = relationship(back_populates="extensions")


class Attachment(Base):
    __tablename__ = "attachments"

    id: Mapped[int] = mapped_column(primary_key=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("cases.id", ondelete="CASCADE"), index=True)
    message_id: Mapped[int | None] = mapped_column(ForeignKey("messages.id"))
    url: Mapped[str | None] = mapped_column(String(1000))
    storage_path: Mapped[str | None] = mapped_column(String(500))
    content_type: Mapped[str | None] = mapped_column(String(100))
    filename: Mapped[str | None] = mapped_column(String(255))
    size_bytes: Mapped[int | None] = mapped_column(Integer)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    case: Mapped[Case] = relationship(back_populates="attachments")


class CaseCodeCounter(Base):
    """The last sequence number handed out per local day; bumped atomically by an upsert."""

    __tablename__ = "case_code_counters"

    day: Mapped[date] = mapped_column(Date, primary_key=True)
    last_seq: Mapped[int] = mapped_column(Integer, default=0)
