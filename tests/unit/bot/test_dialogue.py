"""Conversations end to end on the embedded backend: what the resident reads, what is stored."""

from __future__ import annotations

import unicodedata

from sqlalchemy import func, select

from bot.dialogue import DialogueEngine
from bot.nlu.engine import EmbeddedNLU
from intake.models import (
    Attachment,
    Case,
    Channel,
    Conversation,
    ConversationState,
    Message,
    Registration,
)
from intake.services.cases import CaseSettings


def _one(session, model):
    return session.scalars(select(model)).one()


def test_complaint_with_place_in_first_message(say, seeded):
    turn = say("Rác ở kiệt 12 Nguyễn Huệ phường Phú Hội 3 ngày nay không ai thu gom, hôi quá")
    assert "ảnh" in turn.replies[-1]  # web chat: a photo is asked for
    turn = say("không")
    assert "Tổng đài xin đọc lại" in turn.replies[-1]
    assert "Phú Hội" in turn.replies[-1] and "môi trường" in turn.replies[-1]
    turn = say("đúng rồi")
    case = _one(seeded, Case)
    assert turn.case_code == case.code and case.code in turn.replies[-1]
    assert case.category.code == "environment" and case.ward.name == "Phú Hội"
    assert case.agency.code == "hepco" and case.channel == Channel.WEB
    stored = seeded.scalars(select(Message).order_by(Message.id)).all()
    assert len(stored) == 6  # three messages in, three replies out


def test_photo_declined_in_a_few_words(say, seeded):
    say("Rác ở kiệt 12 Nguyễn Huệ phường Phú Hội 3 ngày nay không ai thu gom, hôi quá")
    turn = say("không có ảnh ạ")
    assert "Tổng đài xin đọc lại" in turn.replies[-1]


def test_complaint_location_asked_and_photo_attached(say, seeded):
    turn = say("đèn đường hỏng cả tuần nay, tối thui rất nguy hiểm")
    assert "ở đâu" in turn.replies[-1]
    say("kiệt 5 Chi Lăng, phường Phú Hậu")
    turn = say("", attachments=["https://example.invalid/photo-1.jpg"])
    assert "kèm 1 ảnh" in turn.replies[-1]
    say("ok")
    case = _one(seeded, Case)
    assert case.category.code == "roads_infrastructure"
    assert "Chi Lăng" in case.location_text and case.ward.name == "Phú Hậu"
    assert _one(seeded, Attachment).url.endswith("photo-1.jpg")


def test_sms_complaint_skips_photo_and_can_be_cancelled(say, seeded):
    turn = say(
        "karaoke hang xom hat toi 1h sang o kiet 7 Ba Trieu",
        channel=Channel.SMS,
        sender="0905123456",
    )
    assert "đọc lại" in turn.replies[-1]
    turn = say("không", channel=Channel.SMS, sender="0905123456")
    assert "hủy" in turn.replies[-1]
    assert seeded.scalar(select(func.count()).select_from(Case)) == 0


def test_registration_reprompts_each_bad_field_then_registers(say, seeded):
    assert "họ và tên" in say("tôi muốn đăng ký gói hỗ trợ 1 triệu").replies[-1]
    assert "CCCD" in say("Nguyễn Văn An").replies[-1]
    bad = say("04608500123")  # 11 digits
    assert "12 chữ số" in " ".join(bad.replies) and "CCCD" in bad.replies[-1]
    assert "Ngày sinh" in say("046085001234").replies[-1]
    mismatch = say("04/03/1986")
    assert "1985" in " ".join(mismatch.replies)
    assert "điện thoại" in say("04/03/1985").replies[-1]
    short = say("090512345")  # 9 digits
    assert "10 chữ số" in " ".join(short.replies) or "chưa đúng" in " ".join(short.replies)
    assert "Địa chỉ" in say("0905 123 456").replies[-1]
    assert "Hộ gia đình" in say("12 kiệt 5 Chi Lăng phường Phú Hậu").replies[-1]
    confirm = say("Trần Thị Bình, Nguyễn Văn Cường").replies[-1]
    assert "046085001234" in confirm and "cùng 2 người" in confirm
    done = say("đúng")
    registration = _one(seeded, Registration)
    assert registration.full_name == "Nguyễn Văn An" and registration.phone_e164 == "+84905123456"
    assert registration.ward.name == "Phú Hậu" and len(registration.members) == 2
    assert done.case_code in done.replies[-1]


def test_duplicate_cccd_refused_kindly(say, seeded):
    def register(sender):
        for text in (
            "đăng ký hỗ trợ",
            "Lê Thị Hoa",
            "046185001122",
            "05/05/1985",
            "0935111222",
            "3 Đào Duy Anh, Phú Bình",
            "không",
        ):
            say(text, sender=sender)
        return say("đúng", sender=sender)

    first = register("a")
    second = register("b")
    assert first.case_code and "đã được đăng ký" in second.replies[-1]
    assert first.case_code in second.replies[-1]
    assert seeded.scalar(select(func.count()).select_from(Registration)) == 1


def test_status_by_code_unknown_code_and_recent_cases(say, seeded, make_case):
    case = make_case()
    turn = say(f"cho hỏi phản ánh mã {case.code} xử lý tới đâu rồi")
    assert case.code in turn.replies[-1] and "Mới tiếp nhận" in turn.replies[-1]
    digits = say(f"tra cuu ma {case.code_digits}")
    assert case.code in digits.replies[-1]
    unknown = say("kiểm tra giúp mã HUE-261126-0999")
    assert "Không tìm thấy" in unknown.replies[-1]
    asked = say("phản ánh của tôi sao rồi", sender="nobody")
    assert "mã phản ánh" in asked.replies[-1]


def test_emergency_tells_113_114_115_opens_urgent_case_and_hands_off(say, seeded):
    turn = say("cháy nhà ở kiệt 3 Lê Lợi, có người mắc kẹt bên trong, cứu với!!!")
    assert "114" in turn.replies[0] and "113" in turn.replies[0] and "115" in turn.replies[0]
    case = _one(seeded, Case)
    assert case.priority == 1 and turn.handed_off
    assert _one(seeded, Conversation).state == ConversationState.WAITING_AGENT
    assert say("alo có ai không").replies == []  # the bot stays silent for the agent


def test_request_agent_hands_off(say, seeded):
    turn = say("cho tôi gặp tổng đài viên")
    assert turn.handed_off and "tổng đài viên" in turn.replies[-1]
    assert _one(seeded, Conversation).bot_state["handoff"]["reason"] == "request_agent"


def test_two_misunderstandings_in_a_row_hand_off(seeded, responses, nlu, now):
    strict = EmbeddedNLU(nlu.model, nlu.extractor, threshold=0.999)
    engine = DialogueEngine(strict, responses, CaseSettings())
    first = engine.handle(seeded, Channel.WEB, "x", "ờ thì", now)
    assert "chưa hiểu" in first.replies[-1] and not first.handed_off
    second = engine.handle(seeded, Channel.WEB, "x", "ờ thì là", now)
    assert second.handed_off


def test_short_answers(say):
    assert "xin chào" in say("alo").replies[-1].lower()
    assert "cảm ơn" in say("cảm ơn ad nhiều nhé").replies[-1].lower()
    assert "ngoài phạm vi" in say("kết quả xổ số miền Trung hôm nay").replies[-1]
    assert say("giờ làm việc của bộ phận một cửa phường Vỹ Dạ").replies[-1].startswith("Bộ phận")


def test_bad_input_never_breaks_the_conversation(say, seeded):
    assert "chưa nhận được nội dung" in say("   ").replies[-1]
    assert say("😡😡😡").replies  # answered, whatever it is
    long_turn = say("Rác thải ở kiệt 9 Hùng Vương " + "rất bẩn " * 2000)
    assert "4000 ký tự" in long_turn.replies[0]
    nfd = say(
        unicodedata.normalize("NFD", "Mất nước 3 ngày rồi ở kiệt 4 Lê Lợi phường Vĩnh Ninh"),
        sender="nfd",
    )
    assert "đọc lại" in nfd.replies[-1] or "ảnh" in nfd.replies[-1]


def test_duplicate_delivery_answered_once(say, seeded):
    first = say("alo", provider_message_id="m-1")
    again = say("alo", provider_message_id="m-1")
    assert first.replies and again.duplicate and again.replies == []
    assert seeded.scalar(select(func.count()).select_from(Message)) == 2


def test_state_survives_a_restart(seeded, nlu, responses, now):
    before = DialogueEngine(nlu, responses, CaseSettings())
    before.handle(seeded, Channel.ZALO, "8123456789012345678", "mất điện từ sáng tới giờ", now)
    seeded.flush()
    after = DialogueEngine(nlu, responses, CaseSettings())  # a new process, the same database
    turn = after.handle(
        seeded, Channel.ZALO, "8123456789012345678", "kiệt 2 Trần Phú phường Phước Vĩnh", now
    )
    assert "ảnh" in turn.replies[-1]
