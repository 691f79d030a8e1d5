"""Every Vietnamese text of the hotline's call flows, in one place.

`PROMPTS` maps a sound name (a path under Asterisk's sounds directory, without extension, the
way flows pass it to `STREAM FILE`) to what it says. `make prompts` turns each into an 8 kHz
WAV with espeak-ng (`ivr/make_prompts.py`); a studio recording dropped in its place is kept.
`NOTES` are texts written into cases and registrations by the IVR (agents read them, nobody
hears them). All texts are Unicode NFC.
"""

from __future__ import annotations

import unicodedata

from intake.seed import HUE_COMMUNES, HUE_WARDS, ward_code

# Keypad numbers of the categories in the short category menu (the most called-about ones).
CATEGORY_KEYS: dict[str, str] = {
    "1": "environment",
    "2": "traffic_parking",
    "3": "roads_infrastructure",
    "4": "urban_order",
    "5": "noise",
    "6": "utilities",
    "7": "security_order",
    "8": "public_admin",
    "9": "other",
}

# How each category is named when read back to the caller ("Quý vị phản ánh về ...").
CATEGORY_NAMES: dict[str, str] = {
    "environment": "môi trường, rác thải, vệ sinh",
    "traffic_parking": "giao thông, đỗ xe sai quy định",
    "roads_infrastructure": "đường sá, cống thoát nước, chiếu sáng, cây xanh",
    "urban_order": "trật tự đô thị, lấn chiếm vỉa hè",
    "noise": "tiếng ồn",
    "utilities": "điện, nước sinh hoạt",
    "health": "y tế, an toàn thực phẩm",
    "education": "giáo dục, trường học",
    "public_admin": "thủ tục hành chính, thái độ cán bộ",
    "security_order": "an ninh, trật tự",
    "public_property_misuse": "sử dụng sai tài sản, đất công",
    "other": "lĩnh vực khác",
}

# Spoken status, after "Phản ánh mã số ... ".
STATUS_TEXTS: dict[str, str] = {
    "new": "đã được tổng đài tiếp nhận và đang chờ chuyển đến cơ quan xử lý.",
    "acknowledged": "đã được chuyển đến cơ quan có thẩm quyền xử lý.",
    "in_progress": "đang được cơ quan chức năng xử lý.",
    "resolved": "đã được xử lý xong. Kết quả đã được gửi cho quý vị bằng tin nhắn.",
    "closed": "đã xử lý xong và đã đóng.",
    "rejected": "không thuộc phạm vi xử lý của thành phố. Chi tiết đã được gửi bằng tin nhắn.",
    "duplicate": "trùng với một phản ánh khác đang được xử lý.",
    "reopened": "đã được mở lại để tiếp tục xử lý.",
}

_TEXTS: dict[str, str] = {
    "hotline/greeting": (
        "Tổng đài tiếp nhận phản ánh và hỗ trợ người dân thành phố Huế xin kính chào quý vị."
    ),
    "hotline/main-menu": (
        "Để phản ánh sự việc, bấm phím 1. Để đăng ký nhận hỗ trợ, bấm phím 2. "
        "Để hỏi kết quả xử lý phản ánh, bấm phím 3. Để gặp tổng đài viên, bấm phím 0."
    ),
    "hotline/speak-now": "Quý vị cũng có thể nói lựa chọn của mình sau tiếng bíp.",
    "hotline/invalid": "Xin lỗi, tổng đài chưa nhận được lựa chọn hợp lệ.",
    "hotline/transfer-agent": (
        "Xin quý vị vui lòng giữ máy, tổng đài viên sẽ tiếp nhận cuộc gọi trong giây lát."
    ),
    "hotline/error": "Xin lỗi quý vị, hệ thống đang gặp sự cố.",
    "hotline/emergency": (
        "Nếu đang có nguy hiểm đến tính mạng hoặc tài sản, xin quý vị gác máy và gọi ngay "
        "1 1 3 cho công an, 1 1 4 cho cứu hỏa, cứu nạn, hoặc 1 1 5 cho cấp cứu y tế. "
        "Tổng đài cũng chuyển ngay cuộc gọi của quý vị đến tổng đài viên."
    ),
    "hotline/case-code": "Mã số phản ánh của quý vị là",
    "hotline/code-repeat": "Mã số này đã được gửi cho quý vị bằng tin nhắn. Xin nhắc lại, mã số là",
    "hotline/goodbye": "Cảm ơn quý vị đã gọi tổng đài. Xin chào và hẹn gặp lại.",
    # After hours: voicemail.
    "hotline/voicemail/record": (
        "Hiện đã ngoài giờ làm việc của tổng đài. Xin quý vị để lại lời nhắn sau tiếng bíp: "
        "nói rõ sự việc và địa chỉ, rồi bấm phím thăng."
    ),
    "hotline/voicemail/empty": "Tổng đài chưa nghe được lời nhắn của quý vị.",
    "hotline/voicemail/thanks": "Cảm ơn quý vị. Tổng đài đã nhận lời nhắn.",
    "hotline/voicemail/call-back": "Xin quý vị vui lòng gọi lại trong giờ làm việc.",
    # Complaint.
    "hotline/complaint/describe": (
        "Xin quý vị nói rõ sự việc cần phản ánh và địa chỉ nơi xảy ra sau tiếng bíp, "
        "trong vòng một phút. Nói xong, bấm phím thăng."
    ),
    "hotline/complaint/no-recording": "Tổng đài chưa nghe được lời phản ánh của quý vị.",
    "hotline/complaint/category-menu": (
        "Xin quý vị chọn lĩnh vực phản ánh. Môi trường, rác thải, bấm 1. Giao thông, đỗ xe, "
        "bấm 2. Đường sá, cống, chiếu sáng, cây xanh, bấm 3. Lấn chiếm vỉa hè, trật tự đô thị, "
        "bấm 4. Tiếng ồn, bấm 5. Điện, nước, bấm 6. An ninh trật tự, bấm 7. "
        "Thủ tục hành chính, bấm 8. Lĩnh vực khác, bấm 9."
    ),
    "hotline/complaint/summary": "Quý vị phản ánh về",
    "hotline/complaint/at": "tại",
    "hotline/complaint/confirm": (
        "Nếu đúng, bấm phím 1 hoặc nói đúng. Để nói lại lời phản ánh, bấm phím 2."
    ),
    "hotline/complaint/created": "Tổng đài đã tiếp nhận phản ánh của quý vị.",
    # Support registration.
    "hotline/registration/intro": "Quý vị đang đăng ký nhận gói hỗ trợ của thành phố.",
    "hotline/registration/closed": "Hiện không có chương trình hỗ trợ nào đang nhận đăng ký.",
    "hotline/registration/cccd": (
        "Xin quý vị bấm 12 chữ số trên thẻ căn cước công dân, rồi bấm phím thăng."
    ),
    "hotline/registration/cccd-invalid": (
        "Số căn cước công dân chưa đúng. Xin quý vị kiểm tra lại các chữ số in trên thẻ."
    ),
    "hotline/registration/dob": (
        "Xin bấm ngày sinh gồm 8 chữ số: 2 chữ số ngày, 2 chữ số tháng và 4 chữ số năm. "
        "Ví dụ ngày 5 tháng 3 năm 1970, bấm 0 5 0 3 1 9 7 0."
    ),
    "hotline/registration/dob-invalid": "Ngày sinh chưa đúng.",
    "hotline/registration/dob-mismatch": (
        "Năm sinh chưa khớp với số căn cước công dân. Xin quý vị kiểm tra lại."
    ),
    "hotline/registration/name": (
        "Sau tiếng bíp, xin quý vị đọc rõ họ và tên, rồi địa chỉ nơi ở: số nhà, tên đường, "
        "phường hoặc xã. Nói xong, bấm phím thăng."
    ),
    "hotline/registration/ward": (
        "Xin bấm mã số phường, xã nơi quý vị ở, gồm 2 chữ số, theo danh sách niêm yết tại "
        "phường. Nếu không biết mã số, bấm phím thăng: cán bộ sẽ xác định theo địa chỉ "
        "quý vị vừa đọc."
    ),
    "hotline/registration/done": (
        "Đăng ký của quý vị đã được ghi nhận và sẽ được cán bộ xác minh. Mã hồ sơ của quý vị là"
    ),
    "hotline/registration/duplicate": (
        "Số căn cước công dân này đã được đăng ký trong chương trình hỗ trợ. Quý vị không cần "
        "đăng ký lại. Mã hồ sơ đã đăng ký là"
    ),
    "hotline/registration/duplicate-no-code": (
        "Số căn cước công dân này đã được đăng ký trong chương trình hỗ trợ. "
        "Quý vị không cần đăng ký lại."
    ),
    # Case status.
    "hotline/status/ask": (
        "Xin bấm mã số phản ánh gồm 10 chữ số, rồi bấm phím thăng. Để nghe các phản ánh gần "
        "nhất gọi từ số máy này, bấm phím thăng ngay."
    ),
    "hotline/status/not-found": "Tổng đài không tìm thấy phản ánh có mã số này.",
    "hotline/status/none-for-caller": "Tổng đài chưa có phản ánh nào gọi từ số máy này.",
    "hotline/status/case": "Phản ánh mã số",
    # Played by the FastAGI server itself (ivr/server.py) when a flow cannot serve the call.
    "hotline/sorry-transfer": (
        "Xin lỗi quý vị, hệ thống đang gặp sự cố. Xin quý vị vui lòng giữ máy, "
        "tổng đài viên sẽ tiếp nhận cuộc gọi."
    ),
    "hotline/lines-busy": (
        "Tất cả các đường dây đang bận. Xin quý vị vui lòng giữ máy, "
        "tổng đài viên sẽ tiếp nhận cuộc gọi ngay khi có thể."
    ),
    # Played by the dialplan (ivr/asterisk/extensions.conf) when no agent answered in time.
    "hotline/agents-busy-callback": (
        "Xin lỗi quý vị, các tổng đài viên đều đang bận. Xin quý vị gọi lại sau, hoặc nhắn tin "
        "cho tổng đài qua Zalo hay tin nhắn SMS. Xin cảm ơn."
    ),
    # The operators' line test (ivr/flows/echo.py).
    "hotline/echo-welcome": "Đây là đường thử của tổng đài.",
    "hotline/echo-enter-digits": "Mời bấm vài số, kết thúc bằng phím thăng.",
    "hotline/echo-you-entered": "Quý vị đã bấm",
    "hotline/connecting-agent": "Xin chờ, tổng đài viên sẽ nghe máy.",
}

NOTES: dict[str, str] = {
    "complaint_recorded": "Phản ánh qua tổng đài (ghi âm, chờ chuyển thành văn bản).",
    "emergency_recorded": "Cuộc gọi khẩn cấp qua tổng đài (ghi âm kèm theo).",
    "name_in_recording": "(Họ tên trong ghi âm cuộc gọi, chờ chuyển thành văn bản)",
    "address_in_recording": "(Địa chỉ trong ghi âm cuộc gọi, chờ chuyển thành văn bản)",
}


def ward_keys() -> dict[str, str]:
    """The two-digit keypad number of each ward and commune ("01" …), in the order of the list
    posted at the wards: the order of `intake.seed.HUE_WARDS`."""
    return {f"{index:02d}": ward_code(name) for index, name in enumerate(HUE_WARDS, start=1)}


def _generated() -> dict[str, str]:
    texts: dict[str, str] = {}
    for code, name in CATEGORY_NAMES.items():
        texts[f"hotline/category/{code}"] = name
    for status, text in STATUS_TEXTS.items():
        texts[f"hotline/status/{status}"] = text
    for name in HUE_WARDS:
        unit = "xã" if name in HUE_COMMUNES else "phường"
        # "Phường Đúc" is itself the ward's name.
        spoken = name if name.lower().startswith("phường") else f"{unit} {name}"
        texts[f"hotline/ward/{ward_code(name)}"] = spoken
    return texts


PROMPTS: dict[str, str] = {
    name: unicodedata.normalize("NFC", text) for name, text in {**_TEXTS, **_generated()}.items()
}


def category_prompt(code: str) -> str:
    return f"hotline/category/{code}"


def status_prompt(status: str) -> str:
    return f"hotline/status/{status}"


def ward_prompt(code: str) -> str:
    return f"hotline/ward/{code}"
