"""Unit tier: a fresh SQLite database per test, built from the models."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy.orm import Session

from intake.db import make_engine, make_session_factory
from intake.models import Base


@pytest.fixture
def engine(tmp_path: Path) -> Iterator[object]:
    engine = make_engine(f"sqlite:///{tmp_path / 'unit.sqlite3'}")
    Base.metadata.create_all(engine)
    yield engine
    engine.dispose()


@pytest.fixture
def session(engine: object) -> Iterator[Session]:
    factory = make_session_factory(engine)  # type: ignore[arg-type]
    with factory() as session:
        yield session
        session.rollback()
