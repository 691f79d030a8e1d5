"""The composition root: settings -> engine, sessions and outbound senders, once per process."""

from __future__ import annotations

import functools
import threading
from dataclasses import dataclass

from sqlalchemy import Engine
from sqlalchemy.orm import Session, sessionmaker

from intake.config import Settings, load_settings
from intake.db import make_engine, make_session_factory
from intake.services.cases import CaseSettings


@dataclass
class Runtime:
    settings: Settings
    engine: Engine
    sessions: sessionmaker[Session]

    @classmethod
    def from_settings(cls, settings: Settings) -> Runtime:
        engine = make_engine(settings.effective_database_url, echo=settings.sql_echo)
        return cls(settings=settings, engine=engine, sessions=make_session_factory(engine))

    @property
    def case_settings(self) -> CaseSettings:
        return CaseSettings(
            code_prefix=self.settings.case_code_prefix,
            public_base_url=self.settings.public_base_url,
        )

    @functools.cached_property
    def ingest_engine(self) -> Engine:
        """PostgreSQL connections for storing webhook deliveries: each statement commits on its
        own (no BEGIN or COMMIT round trips) and connections are not pinged before use, so an
        acknowledgement costs one round trip. The webhooks retry a statement that met a
        connection the server had dropped."""
        return make_engine(
            self.settings.effective_database_url,
            echo=self.settings.sql_echo,
            pre_ping=False,
            isolation_level="AUTOCOMMIT",
        )

    def close(self) -> None:
        if "ingest_engine" in self.__dict__:
            self.ingest_engine.dispose()
        self.engine.dispose()


_lock = threading.Lock()
_current: Runtime | None = None


def get_runtime() -> Runtime:
    """This process's runtime, built from the environment on first use."""
    global _current
    with _lock:
        if _current is None:
            _current = Runtime.from_settings(load_settings())
        return _current


def set_runtime(runtime: Runtime | None) -> None:
    """Install a runtime built elsewhere (the `hotline` command, tests)."""
    global _current
    with _lock:
        _current = runtime
