"""Intent training: messages and call transcripts an admin has reviewed for the bot."""

from __future__ import annotations

import enum
from datetime import datetime

from sqlalchemy import Float, ForeignKey, String, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from intake.models.base import Base, UTCDateTime, str_enum
from intake.models.users import User


class ReviewStatus(enum.StrEnum):
    PROPOSED = "proposed"  # an agent corrected the bot's label; an admin has not confirmed it yet
    LABELLED = "labelled"  # confirmed: the text is now a training example
    DISMISSED = "dismissed"  # not useful as training data (noise, personal data, ...)


class TrainingReview(Base):
    """The right intent (and complaint category) for one chat message or one call transcript.

    A message or call appears in the review queue while it has no row here (or only a proposed
    correction); labelling it adds the text to the Rasa training files."""

    __tablename__ = "training_reviews"

    id: Mapped[int] = mapped_column(primary_key=True)
    message_id: Mapped[int | None] = mapped_column(
        ForeignKey("messages.id", ondelete="CASCADE"), unique=True
    )
    case_id: Mapped[int | None] = mapped_column(
        ForeignKey("cases.id", ondelete="CASCADE"), unique=True
    )
    text: Mapped[str] = mapped_column(Text)
    predicted_intent: Mapped[str | None] = mapped_column(String(40))
    predicted_confidence: Mapped[float | None] = mapped_column(Float)
    status: Mapped[ReviewStatus] = mapped_column(str_enum(ReviewStatus, "review_status"))
    corrected_intent: Mapped[str | None] = mapped_column(String(40))
    corrected_category: Mapped[str | None] = mapped_column(String(40))
    proposed_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    proposed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    reviewed_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    reviewed_at: Mapped[datetime | None] = mapped_column(UTCDateTime, index=True)

    proposed_by: Mapped[User | None] = relationship(foreign_keys=[proposed_by_id])
    reviewed_by: Mapped[User | None] = relationship(foreign_keys=[reviewed_by_id])
