"""Every hotline call as data: who called, the path through the menus, and how it ended."""

from __future__ import annotations

import enum
from datetime import datetime
from typing import Any

from sqlalchemy import ForeignKey, String
from sqlalchemy.orm import Mapped, mapped_column

from intake.models.base import Base, JSONType, UTCDateTime, str_enum


class CallOutcome(enum.StrEnum):
    CASE_CREATED = "case_created"
    REGISTERED = "registered"
    STATUS_TOLD = "status_told"
    AGENT = "agent"
    VOICEMAIL = "voicemail"
    EMERGENCY = "emergency"
    HUNG_UP = "hung_up"
    ERROR = "error"


class CallRecord(Base):
    """One call to the IVR. `steps` is the path through the menus, each step
    `{"at": ISO time, "step": name, ...details}`; personal data in it is masked."""

    __tablename__ = "calls"

    id: Mapped[int] = mapped_column(primary_key=True)
    # Asterisk's `agi_uniqueid`: a flow run again for the same call finds its row.
    unique_id: Mapped[str] = mapped_column(String(150), unique=True)
    caller_e164: Mapped[str | None] = mapped_column(String(16), index=True)
    dnid: Mapped[str | None] = mapped_column(String(40))
    started_at: Mapped[datetime] = mapped_column(UTCDateTime, index=True)
    ended_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    steps: Mapped[list[dict[str, Any]]] = mapped_column(JSONType, default=list)
    outcome: Mapped[CallOutcome | None] = mapped_column(str_enum(CallOutcome, "call_outcome"))
    case_id: Mapped[int | None] = mapped_column(ForeignKey("cases.id"), index=True)
    registration_id: Mapped[int | None] = mapped_column(ForeignKey("registrations.id"))
    recordings: Mapped[list[str]] = mapped_column(JSONType, default=list)
