"""The webhooks on a real app and SQLite database, with Celery tasks run in-process (eager)
and the providers played by a local HTTP server (fixtures in tests/conftest.py)."""

from __future__ import annotations

from typing import Any

import pytest

from agents_console.app import create_app
from intake.runtime import Runtime


@pytest.fixture
def runtime(channel_runtime: Runtime) -> Runtime:
    return channel_runtime


@pytest.fixture
def client(runtime: Runtime) -> Any:
    return create_app(runtime).test_client()
