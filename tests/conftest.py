"""Fixtures shared by every tier: no real provider is ever reached, and case factories."""

from __future__ import annotations

import ipaddress
import socket
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from typing import Any

import pytest
from sqlalchemy.orm import Session

from intake.models import Channel, Contact
from intake.seed import seed_demo
from intake.services.cases import CITIZEN, NewCase, open_case
from intake.services.contacts import contact_for_identity

NOW = datetime(2026, 11, 26, 2, 0, tzinfo=UTC)  # 09:00 in Huế


def _is_local(address: Any) -> bool:
    if isinstance(address, str | bytes):  # a Unix socket path
        return True
    host = address[0]
    if host in {"localhost", ""}:
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


@pytest.fixture(autouse=True)
def _no_real_providers(monkeypatch: pytest.MonkeyPatch) -> None:
    """Fail any test that tries to reach Twilio, Zalo, Meta, Telegram or anything off-machine."""
    real_connect = socket.socket.connect

    def guarded_connect(sock: socket.socket, address: Any) -> Any:
        if not _is_local(address):
            raise AssertionError(f"test tried to reach {address!r}: use a local fake server")
        return real_connect(sock, address)

    monkeypatch.setattr(socket.socket, "connect", guarded_connect)


@pytest.fixture
def now() -> datetime:
    return NOW


@pytest.fixture
def seeded(session: Session, now: datetime) -> Session:
    """The demo reference data: wards, agencies, categories, a programme, an admin."""
    seed_demo(session, now)
    return session


@pytest.fixture
def make_contact(session: Session, now: datetime) -> Callable[..., Contact]:
    counter = iter(range(1, 10_000))

    def factory(phone: str | None = None, channel: Channel = Channel.SMS) -> Contact:
        phone = phone or f"+8490500{next(counter):04d}"
        return contact_for_identity(session, channel, phone, now, phone_e164=phone)

    return factory


@pytest.fixture
def make_case(
    seeded: Session, now: datetime, make_contact: Callable[..., Contact]
) -> Iterator[Callable[..., Any]]:
    def factory(**overrides: Any) -> Any:
        reporter = overrides.pop("reporter", None) or make_contact()
        at = overrides.pop("now", now)
        data = NewCase(
            channel=overrides.pop("channel", Channel.SMS),
            description=overrides.pop("description", "Rác tồn đọng ở kiệt 12 Nguyễn Huệ 3 ngày"),
            category_code=overrides.pop("category_code", "environment"),
            ward_code=overrides.pop("ward_code", "phu-hoi"),
            reporter_contact_id=reporter.id,
            **overrides,
        )
        return open_case(seeded, data, now=at, actor=CITIZEN)

    yield factory
