"""Vietnam's clock. Vietnam keeps UTC+7 all year (no daylight saving)."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta, timezone

VN_TZ = timezone(timedelta(hours=7), "ICT")


def utcnow() -> datetime:
    return datetime.now(UTC)


def local_date(moment: datetime) -> date:
    """The calendar day in Huế at `moment` (case codes and programme windows use it)."""
    return moment.astimezone(VN_TZ).date()


def format_local(moment: datetime) -> str:
    """A timestamp the way residents read it: 14:05 02/12/2026."""
    return moment.astimezone(VN_TZ).strftime("%H:%M %d/%m/%Y")
