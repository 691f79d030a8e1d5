"""Case codes: `HUE-241126-0042`. The digits alone (`2411260042`) find the case too."""

from __future__ import annotations

import re
from datetime import date, datetime

from sqlalchemy import text
from sqlalchemy.dialects import sqlite
from sqlalchemy.exc import IntegrityError, ProgrammingError
from sqlalchemy.orm import Session

from intake.clock import local_date
from intake.models import CaseCodeCounter

_SEQ_WIDTH = 4
# (database URL, sequence name) pairs seen to exist: later calls skip the savepoint.
_known_sequences: set[tuple[str, str]] = set()
_CODE_RE = re.compile(r"^\s*([A-Za-z]{2,8})[-\s]?(\d{6})[-\s]?(\d{1,9})\s*$")


def allocate_case_code(session: Session, now: datetime, prefix: str) -> str:
    """Hand out the next code for today's local date, unique under any concurrency."""
    day = local_date(now)
    dialect = session.get_bind().dialect.name
    if dialect == "postgresql":
        seq = _next_from_day_sequence(session, day)
    elif dialect == "sqlite":
        seq = _next_from_counter_row(session, day)
    else:
        raise RuntimeError(f"case codes need PostgreSQL or SQLite, not {dialect}")
    return format_code(prefix, day.strftime("%y%m%d"), seq)


def _next_from_day_sequence(session: Session, day: date) -> int:
    """PostgreSQL: one sequence per day. `nextval` takes no row lock and is never rolled back,
    so concurrent openers never wait on each other (a rolled-back case leaves a gap, which is
    harmless: codes must be unique, not contiguous)."""
    name = f"case_code_seq_{day:%Y%m%d}"
    nextval = text(f"SELECT nextval('{name}')")
    known = (session.get_bind().engine.url.render_as_string(hide_password=True), name)
    if known in _known_sequences:
        return int(session.execute(nextval).scalar_one())
    try:
        with session.begin_nested():
            seq = int(session.execute(nextval).scalar_one())
    except ProgrammingError:  # the day's first case: the sequence does not exist yet
        try:
            with session.begin_nested():
                session.execute(text(f"CREATE SEQUENCE IF NOT EXISTS {name}"))
        except IntegrityError:  # another transaction created it at the same moment
            pass
        seq = int(session.execute(nextval).scalar_one())
    else:
        _known_sequences.add(known)
    return seq


def _next_from_counter_row(session: Session, day: date) -> int:
    """SQLite: a counter row per day bumped by an upsert; SQLite has one writer at a time, so
    the write lock taken at BEGIN IMMEDIATE already serialises allocation."""
    stmt = (
        sqlite.insert(CaseCodeCounter)
        .values(day=day, last_seq=1)
        .on_conflict_do_update(
            index_elements=[CaseCodeCounter.day],
            set_={"last_seq": CaseCodeCounter.last_seq + 1},
        )
        .returning(CaseCodeCounter.last_seq)
    )
    return int(session.execute(stmt).scalar_one())


def format_code(prefix: str, day_digits: str, seq: int) -> str:
    return f"{prefix.upper()}-{day_digits}-{seq:0{_SEQ_WIDTH}d}"


def canonical_code(text: str, prefix: str) -> str | None:
    """Turn what a resident typed or keyed into the stored code, or None if it cannot be one.

    Accepts `HUE-241126-0042`, `hue 241126 0042`, `2411260042` and `241126-42`.
    """
    match = _CODE_RE.match(text)
    if match:
        return format_code(match.group(1), match.group(2), int(match.group(3)))
    cleaned = re.sub(r"[\s.\-]", "", text)
    if cleaned.isdigit() and len(cleaned) >= 7:
        return format_code(prefix, cleaned[:6], int(cleaned[6:]))
    return None
