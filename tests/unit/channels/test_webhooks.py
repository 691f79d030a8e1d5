"""Each channel end to end on SQLite: a signed delivery gets the bot's answer on the same
channel through the provider's API (a local server), duplicates and bad input change nothing."""

from __future__ import annotations

import json
import re
from typing import Any

import pytest
from sqlalchemy import func, select

from intake.models import Case, InboundDelivery, Message, OutboxMessage, OutboxStatus
from tests import fakes

CODE = re.compile(r"HUE-\d{6}-\d{4}")
PUBLIC = "https://hotline.example.vn"


def count(runtime: Any, model: Any) -> int:
    with runtime.sessions() as session:
        return int(session.scalar(select(func.count()).select_from(model)) or 0)


def post_sms(client: Any, sender: str, body: str, sid: str, *, signature: str | None = None) -> Any:
    form = fakes.twilio_sms_form(sender, body, sid)
    if signature is None:
        signature = fakes.twilio_signature(f"{PUBLIC}/webhooks/twilio/sms", form)
    return client.post("/webhooks/twilio/sms", data=form, headers={"X-Twilio-Signature": signature})


def post_zalo(client: Any, event: dict[str, Any], *, signature: str | None = None) -> Any:
    raw = json.dumps(event, ensure_ascii=False).encode()
    if signature is None:
        signature = fakes.zalo_signature(raw, event["timestamp"])
    return client.post(
        "/webhooks/zalo",
        data=raw,
        headers={"X-ZEvent-Signature": signature, "Content-Type": "application/json"},
    )


def post_messenger(client: Any, event: dict[str, Any], *, signature: str | None = None) -> Any:
    raw = json.dumps(event, ensure_ascii=False).encode()
    return client.post(
        "/webhooks/messenger",
        data=raw,
        headers={
            "X-Hub-Signature-256": signature or fakes.messenger_signature(raw),
            "Content-Type": "application/json",
        },
    )


def post_telegram(
    client: Any, update: dict[str, Any], *, secret: str = fakes.TELEGRAM_SECRET
) -> Any:
    return client.post(
        "/webhooks/telegram",
        json=update,
        headers={"X-Telegram-Bot-Api-Secret-Token": secret},
    )


COMPLAINT = "Rác thải đổ trộm đầy đầu kiệt 15 Nguyễn Trãi phường Tây Lộc mấy hôm nay bốc mùi"


def test_sms_complaint_gets_replies_and_a_case_code_by_sms(client, runtime, providers):
    sender = "+84905123456"
    assert post_sms(client, sender, COMPLAINT, "SM1").status_code == 200
    first = providers.to("sms", sender)
    assert first and "đúng" in first[-1], "the resident should be asked to confirm"
    post_sms(client, sender, "đúng", "SM2")
    texts = providers.to("sms", sender)
    codes = CODE.findall(" ".join(texts))
    assert codes, texts
    with runtime.sessions() as session:
        case = session.scalar(select(Case).where(Case.code == codes[0]))
        assert case is not None and case.channel.value == "sms"
        assert case.category.code == "environment"
    # The code reached the resident once: the bot's reply carries it, no second SMS.
    assert sum(codes[0] in text for text in texts) == 1


def test_duplicate_sms_delivery_is_acknowledged_once(client, runtime, providers):
    sender = "+84905000111"
    assert post_sms(client, sender, "xin chào", "SMdup").status_code == 200
    replies = providers.to("sms", sender)
    assert replies
    again = post_sms(client, sender, "xin chào", "SMdup")
    assert again.status_code == 200
    assert providers.to("sms", sender) == replies
    assert count(runtime, InboundDelivery) == 1


@pytest.mark.parametrize("signature", ["", "bm90IHRoZSByaWdodCBvbmU="])
def test_sms_with_a_bad_signature_is_refused_and_changes_nothing(
    client, runtime, providers, signature
):
    form = fakes.twilio_sms_form("+84905000222", "xin chào", "SMbad")
    headers = {"X-Twilio-Signature": signature} if signature else {}
    response = client.post("/webhooks/twilio/sms", data=form, headers=headers)
    assert response.status_code == 403
    assert count(runtime, InboundDelivery) == 0 and count(runtime, Message) == 0
    assert providers.sent == []


def test_sms_signed_for_another_url_is_refused(client, runtime):
    form = fakes.twilio_sms_form("+84905000222", "xin chào", "SMurl")
    signature = fakes.twilio_signature("https://evil.example/webhooks/twilio/sms", form)
    response = client.post(
        "/webhooks/twilio/sms", data=form, headers={"X-Twilio-Signature": signature}
    )
    assert response.status_code == 403


def test_sms_without_a_message_sid_is_malformed(client, runtime):
    form = {"From": "+84905000333", "Body": "xin chào"}
    signature = fakes.twilio_signature(f"{PUBLIC}/webhooks/twilio/sms", form)
    response = client.post(
        "/webhooks/twilio/sms", data=form, headers={"X-Twilio-Signature": signature}
    )
    assert response.status_code == 400
    assert "MessageSid" in response.get_json()["error"]
    assert count(runtime, InboundDelivery) == 0


def test_zalo_text_gets_a_reply_through_the_oa_api(client, runtime, providers):
    user = "8436289746275820375123"  # bigger than 64 bits: kept as a string
    response = post_zalo(client, fakes.zalo_event(user, "xin chào", "zmsg-1"))
    assert response.status_code == 200
    sent = [s for s in providers.sent if s.channel == "zalo"]
    assert sent and sent[0].recipient == user
    assert sent[0].headers.get("access_token") == fakes.ZALO_TOKEN


def test_zalo_bad_mac_and_bad_json(client, runtime, providers):
    event = fakes.zalo_event("123", "xin chào", "zmsg-2")
    assert post_zalo(client, event, signature="mac=" + "0" * 64).status_code == 403
    raw = b"{not json"
    bad = client.post(
        "/webhooks/zalo",
        data=raw,
        headers={
            "X-ZEvent-Signature": fakes.zalo_signature(raw, ""),
            "Content-Type": "application/json",
        },
    )
    assert bad.status_code == 400 and "JSON" in bad.get_json()["error"]
    assert count(runtime, InboundDelivery) == 0 and providers.sent == []


def test_zalo_follow_event_is_acknowledged_and_ignored(client, runtime, providers):
    event = fakes.zalo_event("123", "", "x")
    event["event_name"] = "follow"
    assert post_zalo(client, event).status_code == 200
    assert count(runtime, InboundDelivery) == 0 and providers.sent == []


def test_zalo_shared_location_answers_the_location_question(client, runtime, providers):
    user = "77001"
    post_zalo(
        client, fakes.zalo_event(user, "Đèn đường hỏng tối om cả đoạn đường mấy hôm nay", "zl-1")
    )
    location = fakes.zalo_event(
        user,
        "",
        "zl-2",
        event="user_send_location",
        attachments=[
            {
                "type": "location",
                "payload": {"coordinates": {"latitude": "16.4637", "longitude": "107.5909"}},
            }
        ],
    )
    post_zalo(client, location)
    for n, answer in enumerate(["không", "đúng"], start=3):
        post_zalo(client, fakes.zalo_event(user, answer, f"zl-{n}"))
    texts = providers.to("zalo", user)
    codes = CODE.findall(" ".join(texts))
    assert codes, texts
    with runtime.sessions() as session:
        case = session.scalar(select(Case).where(Case.code == codes[0]))
        assert case is not None
        assert case.latitude == pytest.approx(16.4637) and case.longitude == pytest.approx(107.5909)


def test_messenger_handshake(client, runtime):
    ok = client.get(
        "/webhooks/messenger",
        query_string={
            "hub.mode": "subscribe",
            "hub.verify_token": fakes.MESSENGER_VERIFY,
            "hub.challenge": "4242",
        },
    )
    assert ok.status_code == 200 and ok.text == "4242"
    wrong = client.get(
        "/webhooks/messenger",
        query_string={"hub.mode": "subscribe", "hub.verify_token": "nope", "hub.challenge": "4242"},
    )
    assert wrong.status_code == 403


def test_messenger_message_with_image_reaches_the_graph_api(client, runtime, providers):
    psid = "6200012345678"
    event = fakes.messenger_event(
        psid,
        COMPLAINT,
        "m_1",
        attachments=[{"type": "image", "payload": {"url": "https://cdn.example/photo.jpg"}}],
    )
    assert post_messenger(client, event).status_code == 200
    sent = [s for s in providers.sent if s.channel == "messenger"]
    assert sent and sent[0].recipient == psid
    assert sent[0].body["messaging_type"] == "RESPONSE"
    with runtime.sessions() as session:
        delivery = session.scalars(select(InboundDelivery)).one()
        assert delivery.attachments == ["https://cdn.example/photo.jpg"]


def test_messenger_bad_signature_and_echoes(client, runtime, providers):
    event = fakes.messenger_event("62000", "xin chào", "m_2")
    assert post_messenger(client, event, signature="sha256=" + "0" * 64).status_code == 403
    echo = fakes.messenger_event("62000", "xin chào", "m_3", is_echo=True)
    assert post_messenger(client, echo).status_code == 200
    assert count(runtime, InboundDelivery) == 0 and providers.sent == []


def test_telegram_message_and_duplicate_update(client, runtime, providers):
    update = fakes.telegram_update(55501, "xin chào", 9001)
    assert post_telegram(client, update).status_code == 200
    assert post_telegram(client, update).status_code == 200
    assert len(providers.to("telegram", "55501")) == len(
        [s for s in providers.sent if s.channel == "telegram"]
    )
    assert count(runtime, InboundDelivery) == 1
    with runtime.sessions() as session:
        inbound = session.scalars(select(Message).where(Message.direction == "inbound")).all()
        assert len(inbound) == 1


def test_telegram_wrong_secret_and_malformed_update(client, runtime):
    assert (
        post_telegram(client, fakes.telegram_update(1, "hi", 1), secret="wrong").status_code == 403
    )
    bad = client.post(
        "/webhooks/telegram",
        json={"message": {}},
        headers={"X-Telegram-Bot-Api-Secret-Token": fakes.TELEGRAM_SECRET},
    )
    assert bad.status_code == 400 and "update_id" in bad.get_json()["error"]
    assert count(runtime, InboundDelivery) == 0


def test_oversize_body_is_refused_with_413(client, runtime):
    big = json.dumps({"update_id": 1, "message": {"text": "x" * 300_000}})
    response = client.post(
        "/webhooks/telegram",
        data=big,
        headers={
            "X-Telegram-Bot-Api-Secret-Token": fakes.TELEGRAM_SECRET,
            "Content-Type": "application/json",
        },
    )
    assert response.status_code == 413
    assert count(runtime, InboundDelivery) == 0


def test_web_chat_round_trip(client, runtime):
    session_id = "s" * 24
    sent = client.post(
        "/chat/api/messages", json={"session": session_id, "id": "m1", "text": "xin chào"}
    )
    assert sent.status_code == 202 and sent.get_json() == {"accepted": True, "duplicate": False}
    again = client.post(
        "/chat/api/messages", json={"session": session_id, "id": "m1", "text": "xin chào"}
    )
    assert again.get_json()["duplicate"] is True
    polled = client.get("/chat/api/messages", query_string={"session": session_id}).get_json()
    senders = [m["sender"] for m in polled["messages"]]
    assert senders[0] == "citizen" and "bot" in senders and senders.count("citizen") == 1
    last = polled["messages"][-1]["id"]
    later = client.get("/chat/api/messages", query_string={"session": session_id, "after": last})
    assert later.get_json()["messages"] == []
    # Another session sees nothing of it.
    other = client.get("/chat/api/messages", query_string={"session": "t" * 24}).get_json()
    assert other["messages"] == []


@pytest.mark.parametrize(
    "body",
    [
        {"session": "short", "id": "m1", "text": "x"},
        {"session": "s" * 24, "id": "bad id!", "text": "x"},
        {"session": "s" * 24, "id": "m1", "text": 5},
        ["not", "an", "object"],
    ],
)
def test_web_chat_malformed_bodies(client, runtime, body):
    response = client.post("/chat/api/messages", json=body)
    assert response.status_code == 400 and response.get_json()["error"]
    assert count(runtime, InboundDelivery) == 0


def test_voice_fallback_takes_a_voicemail_that_becomes_a_case(client, runtime, providers):
    form = {
        "CallSid": "CA1",
        "From": "+84914000111",
        "To": fakes.TWILIO_FROM,
        "CallStatus": "ringing",
    }
    url = f"{PUBLIC}/webhooks/twilio/voice"
    twiml = client.post(
        url[len(PUBLIC) :],
        data=form,
        headers={"X-Twilio-Signature": fakes.twilio_signature(url, form)},
    )
    assert twiml.status_code == 200 and 'language="vi-VN"' in twiml.text and "<Record" in twiml.text
    recorded = {**form, "RecordingUrl": "https://api.twilio.com/rec/RE1", "RecordingDuration": "12"}
    url = f"{PUBLIC}/webhooks/twilio/voice/recorded"
    done = client.post(
        url[len(PUBLIC) :],
        data=recorded,
        headers={"X-Twilio-Signature": fakes.twilio_signature(url, recorded)},
    )
    assert done.status_code == 200 and "<Hangup/>" in done.text
    with runtime.sessions() as session:
        case = session.scalars(select(Case)).one()
        assert case.recording_path == "https://api.twilio.com/rec/RE1"
    sms = providers.to("sms", "+84914000111")
    assert sms and case.code in sms[0]


def test_provider_outage_keeps_the_reply_in_the_outbox(client, runtime, providers):
    providers.fail_next = [503]
    post_telegram(client, fakes.telegram_update(777, "xin chào", 4242))
    with runtime.sessions() as session:
        message = session.scalars(select(OutboxMessage)).one()
        assert message.status == OutboxStatus.PENDING and message.attempts == 1
        assert "503" in (message.last_error or "")


def test_permanent_refusal_is_not_retried(client, runtime, providers):
    providers.fail_next = [403]
    post_telegram(client, fakes.telegram_update(778, "xin chào", 4243))
    with runtime.sessions() as session:
        message = session.scalars(select(OutboxMessage)).one()
        assert message.status == OutboxStatus.FAILED and message.attempts == 1


def _dispatch(runtime):
    """What beat's outbox dispatch does, with the configured senders."""
    from intake.channels.senders import configured_senders
    from intake.clock import utcnow
    from intake.db import unit_of_work
    from intake.delivery import deliver_one
    from intake.services import outbox

    senders = configured_senders(runtime.settings)
    with unit_of_work(runtime.sessions) as session:
        due = outbox.due_ids(session, utcnow())
    for message_id in due:
        with unit_of_work(runtime.sessions) as session:
            deliver_one(session, message_id, utcnow(), senders)


def test_status_changes_reach_the_resident_on_their_messenger(client, runtime, providers):
    from intake.clock import utcnow
    from intake.db import unit_of_work
    from intake.services.cases import SYSTEM, acknowledge, get_case, resolve

    user = "90001"
    for n, text in enumerate([COMPLAINT, "không", "đúng"], start=1):
        post_zalo(client, fakes.zalo_event(user, text, f"st-{n}"))
    code = CODE.findall(" ".join(providers.to("zalo", user)))[0]
    with unit_of_work(runtime.sessions) as session:
        case = get_case(session, code)
        acknowledge(session, case, now=utcnow(), actor=SYSTEM)
        resolve(session, case, "Đã thu gom rác.", now=utcnow(), actor=SYSTEM)
    _dispatch(runtime)
    texts = providers.to("zalo", user)
    assert texts[-2].startswith(f"Phản ánh {code}:")  # acknowledged
    assert code in texts[-1] and "Đã thu gom rác." in texts[-1]  # resolved, with the result


def test_an_agent_reply_goes_out_on_the_residents_channel(client, runtime, providers):
    from intake.clock import utcnow
    from intake.db import unit_of_work
    from intake.models import Conversation, ConversationState
    from intake.services.conversations import send_to_resident

    post_telegram(client, fakes.telegram_update(4321, "cho tôi gặp tổng đài viên", 8801))
    with unit_of_work(runtime.sessions) as session:
        conversation = session.scalars(select(Conversation)).one()
        assert conversation.state == ConversationState.WAITING_AGENT
        send_to_resident(
            session, conversation, "Chào bạn, tôi là Lan.", utcnow(), sender="agent", key="a1"
        )
    # While the agent has it, the bot stays silent.
    before = len(providers.to("telegram", "4321"))
    post_telegram(client, fakes.telegram_update(4321, "rác nhà tôi chưa ai thu", 8802))
    _dispatch(runtime)
    texts = providers.to("telegram", "4321")
    assert texts[before:] == ["Chào bạn, tôi là Lan."]
