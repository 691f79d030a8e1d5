"""The intent-training review queue: chat messages the bot was unsure about (or an agent
corrected) and call transcripts, waiting for an admin to give them the right label.

Labelling only records the decision here; adding the text to the Rasa training files is the
bot's business (`bot.nlu.editing`), done by the caller in the same request."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import and_, or_, select
from sqlalchemy.orm import Session

from intake.models import (
    Case,
    Direction,
    Message,
    ReviewStatus,
    TrainingReview,
    User,
)
from intake.services.errors import DomainError, NotFound

FALLBACK_INTENT = "nlu_fallback"


@dataclass(frozen=True)
class ReviewItem:
    """One message or call transcript in the queue."""

    kind: str  # "message" | "call"
    id: int  # the message id or the case id
    text: str
    channel: str
    created_at: datetime
    predicted_intent: str | None
    confidence: float | None
    case_code: str | None = None
    recording_path: str | None = None
    proposed_intent: str | None = None
    proposed_category: str | None = None
    proposed_by: str | None = None

    @property
    def key(self) -> str:
        return f"{self.kind}-{self.id}"


def review_queue(session: Session, *, threshold: float, limit: int = 100) -> list[ReviewItem]:
    """Unreviewed inbound messages below the fallback threshold, messages with an agent's
    proposed correction, and unreviewed call transcripts with a recording; newest first."""
    unsure = or_(
        Message.intent == FALLBACK_INTENT,
        and_(Message.confidence.is_not(None), Message.confidence < threshold),
    )
    messages = session.execute(
        select(Message, TrainingReview)
        .outerjoin(TrainingReview, TrainingReview.message_id == Message.id)
        .where(
            Message.direction == Direction.INBOUND,
            Message.text != "",
            or_(
                and_(TrainingReview.id.is_(None), unsure),
                TrainingReview.status == ReviewStatus.PROPOSED,
            ),
        )
        .order_by(Message.created_at.desc(), Message.id.desc())
        .limit(limit)
    ).all()
    calls = session.execute(
        select(Case, TrainingReview)
        .outerjoin(TrainingReview, TrainingReview.case_id == Case.id)
        .where(
            Case.recording_path.is_not(None),
            Case.transcript.is_not(None),
            Case.transcript != "",
            or_(TrainingReview.id.is_(None), TrainingReview.status == ReviewStatus.PROPOSED),
        )
        .order_by(Case.created_at.desc(), Case.id.desc())
        .limit(limit)
    ).all()
    items = [
        ReviewItem(
            kind="message",
            id=m.id,
            text=m.text,
            channel=str(m.channel),
            created_at=m.created_at,
            predicted_intent=m.intent,
            confidence=m.confidence,
            **_proposal(r),
        )
        for m, r in messages
    ]
    items += [
        ReviewItem(
            kind="call",
            id=c.id,
            text=c.transcript or "",
            channel=str(c.channel),
            created_at=c.created_at,
            predicted_intent=c.kind.value,
            confidence=c.transcript_confidence,
            case_code=c.code,
            recording_path=c.recording_path,
            **_proposal(r),
        )
        for c, r in calls
    ]
    items.sort(key=lambda i: i.created_at, reverse=True)
    return items[:limit]


def _proposal(review: TrainingReview | None) -> dict[str, str | None]:
    if review is None:
        return {}
    return {
        "proposed_intent": review.corrected_intent,
        "proposed_category": review.corrected_category,
        "proposed_by": review.proposed_by.full_name if review.proposed_by else None,
    }


def _review_for(session: Session, kind: str, item_id: int) -> TrainingReview:
    """The review row of a message or call, new (not yet added) if there is none."""
    if kind == "message":
        message = session.get(Message, item_id)
        if message is None or message.direction != Direction.INBOUND:
            raise NotFound("Không tìm thấy tin nhắn này.")
        review = session.scalar(select(TrainingReview).where(TrainingReview.message_id == item_id))
        if review is None:
            review = TrainingReview(
                message_id=message.id,
                text=message.text,
                predicted_intent=message.intent,
                predicted_confidence=message.confidence,
            )
        return review
    if kind == "call":
        case = session.get(Case, item_id)
        if case is None or not case.transcript:
            raise NotFound("Không tìm thấy bản ghi cuộc gọi này.")
        review = session.scalar(select(TrainingReview).where(TrainingReview.case_id == item_id))
        if review is None:
            review = TrainingReview(
                case_id=case.id,
                text=case.transcript,
                predicted_intent=None,
                predicted_confidence=case.transcript_confidence,
            )
        return review
    raise NotFound("Không tìm thấy mục này.")


def pending_text(session: Session, kind: str, item_id: int) -> str:
    """The text of a queued item (the message or the transcript), to label."""
    review = _review_for(session, kind, item_id)
    if review.status in {ReviewStatus.LABELLED, ReviewStatus.DISMISSED}:
        raise DomainError("Mục này đã được xử lý.")
    return review.text


def propose_correction(
    session: Session,
    message_id: int,
    *,
    intent: str,
    category: str | None,
    by: User,
    now: datetime,
) -> TrainingReview:
    """An agent says the bot got this message wrong; it waits in the queue for an admin."""
    review = _review_for(session, "message", message_id)
    if review.status in {ReviewStatus.LABELLED, ReviewStatus.DISMISSED}:
        raise DomainError("Tin nhắn này đã được quản trị viên xử lý.")
    review.status = ReviewStatus.PROPOSED
    review.corrected_intent = intent
    review.corrected_category = category
    review.proposed_by_id = by.id
    review.proposed_at = now
    session.add(review)
    session.flush()
    return review


def record_label(
    session: Session,
    kind: str,
    item_id: int,
    *,
    intent: str,
    category: str | None,
    by: User,
    now: datetime,
) -> TrainingReview:
    """The admin's label for a message or call (its text is now a training example)."""
    review = _review_for(session, kind, item_id)
    if review.status in {ReviewStatus.LABELLED, ReviewStatus.DISMISSED}:
        raise DomainError("Mục này đã được xử lý.")
    review.status = ReviewStatus.LABELLED
    review.corrected_intent = intent
    review.corrected_category = category
    review.reviewed_by_id = by.id
    review.reviewed_at = now
    session.add(review)
    session.flush()
    return review


def dismiss(
    session: Session, kind: str, item_id: int, *, by: User, now: datetime
) -> TrainingReview:
    """Take a message or call out of the queue without making it a training example."""
    review = _review_for(session, kind, item_id)
    if review.status in {ReviewStatus.LABELLED, ReviewStatus.DISMISSED}:
        raise DomainError("Mục này đã được xử lý.")
    review.status = ReviewStatus.DISMISSED
    review.reviewed_by_id = by.id
    review.reviewed_at = now
    session.add(review)
    session.flush()
    return review


def recent_reviews(session: Session, limit: int = 20) -> list[TrainingReview]:
    return list(
        session.scalars(
            select(TrainingReview)
            .where(TrainingReview.reviewed_at.is_not(None))
            .order_by(TrainingReview.reviewed_at.desc(), TrainingReview.id.desc())
            .limit(limit)
        )
    )
