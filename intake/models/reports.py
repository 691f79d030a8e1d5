"""The dashboards' daily summary, and the change markers that say which days it no longer covers.

`report_day_counts` holds, per Huế day, the counts the dashboards show: cases per category,
channel, ward, acknowledgement outcome and resolution outcome, and calls per outcome. A day
is covered by the summary when it has a `report_days` row and no `report_changes` marker.

Markers are written by the database itself, in the transaction that changes the data:
triggers on `cases`, `case_extensions` and `calls` add the local day of every row inserted,
deleted or changed in a column the dashboards count. No code path (a service, an admin's SQL,
a bulk import) can change a figure without marking its day, so a day read from the summary is
never stale: changed days are counted live from `cases` until they are refreshed
(services/reports.py).
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from sqlalchemy import DDL, Date, Index, Integer, String, event
from sqlalchemy.orm import Mapped, mapped_column

from intake.models.base import Base, UTCDateTime


class ReportDay(Base):
    """A day whose counts are in `report_day_counts` (a day without cases has no counts)."""

    __tablename__ = "report_days"

    day: Mapped[date] = mapped_column(Date, primary_key=True)
    refreshed_at: Mapped[datetime] = mapped_column(UTCDateTime)


class ReportDayCount(Base):
    """One count of one day: `dimension` is category, channel, ward, ack, resolve or call;
    `item` the category or ward id, channel, outcome, or `-` for none."""

    __tablename__ = "report_day_counts"

    day: Mapped[date] = mapped_column(Date, primary_key=True)
    dimension: Mapped[str] = mapped_column(String(16), primary_key=True)
    item: Mapped[str] = mapped_column(String(40), primary_key=True)
    total: Mapped[int] = mapped_column(Integer)


class ReportChange(Base):
    """A day whose data changed after its summary was computed (written by triggers)."""

    __tablename__ = "report_changes"
    __table_args__ = (Index("ix_report_changes_day", "day"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    day: Mapped[date] = mapped_column(Date)


# The triggers. Migration 0009 creates the same ones (a unit test checks they stay equal);
# changing them here needs a new migration.
#
# SQLite keeps UTC timestamps as text: the Huế day is date(ts, '+7 hours'). Row triggers; an
# update marks both the old and the new day of the row.
_CASE_COLUMNS = (
    "created_at",
    "category_id",
    "channel",
    "ward_id",
    "ack_due_at",
    "acknowledged_at",
    "resolve_due_at",
    "resolved_at",
)
_CALL_COLUMNS = ("started_at", "outcome")


def _sqlite_changed(columns: tuple[str, ...]) -> str:
    return " OR ".join(f"OLD.{c} IS NOT NEW.{c}" for c in columns)


SQLITE_TRIGGERS = (
    "CREATE TRIGGER report_cases_insert AFTER INSERT ON cases BEGIN "
    "INSERT INTO report_changes (day) VALUES (date(NEW.created_at, '+7 hours')); END",
    "CREATE TRIGGER report_cases_update AFTER UPDATE ON cases "
    f"WHEN {_sqlite_changed(_CASE_COLUMNS)} BEGIN "
    "INSERT INTO report_changes (day) SELECT date(OLD.created_at, '+7 hours') "
    "UNION SELECT date(NEW.created_at, '+7 hours'); END",
    "CREATE TRIGGER report_cases_delete AFTER DELETE ON cases BEGIN "
    "INSERT INTO report_changes (day) VALUES (date(OLD.created_at, '+7 hours')); END",
    "CREATE TRIGGER report_case_extensions_insert AFTER INSERT ON case_extensions BEGIN "
    "INSERT INTO report_changes (day) "
    "SELECT date(created_at, '+7 hours') FROM cases WHERE id = NEW.case_id; END",
    "CREATE TRIGGER report_case_extensions_update AFTER UPDATE ON case_extensions "
    "WHEN OLD.case_id IS NOT NEW.case_id BEGIN "
    "INSERT INTO report_changes (day) "
    "SELECT date(created_at, '+7 hours') FROM cases WHERE id IN (OLD.case_id, NEW.case_id); END",
    "CREATE TRIGGER report_case_extensions_delete AFTER DELETE ON case_extensions BEGIN "
    "INSERT INTO report_changes (day) "
    "SELECT date(created_at, '+7 hours') FROM cases WHERE id = OLD.case_id; END",
    "CREATE TRIGGER report_calls_insert AFTER INSERT ON calls BEGIN "
    "INSERT INTO report_changes (day) VALUES (date(NEW.started_at, '+7 hours')); END",
    "CREATE TRIGGER report_calls_update AFTER UPDATE ON calls "
    f"WHEN {_sqlite_changed(_CALL_COLUMNS)} BEGIN "
    "INSERT INTO report_changes (day) SELECT date(OLD.started_at, '+7 hours') "
    "UNION SELECT date(NEW.started_at, '+7 hours'); END",
    "CREATE TRIGGER report_calls_delete AFTER DELETE ON calls BEGIN "
    "INSERT INTO report_changes (day) VALUES (date(OLD.started_at, '+7 hours')); END",
)


# PostgreSQL: statement triggers with transition tables, so a bulk INSERT … SELECT of a million
# rows writes one marker per day, not per row. The day is taken at the fixed offset +07:00 as
# in services/reports.py (an INTERVAL: a '+07:00' string would be a POSIX zone, UTC-7).
def _pg_day(column: str) -> str:
    return f"(timezone(INTERVAL '+07:00', {column}))::date"


def _pg_row(alias: str, columns: tuple[str, ...]) -> str:
    return "(" + ", ".join(f"{alias}.{c}" for c in columns) + ")"


def _pg_function(name: str, insert_sql: str, delete_sql: str, update_sql: str) -> str:
    return (
        f"CREATE OR REPLACE FUNCTION {name}() RETURNS trigger LANGUAGE plpgsql AS $$\n"
        "BEGIN\n"
        "  IF TG_OP = 'INSERT' THEN\n"
        f"    INSERT INTO report_changes (day) {insert_sql};\n"
        "  ELSIF TG_OP = 'DELETE' THEN\n"
        f"    INSERT INTO report_changes (day) {delete_sql};\n"
        "  ELSE\n"
        f"    INSERT INTO report_changes (day) {update_sql};\n"
        "  END IF;\n"
        "  RETURN NULL;\n"
        "END\n"
        "$$"
    )


def _pg_triggers(table: str, function: str) -> tuple[str, ...]:
    prefix = f"report_{table}"
    return (
        f"CREATE TRIGGER {prefix}_insert AFTER INSERT ON {table} "
        f"REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION {function}()",
        f"CREATE TRIGGER {prefix}_update AFTER UPDATE ON {table} "
        "REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows "
        f"FOR EACH STATEMENT EXECUTE FUNCTION {function}()",
        f"CREATE TRIGGER {prefix}_delete AFTER DELETE ON {table} "
        f"REFERENCING OLD TABLE AS old_rows FOR EACH STATEMENT EXECUTE FUNCTION {function}()",
        # TRUNCATE leaves no rows to mark: forget the whole summary instead.
        f"CREATE TRIGGER {prefix}_truncate AFTER TRUNCATE ON {table} "
        "FOR EACH STATEMENT EXECUTE FUNCTION report_forget_all()",
    )


def _pg_changed_days(time_column: str, columns: tuple[str, ...]) -> str:
    return (
        "SELECT DISTINCT d FROM old_rows o JOIN new_rows n ON n.id = o.id, "  # noqa: S608 (constants)
        f"LATERAL (VALUES ({_pg_day('o.' + time_column)}), ({_pg_day('n.' + time_column)})) "
        f"AS v(d) WHERE {_pg_row('o', columns)} IS DISTINCT FROM {_pg_row('n', columns)}"
    )


def _pg_extension_days(rows: str) -> str:
    return (
        f"SELECT DISTINCT {_pg_day('c.created_at')} FROM {rows} e JOIN cases c ON c.id = e.case_id"  # noqa: S608 (constants)
    )


POSTGRESQL_TRIGGERS = (
    "CREATE OR REPLACE FUNCTION report_forget_all() RETURNS trigger LANGUAGE plpgsql AS $$\n"
    "BEGIN\n"
    "  DELETE FROM report_days;\n"
    "  DELETE FROM report_day_counts;\n"
    "  RETURN NULL;\n"
    "END\n"
    "$$",
    _pg_function(
        "report_mark_cases",
        f"SELECT DISTINCT {_pg_day('created_at')} FROM new_rows",  # noqa: S608 (constants)
        f"SELECT DISTINCT {_pg_day('created_at')} FROM old_rows",  # noqa: S608 (constants)
        _pg_changed_days("created_at", _CASE_COLUMNS),
    ),
    _pg_function(
        "report_mark_extensions",
        _pg_extension_days("new_rows"),
        _pg_extension_days("old_rows"),
        # Only which case an extension belongs to counts ("late with an extension").
        f"{_pg_extension_days('old_rows')} UNION {_pg_extension_days('new_rows')}",
    ),
    _pg_function(
        "report_mark_calls",
        f"SELECT DISTINCT {_pg_day('started_at')} FROM new_rows",  # noqa: S608 (constants)
        f"SELECT DISTINCT {_pg_day('started_at')} FROM old_rows",  # noqa: S608 (constants)
        _pg_changed_days("started_at", _CALL_COLUMNS),
    ),
    *_pg_triggers("cases", "report_mark_cases"),
    *_pg_triggers("case_extensions", "report_mark_extensions"),
    *_pg_triggers("calls", "report_mark_calls"),
)


def _ddl(statement: str, dialect: str) -> Any:
    return DDL(statement).execute_if(dialect=dialect)  # type: ignore[no-untyped-call]


for _statement in SQLITE_TRIGGERS:
    event.listen(Base.metadata, "after_create", _ddl(_statement, "sqlite"))
for _statement in POSTGRESQL_TRIGGERS:
    event.listen(Base.metadata, "after_create", _ddl(_statement, "postgresql"))
