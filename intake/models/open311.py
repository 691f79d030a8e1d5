"""Open311 GeoReport v2: the API keys of the systems that may post requests, and the requests
they posted (their token, and a fingerprint that makes a repeated POST harmless)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, Index, String
from sqlalchemy.orm import Mapped, mapped_column, relationship

from intake.models.base import Base, UTCDateTime, utcnow
from intake.models.cases import Case


class Open311ApiKey(Base):
    """A key given to one partner system. Only its SHA-256 is stored: the clear key is shown
    once, when it is created."""

    __tablename__ = "open311_api_keys"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    key_hash: Mapped[str] = mapped_column(String(64), unique=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    @property
    def active(self) -> bool:
        return self.revoked_at is None


class Open311Request(Base):
    """A case opened through `POST /open311/v2/requests.json`, by which key, under which token."""

    __tablename__ = "open311_requests"
    __table_args__ = (
        Index("ix_open311_requests_key_fingerprint", "api_key_id", "fingerprint", "created_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("cases.id", ondelete="CASCADE"), unique=True)
    api_key_id: Mapped[int] = mapped_column(ForeignKey("open311_api_keys.id"))
    token: Mapped[str] = mapped_column(String(64), unique=True)
    # SHA-256 of what was posted: the same POST again within a few minutes is the same request.
    fingerprint: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    case: Mapped[Case] = relationship()
    api_key: Mapped[Open311ApiKey] = relationship()
