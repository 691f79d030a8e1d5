"""A verifier's list as CSV (UTF-8 with a BOM, so Excel reads the accents) or XLSX.

CSV is streamed as it is read from the database; XLSX is written by openpyxl's write-only
workbook (rows go to a temporary file, not memory) and then streamed from that file."""

from __future__ import annotations

import csv
import io
import tempfile
from collections.abc import Iterable, Iterator
from datetime import date, datetime
from typing import IO, Any

from flask_babel import gettext as _
from openpyxl import Workbook

from intake.clock import VN_TZ
from intake.models import Registration
from intake.services.verification import ExportRow
from intake.validation import mask_cccd, mask_phone

BOM = "\ufeff"
CSV_BATCH_ROWS = 500
MASKED_ADDRESS = "***"


class Masker:
    """Shows personal data in full to roles that may see it, masked to everyone else."""

    def __init__(self, full: bool) -> None:
        self.full = full

    def phone(self, value: str | None) -> str:
        return "" if not value else value if self.full else mask_phone(value)

    def cccd(self, value: str | None) -> str:
        return "" if not value else value if self.full else mask_cccd(value)

    def address(self, value: str | None) -> str:
        return "" if not value else value if self.full else MASKED_ADDRESS

    def birth(self, value: date | None) -> str:
        if value is None:
            return ""
        return value.isoformat() if self.full else str(value.year)


def headers() -> list[str]:
    return [
        _("Mã hồ sơ"),
        _("Chương trình"),
        _("Họ và tên"),
        _("Số CCCD"),
        _("Ngày sinh"),
        _("Giới tính"),
        _("Số điện thoại"),
        _("Địa chỉ"),
        _("Phường/xã"),
        _("Số người trong hộ"),
        _("Thành viên hộ"),
        _("Trùng số điện thoại"),
        _("Trùng hộ gia đình"),
        _("Bên xác minh"),
        _("Trạng thái"),
        _("Ghi chú"),
        _("Thời điểm quyết định"),
        _("Ngày đăng ký"),
    ]


def _local(moment: datetime | None) -> str:
    return moment.astimezone(VN_TZ).strftime("%Y-%m-%d %H:%M") if moment else ""


def _members(registration: Registration, mask: Masker) -> str:
    parts = []
    for member in registration.members:
        details = ", ".join(x for x in (member.relation, mask.cccd(member.cccd)) if x)
        parts.append(f"{member.full_name} ({details})" if details else member.full_name)
    return "; ".join(parts)


def row_values(row: ExportRow, verifier: str, mask: Masker) -> list[Any]:
    reg = row.registration
    verification = row.verification
    yes, no = _("có"), _("không")
    return [
        row.case_code or "",
        row.programme_code,
        reg.full_name,
        mask.cccd(reg.cccd),
        mask.birth(reg.date_of_birth),
        reg.sex or "",
        mask.phone(reg.phone_e164),
        mask.address(reg.address),
        row.ward_name or "",
        len(reg.members) + 1,
        _members(reg, mask),
        yes if reg.duplicate_phone else no,
        yes if reg.duplicate_household else no,
        verifier,
        verification.status.value if verification else "pending",
        (verification.note or "") if verification else "",
        _local(verification.decided_at) if verification else "",
        _local(reg.created_at),
    ]


def csv_chunks(rows: Iterable[ExportRow], verifier: str, mask: Masker) -> Iterator[bytes]:
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    buffer.write(BOM)
    writer.writerow(headers())
    for count, row in enumerate(rows, 1):
        writer.writerow(row_values(row, verifier, mask))
        if count % CSV_BATCH_ROWS == 0:
            yield buffer.getvalue().encode("utf-8")
            buffer.seek(0)
            buffer.truncate()
    yield buffer.getvalue().encode("utf-8")


def xlsx_file(rows: Iterable[ExportRow], verifier: str, mask: Masker) -> IO[bytes]:
    """The workbook in a temporary file, rewound (the caller streams and closes it)."""
    workbook = Workbook(write_only=True)
    sheet = workbook.create_sheet(title=verifier)
    sheet.append(headers())
    for row in rows:
        sheet.append(row_values(row, verifier, mask))
    out = tempfile.SpooledTemporaryFile(max_size=8 * 1024 * 1024)  # noqa: SIM115 - streamed
    workbook.save(out)
    out.seek(0)
    return out
