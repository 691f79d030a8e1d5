"""The dashboards' summary schema: the migration builds the same triggers as the models."""

from __future__ import annotations

import importlib.util

from sqlalchemy import text

from intake.db import make_engine
from intake.migrate import MIGRATIONS_DIR, upgrade
from intake.models import Base
from intake.models import reports as models


def test_migration_0009_has_the_models_triggers() -> None:
    path = MIGRATIONS_DIR / "versions" / "0009_report_summary.py"
    spec = importlib.util.spec_from_file_location("migration_0009", path)
    assert spec and spec.loader
    migration = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(migration)
    # A change to the triggers in intake/models/reports.py needs a new migration.
    assert migration.SQLITE_TRIGGERS == models.SQLITE_TRIGGERS
    assert migration.POSTGRESQL_TRIGGERS == models.POSTGRESQL_TRIGGERS


def _triggers(engine: object) -> list[tuple[str, str, str]]:
    with engine.connect() as conn:  # type: ignore[attr-defined]
        rows = conn.execute(
            text("SELECT name, tbl_name, sql FROM sqlite_master WHERE type = 'trigger'")
        )
        return sorted(tuple(r) for r in rows)


def test_migrated_and_created_databases_mark_the_same_changes(tmp_path) -> None:
    migrated = make_engine(f"sqlite:///{tmp_path / 'migrated.sqlite3'}")
    upgrade(migrated)
    created = make_engine(f"sqlite:///{tmp_path / 'created.sqlite3'}")
    Base.metadata.create_all(created)
    triggers = _triggers(migrated)
    assert triggers == _triggers(created)
    assert {t for _n, t, _s in triggers} == {"cases", "case_extensions", "calls"}
    assert len(triggers) == 9
    migrated.dispose()
    created.dispose()


def test_downgrade_removes_the_triggers(tmp_path) -> None:
    engine = make_engine(f"sqlite:///{tmp_path / 'm.sqlite3'}")
    upgrade(engine)
    from alembic import command

    from intake.migrate import alembic_config

    config = alembic_config(engine)
    with engine.begin() as connection:
        config.attributes["connection"] = connection
        command.downgrade(config, "0008")
    assert _triggers(engine) == []
    upgrade(engine)
    assert len(_triggers(engine)) == 9
    engine.dispose()
