"""Every Vietnamese sentence the intake core shows to residents, in one place (UTF-8, NFC)."""

from __future__ import annotations

from intake.models import CaseStatus

STATUS_NAMES: dict[CaseStatus, str] = {
    CaseStatus.NEW: "Mới tiếp nhận",
    CaseStatus.ACKNOWLEDGED: "Đã tiếp nhận, đang chuyển xử lý",
    CaseStatus.IN_PROGRESS: "Đang xử lý",
    CaseStatus.RESOLVED: "Đã xử lý xong",
    CaseStatus.CLOSED: "Đã đóng",
    CaseStatus.REJECTED: "Không thuộc phạm vi xử lý",
    CaseStatus.DUPLICATE: "Trùng với phản ánh khác",
    CaseStatus.REOPENED: "Đã mở lại để xử lý tiếp",
}

# Public timeline lines (shown on /track/<code>; never personal data).
EVENT_CREATED = "Hệ thống đã tiếp nhận phản ánh."
EVENT_REGISTRATION_CREATED = "Hệ thống đã tiếp nhận hồ sơ đăng ký hỗ trợ."
EVENT_ACKNOWLEDGED = "Tổng đài đã xác nhận phản ánh."
EVENT_ROUTED = "Đã chuyển đến {agency} xử lý."
EVENT_IN_PROGRESS = "Đơn vị đang xử lý."
EVENT_RESOLVED = "Đã xử lý xong: {resolution}"
EVENT_CLOSED = "Phản ánh đã được đóng."
EVENT_REJECTED = "Phản ánh không thuộc phạm vi xử lý: {reason}"
EVENT_DUPLICATE = "Phản ánh trùng với phản ánh {master_code}, sẽ được xử lý chung."
EVENT_REOPENED = "Phản ánh được mở lại: {reason}"
EVENT_EXTENDED = "Thời hạn xử lý được gia hạn đến {due}. Lý do: {reason}"

# Notifications sent to the reporter on the channel they used (SMS for calls).
NOTIFY_CREATED = (
    "Tổng đài tiếp nhận phản ánh TP Huế đã nhận phản ánh của bạn, mã {code}. "
    "Theo dõi tại {track_url} hoặc gọi tổng đài và đọc mã."
)
NOTIFY_REGISTRATION = (
    "Đã nhận hồ sơ đăng ký {programme} của {name}, mã hồ sơ {code}. Theo dõi tại {track_url}."
)
NOTIFY_STATUS = "Phản ánh {code}: {status}."
NOTIFY_RESOLVED = "Phản ánh {code} đã được xử lý xong: {resolution} Cảm ơn bạn đã phản ánh."

# Errors shown to residents and agents.
ERR_CASE_NOT_FOUND = "Không tìm thấy phản ánh có mã {code}. Vui lòng kiểm tra lại mã."
ERR_TRANSITION = "Không thể chuyển phản ánh {code} từ trạng thái “{src}” sang “{dst}”."
ERR_REASON_REQUIRED = "Vui lòng ghi rõ lý do."
ERR_NOTE_REQUIRED = "Vui lòng nhập nội dung ghi chú."
ERR_REPLY_REQUIRED = "Vui lòng nhập nội dung trả lời người dân."
ERR_RESOLUTION_REQUIRED = "Vui lòng ghi kết quả xử lý để công khai cho người dân."
ERR_EXTENSION_NOT_LATER = "Thời hạn mới phải sau thời hạn hiện tại ({due})."
ERR_MASTER_CASE = "Không thể đánh dấu phản ánh trùng với chính nó hoặc với một phản ánh trùng khác."
ERR_CATEGORY_UNKNOWN = "Không có lĩnh vực “{category}”."
ERR_WARD_UNKNOWN = "Không có phường/xã “{ward}” trong danh sách của Huế."
ERR_AGENCY_UNKNOWN = "Không có đơn vị “{agency}”."
ERR_PROGRAMME_UNKNOWN = "Không có chương trình hỗ trợ “{programme}”."
ERR_PROGRAMME_CLOSED = (
    "Chương trình “{programme}” hiện không nhận đăng ký (từ {opens} đến {closes})."
)
ERR_NAME_REQUIRED = "Vui lòng cho biết họ và tên."
ERR_ADDRESS_REQUIRED = "Vui lòng cho biết địa chỉ nơi ở (số nhà, kiệt/hẻm, đường, phường)."
ERR_DOB_FUTURE = "Ngày sinh không thể sau ngày hôm nay."
ERR_DUPLICATE_CCCD = (
    "Số CCCD này đã được đăng ký trong chương trình “{programme}” (mã hồ sơ {code}). "
    "Mỗi người chỉ được đăng ký một lần; nếu bạn chưa từng đăng ký, vui lòng gọi tổng đài."
)
ERR_DESCRIPTION_REQUIRED = "Vui lòng mô tả nội dung phản ánh."

# Console accounts.
ERR_USERNAME_CHARS = "Tên đăng nhập chỉ gồm chữ, số, dấu chấm, gạch dưới hoặc gạch ngang."
ERR_USERNAME_TAKEN = "Tên đăng nhập “{username}” đã có người dùng."
ERR_PASSWORD_SHORT = "Mật khẩu cần ít nhất 10 ký tự."  # noqa: S105 - a message, not a password
ERR_OFFICER_NEEDS_AGENCY = "Cán bộ đơn vị cần được gắn với một đơn vị (--agency)."

# Channels: when a call could not reach the IVR, and messages from the webhooks.
VOICEMAIL_DESCRIPTION = "Tin nhắn thoại để lại qua tổng đài (chờ chuyển thành văn bản)."
VOICE_FALLBACK = (
    "Tổng đài tiếp nhận phản ánh thành phố Huế xin chào. Hiện chưa có điện thoại viên rảnh. "
    "Xin quý vị để lại lời nhắn sau tiếng bíp, nói rõ sự việc và địa chỉ, rồi bấm phím thăng. "
    "Mã phản ánh sẽ được gửi cho quý vị bằng tin nhắn."
)
VOICE_THANKS = "Cảm ơn quý vị. Tổng đài đã nhận lời nhắn và sẽ gửi mã phản ánh qua tin nhắn."

# Open311: the notice a partner system passes on to the resident.
OPEN311_NOTICE = "Tổng đài đã tiếp nhận phản ánh, mã {code}. Theo dõi tại {track_url}."
