"""The public pages and Open311 on a real app and SQLite database (tests/conftest.py's
`channel_runtime`), with cases opened at times relative to the real clock, since the pages
judge deadlines against it."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, date, datetime, timedelta
from typing import Any

import pytest

from agents_console.app import create_app
from intake.db import unit_of_work
from intake.models import Case, CaseEvent, Channel
from intake.runtime import Runtime
from intake.services import open311
from intake.services.cases import CITIZEN, Actor, NewCase, open_case
from intake.services.contacts import contact_for_identity
from intake.services.registrations import RegistrationInput, register

AGENT = Actor("agent.tuan", None)

# A resident's personal data, as it may appear in what they wrote and in internal notes.
PHONE = "0905 123 456"
PHONE_FORMS = (
    "0905 123 456",
    "0905123456",
    "+84905123456",
    "84905123456",
    "905123456",
    "0905.123.456",
    "0905-123-456",
)
REPORTER_PHONE = "+84912345678"
REPORTER_PHONE_FORMS = ("+84912345678", "0912345678", "0912 345 678", "912345678")
CCCD = "046085001234"
REPORTER_NAME = "Trần Thị Hoa"
NAME_IN_TEXT = "Nguyễn Văn Bình"
HOUSE = "số 47 kiệt 5 Nguyễn Huệ"
INTERNAL_NOTE = "Đã gọi lại cho chị Hoa, hẹn chiều mai kiểm tra hiện trường"
PII_DESCRIPTION = (
    f"Tôi là {NAME_IN_TEXT}, CCCD {CCCD}, số điện thoại {PHONE}. Rác đổ trộm trước {HOUSE} "
    "đã ba ngày bốc mùi."
)


def real_now() -> datetime:
    return datetime.now(UTC).replace(microsecond=0)


@pytest.fixture
def runtime(channel_runtime: Runtime) -> Runtime:
    return channel_runtime


@pytest.fixture
def client(runtime: Runtime) -> Any:
    return create_app(runtime).test_client()


@pytest.fixture
def open_complaint(runtime: Runtime) -> Callable[..., str]:
    """Open a complaint in the app's database; its code."""

    def factory(**overrides: Any) -> str:
        at = overrides.pop("now", None) or real_now()
        with unit_of_work(runtime.sessions) as session:
            reporter = contact_for_identity(
                session,
                Channel.SMS,
                REPORTER_PHONE,
                at,
                phone_e164=REPORTER_PHONE,
                display_name=REPORTER_NAME,
            )
            data = NewCase(
                channel=overrides.pop("channel", Channel.SMS),
                description=overrides.pop("description", "Rác tồn đọng ở đầu kiệt 12 Chi Lăng"),
                category_code=overrides.pop("category_code", "environment"),
                ward_code=overrides.pop("ward_code", "phu-hoi"),
                reporter_contact_id=reporter.id,
                **overrides,
            )
            case = open_case(session, data, now=at, actor=CITIZEN, settings=runtime.case_settings)
            return case.code

    return factory


@pytest.fixture
def with_case(runtime: Runtime) -> Callable[[str, Callable[[Any, Case], None]], None]:
    """Run `change(session, case)` on the case `code` in its own unit of work."""

    def apply(code: str, change: Callable[[Any, Case], None]) -> None:
        from intake.services.cases import get_case

        with unit_of_work(runtime.sessions) as session:
            change(session, get_case(session, code))

    return apply


def add_internal_note(case: Case, text: str, at: datetime) -> None:
    case.events.append(
        CaseEvent(at=at, actor=AGENT.name, action="note", data={"text": text}, public=False)
    )


@pytest.fixture
def registration_code(runtime: Runtime) -> str:
    with unit_of_work(runtime.sessions) as session:
        result = register(
            session,
            RegistrationInput(
                programme_code="covid-2021",
                full_name=NAME_IN_TEXT,
                cccd=CCCD,
                date_of_birth=date(1985, 3, 4),
                phone=PHONE,
                address=HOUSE,
                ward="Phu Hau",
                channel=Channel.ZALO,
                reason="Mất việc làm do dịch, gọi 0905 123 456",
            ),
            now=real_now() - timedelta(hours=2),
            actor=CITIZEN,
            settings=runtime.case_settings,
        )
        return result.case.code


@pytest.fixture
def api_key(runtime: Runtime) -> str:
    with unit_of_work(runtime.sessions) as session:
        _key, clear = open311.create_key(session, "Sở TN&MT", now=real_now())
    return clear


def assert_no_personal_data(text: str) -> None:
    for needle in (
        *PHONE_FORMS,
        *REPORTER_PHONE_FORMS,
        CCCD,
        REPORTER_NAME,
        NAME_IN_TEXT,
        HOUSE,
        "kiệt 5",
        INTERNAL_NOTE,
        "agent.tuan",
    ):
        assert needle not in text, f"{needle!r} leaked"
