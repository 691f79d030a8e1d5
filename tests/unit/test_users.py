"""Console users: authentication gives nothing away about which usernames exist."""

from __future__ import annotations

from datetime import datetime

import pytest
from sqlalchemy.orm import Session

from intake.models import Role
from intake.services import users
from intake.services.users import authenticate, create_user

PASSWORD = "mat-khau-dung-2026"


@pytest.fixture
def agent(session: Session, now: datetime) -> object:
    return create_user(
        session, username="lan.agent", full_name="Lan", role=Role.AGENT, password=PASSWORD, now=now
    )


def test_authenticate_the_right_password(session: Session, agent: object) -> None:
    assert authenticate(session, " LAN.agent", PASSWORD) is agent


@pytest.mark.parametrize(
    ("username", "password"), [("lan.agent", "sai-mat-khau"), ("ghost", PASSWORD)]
)
def test_every_refusal_checks_a_password_hash(
    session: Session,
    agent: object,
    monkeypatch: pytest.MonkeyPatch,
    username: str,
    password: str,
) -> None:
    calls: list[str] = []
    real = users.verify_password

    def counting(candidate: str, stored: str) -> bool:
        calls.append(stored)
        return real(candidate, stored)

    monkeypatch.setattr(users, "verify_password", counting)
    assert authenticate(session, username, password) is None
    assert len(calls) == 1 and calls[0].startswith("scrypt$")


def test_an_inactive_user_is_refused(session: Session, agent: object) -> None:
    agent.active = False  # type: ignore[attr-defined]
    assert authenticate(session, "lan.agent", PASSWORD) is None
