"""Case codes: `HUE-241126-0042`. The digits alone (`2411260042`) find the case too."""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import datetime

from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from intake.clock import local_date
from intake.models import CaseCodeCounter

_SEQ_WIDTH = 4
_CODE_RE = re.compile(r"^\s*([A-Za-z]{2,8})[-\s]?(\d{6})[-\s]?(\d{1,9})\s*$")


def allocate_case_code(session: Session, now: datetime, prefix: str) -> str:
    """Hand out the next code for today's local date, unique under any concurrency.

    An `INSERT ... ON CONFLICT DO UPDATE ... RETURNING` bumps the day's counter atomically; the row
    lock it takes is held to the end of the transaction, so concurrent openers queue on it
    briefly and never see the same number.
    """
    day = local_date(now)
    dialect = session.get_bind().dialect.name
    insert: Callable[..., postgresql.Insert | sqlite.Insert]
    if dialect == "postgresql":
        insert = postgresql.insert
    elif dialect == "sqlite":
        insert = sqlite.insert
    else:
        raise RuntimeError(f"case codes need PostgreSQL or SQLite, not {dialect}")
    stmt = (
        insert(CaseCodeCounter)
        .values(day=day, last_seq=1)
        .on_conflict_do_update(
            index_elements=[CaseCodeCounter.day],
            set_={"last_seq": CaseCodeCounter.last_seq + 1},
        )
        .returning(CaseCodeCounter.last_seq)
    )
    seq = session.execute(stmt).scalar_one()
    return format_code(prefix, day.strftime("%y%m%d"), seq)


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
