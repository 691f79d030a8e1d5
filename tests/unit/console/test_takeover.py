"""Live takeover: the waiting list, taking (once), replying on the resident's channel, handing
back to the bot."""

from __future__ import annotations

from typing import Any

import pytest
from flask import Flask
from sqlalchemy import select

from intake.clock import utcnow
from intake.db import unit_of_work
from intake.models import Channel, Conversation, ConversationState, OutboxMessage, User
from intake.runtime import Runtime
from intake.services import conversations as conversation_service
from tests.unit.console.conftest import login
from tests.unit.console.desk import (
    REPORTER_PHONE,
    WEB_SESSION,
    Desk,
    conversation_state,
    post,
    seed_desk,
)


@pytest.fixture
def desk(runtime: Runtime) -> Desk:
    return seed_desk(runtime)


@pytest.fixture
def sms_conversation(runtime: Runtime, desk: Desk) -> int:
    with unit_of_work(runtime.sessions) as session:
        conversation = conversation_service.open_conversation(
            session, Channel.SMS, REPORTER_PHONE, utcnow()
        )
        conversation_service.record_inbound(
            session, conversation, "Cho tôi gặp tổng đài viên, số tôi 0905 123 456", utcnow()
        )
        conversation_service.hand_off(session, conversation, utcnow(), "request_agent")
        return conversation.id


def signed_in(app: Flask, username: str = "lan.agent") -> Any:
    client = app.test_client()
    assert login(client, username).status_code == 302
    return client


def user_id(runtime: Runtime, username: str) -> int:
    with unit_of_work(runtime.sessions) as session:
        found = session.scalar(select(User.id).where(User.username == username))
        assert found is not None
        return found


def test_only_desk_roles_open_the_takeover(app: Flask, desk: Desk) -> None:
    response = app.test_client().get("/console/conversations")
    assert response.status_code == 302 and "/login?next=" in response.headers["Location"]
    officer = signed_in(app, "an.hepco")
    assert officer.get("/console/conversations").status_code == 403
    assert officer.get("/console/conversations/poll.json").status_code == 403
    assert post(officer, f"/console/conversations/{desk.conversation_id}/take").status_code == 403
    for username in ("lan.agent", "hoa.supervisor", "minh.admin"):
        assert signed_in(app, username).get("/console/conversations").status_code == 200


def test_waiting_conversations_are_listed_and_polled_with_phones_masked(
    app: Flask, desk: Desk, sms_conversation: int
) -> None:
    client = signed_in(app)
    html = client.get("/console/conversations").get_data(as_text=True)
    assert f'action="/console/conversations/{sms_conversation}/take"' in html
    assert '<script src="/console/conversations/static/takeover.js" defer></script>' in html
    data = client.get("/console/conversations/poll.json").get_json()
    assert {c["id"] for c in data["waiting"]} == {desk.conversation_id, sms_conversation}
    assert data["mine"] == []
    sms = next(c for c in data["waiting"] if c["id"] == sms_conversation)
    assert sms["contact"] == "+84*******56" and "090*****56" in sms["last_message"]
    assert sms["reason"] == "request_agent"
    full = signed_in(app, "hoa.supervisor").get("/console/conversations/poll.json").get_json()
    sms = next(c for c in full["waiting"] if c["id"] == sms_conversation)
    assert sms["contact"] == REPORTER_PHONE


def test_take_reply_by_sms_and_hand_back(
    app: Flask, runtime: Runtime, desk: Desk, sms_conversation: int
) -> None:
    client = signed_in(app)
    url = f"/console/conversations/{sms_conversation}"
    assert client.post(f"{url}/take").status_code == 400  # no CSRF token
    response = post(client, f"{url}/take")
    assert response.status_code == 302 and response.headers["Location"].endswith(url)
    assert conversation_state(runtime, sms_conversation) == (
        "agent",
        user_id(runtime, "lan.agent"),
    )
    html = client.get(url).get_data(as_text=True)
    assert "Cho tôi gặp tổng đài viên" in html and "090*****56" in html
    assert f'action="{url}/reply"' in html
    assert post(client, f"{url}/reply", {"text": ""}).status_code == 302  # refused, flashed
    assert post(client, f"{url}/reply", {"text": "Chào anh, em là Lan."}).status_code == 302
    with unit_of_work(runtime.sessions) as session:
        queued = session.scalars(
            select(OutboxMessage).where(OutboxMessage.conversation_id == sms_conversation)
        ).all()
        assert [(m.channel.value, m.recipient, m.body) for m in queued] == [
            ("sms", REPORTER_PHONE, "Chào anh, em là Lan.")
        ]
    new = client.get(f"{url}/messages.json?after=0").get_json()
    assert new["state"] == "agent" and new["mine"] is True
    assert [m["sender"] for m in new["messages"]] == ["citizen", "agent"]
    last = new["messages"][-1]["id"]
    assert client.get(f"{url}/messages.json?after={last}").get_json()["messages"] == []
    assert client.get(f"{url}/messages.json?after=x").status_code == 400
    # The list shows it as mine now.
    assert [c["id"] for c in client.get("/console/conversations/poll.json").get_json()["mine"]] == [
        sms_conversation
    ]
    assert post(client, f"{url}/hand-back").status_code == 302
    assert conversation_state(runtime, sms_conversation) == ("bot", None)
    assert post(client, f"{url}/reply", {"text": "muộn"}).status_code == 403


def test_a_reply_in_web_chat_appears_in_the_widget(
    app: Flask, runtime: Runtime, desk: Desk
) -> None:
    client = signed_in(app)
    url = f"/console/conversations/{desk.conversation_id}"
    assert post(client, f"{url}/take").status_code == 302
    assert post(client, f"{url}/reply", {"text": "Em đã ghi nhận đèn hỏng."}).status_code == 302
    widget = app.test_client().get(f"/chat/api/messages?session={WEB_SESSION}").get_json()
    assert "Em đã ghi nhận đèn hỏng." in [m["text"] for m in widget["messages"]]
    with unit_of_work(runtime.sessions) as session:
        assert (
            session.scalars(
                select(OutboxMessage).where(OutboxMessage.body == "Em đã ghi nhận đèn hỏng.")
            ).all()
            == []
        )


def test_two_agents_cannot_take_the_same_conversation(
    app: Flask, runtime: Runtime, desk: Desk
) -> None:
    lan = signed_in(app, "lan.agent")
    hoa = signed_in(app, "hoa.supervisor")
    url = f"/console/conversations/{desk.conversation_id}"
    assert post(lan, f"{url}/take").status_code == 302
    response = post(hoa, f"{url}/take", follow_redirects=True)
    assert "đã có tổng đài viên khác nhận" in response.get_data(as_text=True)
    assert conversation_state(runtime, desk.conversation_id)[1] == user_id(runtime, "lan.agent")
    assert post(hoa, f"{url}/reply", {"text": "chen ngang"}).status_code == 403
    # A supervisor may still hand it back; a second agent may not.
    minh = signed_in(app, "minh.admin")
    assert post(minh, f"{url}/hand-back").status_code == 302


def test_the_take_is_atomic_when_both_agents_saw_it_waiting(runtime: Runtime, desk: Desk) -> None:
    first, second = runtime.sessions(), runtime.sessions()
    try:
        # Both agents' pages showed it waiting (SQLite lets one writer at a time, so the second
        # agent's read ends before the first agent's take begins).
        stale = second.get(Conversation, desk.conversation_id)
        second.commit()
        assert stale is not None and stale.state == ConversationState.WAITING_AGENT
        assert conversation_service.take(first, desk.conversation_id, 1) is True
        first.commit()
        assert stale.state == ConversationState.WAITING_AGENT  # what the loser still believes
        assert conversation_service.take(second, desk.conversation_id, 2) is False
        second.commit()
    finally:
        first.close()
        second.close()
    assert conversation_state(runtime, desk.conversation_id) == ("agent", 1)


def test_unknown_conversations_are_404(app: Flask, desk: Desk) -> None:
    client = signed_in(app)
    assert client.get("/console/conversations/999").status_code == 404
    assert post(client, "/console/conversations/999/take").status_code == 404
