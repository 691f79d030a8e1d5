from __future__ import annotations

from datetime import timedelta

from sqlalchemy import select

from intake.delivery import DeliveryError, deliver_one, web_chat_sender
from intake.models import Channel, Conversation, Direction, Message, OutboxStatus
from intake.services import outbox


def test_enqueue_is_idempotent_by_key(session, now):
    a = outbox.enqueue(
        session, key="k1", channel=Channel.SMS, recipient="+84905000001", body="x", now=now
    )
    b = outbox.enqueue(
        session, key="k1", channel=Channel.SMS, recipient="+84905000001", body="y", now=now
    )
    assert a.id == b.id and b.body == "x"


def test_failures_back_off_then_give_up(session, now):
    msg = outbox.enqueue(
        session, key="k", channel=Channel.SMS, recipient="+84905000001", body="x", now=now
    )

    def broken(_s, _m, _now):
        raise DeliveryError("provider 503")

    senders = {Channel.SMS: broken}
    t = now
    delays = []
    for _ in range(outbox.MAX_ATTEMPTS):
        assert deliver_one(session, msg.id, t, senders) is not None
        delays.append(msg.next_attempt_at - t)
        t = msg.next_attempt_at
    assert delays[:3] == [timedelta(seconds=30), timedelta(seconds=60), timedelta(seconds=120)]
    assert msg.status == OutboxStatus.FAILED and msg.attempts == outbox.MAX_ATTEMPTS
    assert max(delays) == outbox.MAX_DELAY
    assert msg.last_error == "provider 503"
    assert outbox.due_ids(session, t + timedelta(days=1)) == []


def test_not_due_yet_is_left_alone(session, now):
    msg = outbox.enqueue(
        session,
        key="k",
        channel=Channel.SMS,
        recipient="+84905000001",
        body="x",
        now=now + timedelta(minutes=5),
    )
    assert deliver_one(session, msg.id, now, {}) is None
    assert msg.attempts == 0


def test_channel_without_configured_sender_is_retried_later(session, now):
    msg = outbox.enqueue(
        session, key="k", channel=Channel.ZALO, recipient="123456789012345", body="x", now=now
    )
    assert deliver_one(session, msg.id, now, {}) == OutboxStatus.PENDING
    assert "no sender configured for zalo" in msg.last_error


def test_web_chat_reply_lands_in_the_conversation(session, now, make_contact):
    contact = make_contact(channel=Channel.WEB)
    conv = Conversation(
        contact_id=contact.id,
        channel=Channel.WEB,
        started_at=now,
        last_message_at=now,
        bot_state={},
    )
    session.add(conv)
    session.flush()
    msg = outbox.enqueue(
        session,
        key="k",
        channel=Channel.WEB,
        recipient=str(conv.id),
        body="Mã phản ánh HUE-261126-0001",
        now=now,
        conversation_id=conv.id,
    )
    assert deliver_one(session, msg.id, now, {Channel.WEB: web_chat_sender}) == OutboxStatus.SENT
    reply = session.scalars(select(Message)).one()
    assert reply.direction == Direction.OUTBOUND and "HUE-261126-0001" in reply.text
