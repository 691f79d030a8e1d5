"""Fixtures shared by every tier: no real provider is ever reached, and case factories."""

from __future__ import annotations

import ipaddress
import socket
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy.orm import Session

from intake.models import Channel, Contact
from intake.runtime import Runtime
from intake.seed import seed_demo
from intake.services.cases import CITIZEN, NewCase, open_case
from intake.services.contacts import contact_for_identity
from tests.fakes import FakeProviders

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


@pytest.fixture
def providers() -> Iterator[FakeProviders]:
    """Twilio, Zalo, Graph and Telegram APIs, played by a local recording server."""
    fake = FakeProviders().start()
    yield fake
    fake.stop()


@pytest.fixture(scope="session")
def trained_var(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A var directory holding the trained embedded model (trained once per run)."""
    from bot.nlu.engine import EmbeddedNLU

    var = tmp_path_factory.mktemp("trained-var")
    EmbeddedNLU.load_or_train(var)
    return var


@pytest.fixture
def channel_runtime(
    tmp_path: Path, trained_var: Path, providers: FakeProviders, monkeypatch: pytest.MonkeyPatch
) -> Iterator[Runtime]:
    """The whole app on a seeded SQLite database, the providers played by `providers`, and
    Celery tasks run inside the request that queues them (as with CELERY_ALWAYS_EAGER)."""
    from intake.channels import processing
    from intake.config import Settings
    from intake.db import unit_of_work
    from intake.migrate import upgrade
    from intake.runtime import set_runtime
    from intake.worker import celery_app

    settings = Settings(
        var_dir=trained_var,
        database_url=f"sqlite:///{tmp_path / 'channels.sqlite3'}",
        public_base_url="https://hotline.example.vn",
        **providers.settings(),  # type: ignore[arg-type]
    )
    runtime = Runtime.from_settings(settings)
    upgrade(runtime.engine)
    with unit_of_work(runtime.sessions) as session:
        seed_demo(session, NOW)
    monkeypatch.setitem(celery_app.conf, "task_always_eager", True)
    set_runtime(runtime)
    yield runtime
    set_runtime(None)
    processing.reset_processor()
    runtime.close()


@pytest.fixture(scope="session")
def tiny_model_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A synthetic 16 kHz Vosk model with runtime grammars, like vosk-model-small-vn: the real
    runtime loads and decodes it, though it recognises nothing meaningful."""
    from tests.fixtures import make_tiny_vosk_model as tiny
    from tests.fixtures.speech import WORDS

    path = tmp_path_factory.mktemp("vosk") / "tiny-small"
    tiny.write_model(str(path), WORDS, sample_rate=16000, graph="lookahead")
    return path


@pytest.fixture(scope="session")
def tiny_static_model_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The same with a static graph, like the large vosk-model-vn (no phrase lists)."""
    from tests.fixtures import make_tiny_vosk_model as tiny
    from tests.fixtures.speech import WORDS

    path = tmp_path_factory.mktemp("vosk") / "tiny-large"
    tiny.write_model(str(path), WORDS, sample_rate=16000, graph="static")
    return path
