"""What the bot keeps of its own understanding: the messages it was unsure about reach the
intent-training review queue; confident ones and answers to a form's questions do not."""

from __future__ import annotations

from collections.abc import Callable

from sqlalchemy import select
from sqlalchemy.orm import Session

from bot.dialogue import Turn
from intake.models import Direction, Message
from intake.services.training import review_queue

# The model trained on the shipped data is unsure about this one.
UNSURE = "cá chết trắng hồ tịnh tâm"
THRESHOLD = 0.35  # the embedded engine's default fallback threshold


def _inbound(session: Session) -> dict[str, Message]:
    rows = session.scalars(select(Message).where(Message.direction == Direction.INBOUND))
    return {m.text: m for m in rows}


def test_an_unsure_message_is_stored_with_its_score_and_waits_for_review(
    say: Callable[..., Turn], seeded: Session
) -> None:
    turn = say(UNSURE)
    assert "chưa hiểu ý bạn" in turn.replies[-1]
    say("chào ad", sender="u2")
    stored = _inbound(seeded)
    unsure = stored[UNSURE]
    assert unsure.intent == "nlu_fallback"
    assert unsure.confidence is not None and 0 < unsure.confidence < THRESHOLD
    assert stored["chào ad"].intent == "greeting"
    assert stored["chào ad"].confidence is not None and stored["chào ad"].confidence > THRESHOLD
    queue = review_queue(seeded, threshold=THRESHOLD)
    assert [(item.kind, item.text, item.predicted_intent) for item in queue] == [
        ("message", UNSURE, "nlu_fallback")
    ]


def test_answers_to_a_forms_questions_are_not_classified(
    say: Callable[..., Turn], seeded: Session
) -> None:
    say("đèn đường hỏng cả tuần nay, tối thui rất nguy hiểm")
    say("kiệt 5 Chi Lăng, phường Phú Hậu")  # answers "where?": not an intent to learn
    stored = _inbound(seeded)
    assert stored["đèn đường hỏng cả tuần nay, tối thui rất nguy hiểm"].intent == "complaint"
    answer = stored["kiệt 5 Chi Lăng, phường Phú Hậu"]
    assert (answer.intent, answer.confidence) == (None, None)
    assert review_queue(seeded, threshold=THRESHOLD) == []
