"""Conversations end to end on the embedded backend: what the resident reads, what is stored."""

from __future__ import annotations

import unicodedata
from datetime import date

import pytest
from sqlalchemy import func, select

from bot.dialogue import DialogueEngine, read_registration
from bot.nlu.engine import EmbeddedNLU
from intake.clock import local_date
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


# -- a registration given in one message -------------------------------------------------------

ONE_MESSAGE = (
    "Đăng ký nhận hỗ trợ: Nguyễn Văn An, CCCD 046085001234, sinh ngày 12/03/1985, "
    "SĐT 0905123456, địa chỉ 12 Lê Lợi phường Phú Hội"
)
ONE_MESSAGE_UNACCENTED = (
    "dang ky ho tro ten Tran Thi Be cccd 046190004567 ngay sinh 05/07/1990 sdt 0912345678 "
    "dia chi kiet 5 Chi Lang phuong Phu Hau"
)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (
            ONE_MESSAGE,
            (
                "Nguyễn Văn An",
                "046085001234",
                date(1985, 3, 12),
                "+84905123456",
                "12 Lê Lợi phường Phú Hội",
                "Phú Hội",
            ),
        ),
        (
            ONE_MESSAGE_UNACCENTED,
            (
                "Tran Thi Be",
                "046190004567",
                date(1990, 7, 5),
                "+84912345678",
                "kiet 5 Chi Lang phuong Phu Hau",
                "Phú Hậu",
            ),
        ),
    ],
)
def test_registration_in_one_message_asks_only_the_household(say, seeded, text, expected):
    name, cccd, born, phone, address, ward = expected
    first = say(text)
    assert len(first.replies) == 1 and "Hộ gia đình" in first.replies[-1]
    confirm = say("không").replies[-1]
    assert "Tổng đài xin đọc lại" in confirm
    assert name in confirm and cccd in confirm and born.strftime("%d/%m/%Y") in confirm
    assert address in confirm and "cùng" not in confirm
    done = say("đúng")
    registration = _one(seeded, Registration)
    assert (registration.full_name, registration.cccd, registration.date_of_birth) == (
        name,
        cccd,
        born,
    )
    assert registration.phone_e164 == phone and registration.address == address
    assert registration.ward.name == ward and registration.members == []
    assert done.case_code and done.case_code in done.replies[-1]


def test_registration_in_one_message_with_household_goes_to_confirmation(say, seeded):
    turn = say(ONE_MESSAGE + ", hộ gồm: Nguyễn Văn Bình, Lê Thị Cúc")
    assert len(turn.replies) == 1
    assert "Tổng đài xin đọc lại" in turn.replies[-1] and "cùng 2 người" in turn.replies[-1]
    say("đúng")
    registration = _one(seeded, Registration)
    assert registration.cccd == "046085001234" and registration.ward.name == "Phú Hội"
    assert [m.full_name for m in registration.members] == ["Nguyễn Văn Bình", "Lê Thị Cúc"]


@pytest.mark.parametrize("cccd", ["046086001234", "04608500123"])  # born 1986; 11 digits
def test_registration_in_one_message_with_a_bad_cccd_asks_only_for_it(say, seeded, cccd):
    turn = say(ONE_MESSAGE.replace("046085001234", cccd))
    assert len(turn.replies) == 1 and "(CCCD) gồm 12 chữ số" in turn.replies[-1]
    assert "Hộ gia đình" in say("046085001234").replies[-1]
    confirm = say("không").replies[-1]
    assert "Nguyễn Văn An, CCCD 046085001234, sinh ngày 12/03/1985" in confirm
    say("đúng")
    assert _one(seeded, Registration).cccd == "046085001234"


def test_cccd_asked_after_a_prefilled_birth_date_must_agree_with_it(say, seeded):
    say(ONE_MESSAGE.replace("046085001234", "046086001234"))
    mismatch = say("046086001234")  # the same CCCD again: born 1986, not 1985
    assert "1986" in mismatch.replies[0] and "Ngày sinh" in mismatch.replies[-1]
    assert "Hộ gia đình" in say("12/03/1986").replies[-1]
    confirm = say("không").replies[-1]
    assert "CCCD 046086001234, sinh ngày 12/03/1986" in confirm


def test_bare_registration_request_still_asks_the_full_name_first(say, seeded):
    turn = say("đăng ký hỗ trợ")
    assert len(turn.replies) == 1 and "họ và tên" in turn.replies[-1]
    assert "CCCD" in say("Nguyễn Văn An").replies[-1]


def test_duplicate_cccd_in_one_message_refused_kindly(say, seeded):
    def register(sender):
        say(ONE_MESSAGE, sender=sender)
        say("không", sender=sender)
        return say("đúng", sender=sender)

    first = register("a")
    second = register("b")
    assert first.case_code and "đã được đăng ký" in second.replies[-1]
    assert first.case_code in second.replies[-1]
    assert seeded.scalar(select(func.count()).select_from(Registration)) == 1


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (  # labels with colons, a spaced CCCD, a dotted phone, "20/3" is a house number
            "Họ và tên: Nguyễn Thị Lan Anh; CCCD: 046 190 004 567; Ngày sinh: 05/07/1990; "
            "ĐT: 0912.345.678; Địa chỉ: 20/3 Hùng Vương, P. Phú Nhuận; "
            "Hộ gồm 3 người: Trần Văn Bình, Trần Thị Cúc",
            {
                "full_name": "Nguyễn Thị Lan Anh",
                "cccd": "046190004567",
                "date_of_birth": "1990-07-05",
                "phone": "+84912345678",
                "address": "20/3 Hùng Vương, P. Phú Nhuận",
                "ward": "Phú Nhuận",
                "household": ["Trần Văn Bình", "Trần Thị Cúc"],
            },
        ),
        (  # no labels: the values speak for themselves; no date given
            "Đăng ký hỗ trợ: Lê Thị Hoa - 046185230506 - 0987453873 - số 7 Đào Duy Anh, Phú Hậu",
            {
                "full_name": "Lê Thị Hoa",
                "cccd": "046185230506",
                "phone": "+84987453873",
                "address": "số 7 Đào Duy Anh, Phú Hậu",
                "ward": "Phú Hậu",
            },
        ),
        (  # the issue date and the thanks are left out
            "Đăng ký hỗ trợ: Nguyễn Văn An, CCCD 046085001234 cấp ngày 01/02/2021, sinh ngày "
            "12/03/1985, SĐT 0905123456, địa chỉ: 12 Lê Lợi, phường Phú Hội, TP Huế. Xin cảm ơn!",
            {
                "full_name": "Nguyễn Văn An",
                "cccd": "046085001234",
                "date_of_birth": "1985-03-12",
                "phone": "+84905123456",
                "address": "12 Lê Lợi, phường Phú Hội, TP Huế",
                "ward": "Phú Hội",
            },
        ),
        (  # lower case name after "tên tôi là", a CCCD spoken in words
            "tên tôi là trần thị mai số căn cước không bốn sáu một chín không không không bốn "
            "năm sáu bảy tôi muốn đăng ký hỗ trợ",
            {"full_name": "Trần Thị Mai", "cccd": "046190004567"},
        ),
        (  # a phone number after "CCCD" is neither the CCCD nor the phone
            "Đăng ký hỗ trợ: Nguyễn Văn An, SĐT 0905123456, CCCD 0935111222",
            {"full_name": "Nguyễn Văn An", "phone": "+84905123456"},
        ),
        (  # an unlabelled date is no birth date unless the CCCD says that year
            "em về từ Đà Nẵng ngày 20/7/2021, đăng ký hỗ trợ giúp em, CCCD 046085001234",
            {"cccd": "046085001234"},
        ),
        (  # an unlabelled 02x number could be a mistyped CCCD: not taken as a landline
            "Đăng ký hỗ trợ: Nguyễn Văn An - 046085001234 - 12/03/1985 - 02343823456",
            {"full_name": "Nguyễn Văn An", "cccd": "046085001234", "date_of_birth": "1985-03-12"},
        ),
        (  # "sinh năm" without a full date; a lower case name that runs on is not taken
            "dang ky ho tro ten tran thi be o kiet 5 Chi Lang phuong Phu Hau sinh nam 1990",
            {"address": "kiet 5 Chi Lang phuong Phu Hau", "ward": "Phú Hậu"},
        ),
        (  # a household count without names is asked
            "Đăng ký hỗ trợ: Nguyễn Văn An, CCCD 046085001234, hộ gồm 4 người",
            {"full_name": "Nguyễn Văn An", "cccd": "046085001234"},
        ),
        ("tôi muốn đăng ký gói hỗ trợ 1 triệu", {}),
    ],
)
def test_what_one_message_prefills(nlu, now, text, expected):
    parse = nlu.parse(text)
    assert read_registration(text, parse["entities"], local_date(now)) == expected
