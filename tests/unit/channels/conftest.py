"""The webhooks on a real app and SQLite database, with Celery tasks run in-process (eager)
and the providers played by a local HTTP server."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from agents_console.app import create_app
from bot.nlu.engine import EmbeddedNLU
from intake.channels import processing
from intake.config import Settings
from intake.db import unit_of_work
from intake.migrate import upgrade
from intake.runtime import Runtime, set_runtime
from intake.seed import seed_demo
from intake.worker import celery_app
from tests.conftest import NOW
from tests.fakes import FakeProviders


@pytest.fixture(scope="session")
def trained_var(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A var directory holding the trained embedded model (trained once per run)."""
    var = tmp_path_factory.mktemp("channels-var")
    EmbeddedNLU.load_or_train(var)
    return var


@pytest.fixture
def providers() -> Iterator[FakeProviders]:
    fake = FakeProviders().start()
    yield fake
    fake.stop()


@pytest.fixture
def runtime(tmp_path: Path, trained_var: Path, providers: FakeProviders) -> Iterator[Runtime]:
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
    set_runtime(runtime)
    yield runtime
    set_runtime(None)
    processing.reset_processor()
    runtime.close()


@pytest.fixture
def eager(monkeypatch: pytest.MonkeyPatch) -> None:
    """Tasks run inside the request that queues them, as with CELERY_ALWAYS_EAGER."""
    monkeypatch.setitem(celery_app.conf, "task_always_eager", True)


@pytest.fixture
def client(runtime: Runtime, eager: None) -> Any:
    return create_app(runtime).test_client()
