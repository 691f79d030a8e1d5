from __future__ import annotations

from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext

from intake.db import make_engine
from intake.migrate import current_revision, head_revision, is_up_to_date, upgrade
from intake.models import Base


def test_migrations_build_exactly_the_models_schema(tmp_path):
    engine = make_engine(f"sqlite:///{tmp_path / 'm.sqlite3'}")
    assert current_revision(engine) is None
    upgrade(engine)
    upgrade(engine)  # running it again is harmless
    assert current_revision(engine) == head_revision() and is_up_to_date(engine)
    with engine.connect() as conn:
        diff = compare_metadata(MigrationContext.configure(conn), Base.metadata)
    assert diff == []
    engine.dispose()
