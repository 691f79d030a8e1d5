"""The same conversations as the embedded engine, through a real Rasa server and its actions."""

from __future__ import annotations

import unicodedata
from collections.abc import Callable

import pytest
from sqlalchemy import func, select

from bot.dialogue import Turn
from bot.nlu.engine import RasaNLU
from bot.runtime import RasaDialogue
from intake.clock import utcnow
from intake.db import unit_of_work
from intake.models import Case, Channel, Conversation, ConversationState, Registration
from intake.runtime import Runtime

pytestmark = pytest.mark.rasa


@pytest.fixture
def say(rasa_server: str, shared_db: Runtime) -> Callable[..., Turn]:
    dialogue = RasaDialogue(rasa_server)

    def send(text: str, *, sender: str, channel: Channel = Channel.WEB) -> Turn:
        with unit_of_work(shared_db.sessions) as session:
            return dialogue.handle(session, channel, sender, text, utcnow())

    return send


def _count(runtime: Runtime, model, **where) -> int:
    with unit_of_work(runtime.sessions) as session:
        stmt = select(func.count()).select_from(model)
        for name, value in where.items():
            stmt = stmt.where(getattr(model, name) == value)
        return int(session.scalar(stmt))


def test_parse_returns_intent_category_and_entities(rasa_server):
    result = RasaNLU(rasa_server).parse("karaoke hàng xóm hát tới 1 giờ sáng ở kiệt 7 Bà Triệu")
    assert result["intent"]["name"] == "complaint"
    assert result["category"] == "noise"
    assert {"text", "intent", "entities", "intent_ranking"} <= set(result)


def test_complaint_end_to_end(say, shared_db):
    sender = "complaint-1"
    turn = say(
        "Rác ở kiệt 12 Nguyễn Huệ phường Phú Hội 3 ngày nay không ai thu gom, hôi quá",
        sender=sender,
    )
    assert "ảnh" in turn.replies[-1]
    assert "đọc lại" in say("không", sender=sender).replies[-1]
    done = say("đúng rồi", sender=sender)
    assert done.case_code and done.case_code in done.replies[-1]
    with unit_of_work(shared_db.sessions) as session:
        case = session.scalars(select(Case).where(Case.code == done.case_code)).one()
        assert case.category.code == "environment"


def test_registration_reprompts_and_refuses_duplicate(say, shared_db):
    sender = "reg-1"
    for text, expected in [
        ("tôi muốn đăng ký gói hỗ trợ 1 triệu", "họ và tên"),
        ("Lê Văn Tâm", "CCCD"),
        ("04608500123", "12 chữ số"),
        ("046087009988", "Ngày sinh"),
        ("01/02/1987", "điện thoại"),
        ("090512345", "chưa đúng"),
        ("0905 777 888", "Địa chỉ"),
        ("8 kiệt 3 Chi Lăng phường Phú Hậu", "Hộ gia đình"),
        ("không", "đọc lại"),
    ]:
        turn = say(text, sender=sender)
        assert expected in " ".join(turn.replies), (text, turn.replies)
    done = say("đúng", sender=sender)
    assert done.case_code and _count(shared_db, Registration, cccd="046087009988") == 1
    for text in (
        "đăng ký hỗ trợ",
        "Lê Văn Tâm",
        "046087009988",
        "01/02/1987",
        "0905777999",
        "8 kiệt 3 Chi Lăng",
        "không",
    ):
        say(text, sender="reg-2")
    again = say("đúng", sender="reg-2")
    assert "đã được đăng ký" in again.replies[-1]
    assert _count(shared_db, Registration, cccd="046087009988") == 1


def test_status_of_unknown_code(say):
    turn = say("kiểm tra giúp mã HUE-261126-0999", sender="status-1")
    assert "Không tìm thấy" in turn.replies[-1]


def test_emergency_and_handoff(say, shared_db):
    turn = say("cháy nhà ở kiệt 3 Lê Lợi, có người mắc kẹt bên trong, cứu với!!!", sender="sos")
    assert "114" in " ".join(turn.replies) and turn.case_code and turn.handed_off
    assert say("alo có ai không", sender="sos").replies == []
    with unit_of_work(shared_db.sessions) as session:
        case = session.scalars(select(Case).where(Case.code == turn.case_code)).one()
        assert case.priority == 1


def test_request_agent_hands_off(say, shared_db):
    turn = say("cho tôi gặp tổng đài viên", sender="human")
    assert turn.handed_off and "tổng đài viên" in turn.replies[-1]
    assert _count(shared_db, Conversation, state=ConversationState.WAITING_AGENT) >= 1


def test_bad_input_never_breaks_the_conversation(say):
    assert "chưa nhận được nội dung" in say("   ", sender="bad-1").replies[-1]
    assert say("😡😡😡", sender="bad-2").replies
    long_turn = say("Rác thải ở kiệt 9 Hùng Vương " + "rất bẩn " * 1250, sender="bad-3")
    assert "4000 ký tự" in long_turn.replies[0] and len(long_turn.replies) >= 2
    nfd = say(
        unicodedata.normalize("NFD", "Mất nước 3 ngày rồi ở kiệt 4 Lê Lợi phường Vĩnh Ninh"),
        sender="bad-4",
    )
    assert "ảnh" in nfd.replies[-1] or "đọc lại" in nfd.replies[-1]


def test_a_form_survives_a_restart_of_the_rasa_server(say, rasa_service):
    sender = "restart-1"
    say("đăng ký hỗ trợ", sender=sender)
    assert "CCCD" in say("Trần Văn Bình", sender=sender).replies[-1]
    rasa_service.restart()
    # The tracker came back from the SQL store: the form still waits for the CCCD.
    assert "Ngày sinh" in say("046090001357", sender=sender).replies[-1]
