"""The inbox: what providers delivered, stored first and answered later.

`accept` writes a delivery in the webhook's transaction, before the provider hears back, so a
crash after the acknowledgement loses nothing. The provider's message id is unique per channel:
a repeated delivery is acknowledged and has no second effect. A worker takes deliveries one
resident at a time, oldest first (`claim_sender`, `pending_for_sender`); a sweep re-queues any
delivery that waited too long (a crashed worker, a broker outage).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import (
    Integer,
    String,
    Table,
    bindparam,
    cast,
    func,
    literal,
    select,
    text,
    tuple_,
    update,
)
from sqlalchemy.dialects import sqlite
from sqlalchemy.engine import Connection
from sqlalchemy.orm import Session
from sqlalchemy.sql.elements import ColumnElement

from intake.models import Channel, DeliveryStatus, InboundDelivery

MAX_ATTEMPTS = 5
NOTIFY_CHANNEL = "hotline_inbox"
_COLUMNS = (
    "channel",
    "provider_message_id",
    "sender_id",
    "display_name",
    "text",
    "attachments",
    "latitude",
    "longitude",
    "raw",
    "status",
    "attempts",
    "received_at",
    "queued_at",
)
STALE_AFTER = timedelta(seconds=60)


@dataclass
class Inbound:
    """One message a resident sent, as a channel adapter parsed it."""

    channel: Channel
    provider_message_id: str
    sender_id: str
    text: str = ""
    attachments: list[str] = field(default_factory=list)
    latitude: float | None = None
    longitude: float | None = None
    display_name: str | None = None
    raw: dict[str, Any] | None = None

    def values(self, now: datetime) -> dict[str, Any]:
        return {
            "channel": self.channel,
            "provider_message_id": self.provider_message_id[:128],
            "sender_id": self.sender_id[:64],
            "display_name": (self.display_name or None) and self.display_name[:200],
            "text": self.text,
            "attachments": list(self.attachments),
            "latitude": self.latitude,
            "longitude": self.longitude,
            "raw": self.raw,
            "status": DeliveryStatus.PENDING,
            "attempts": 0,
            "received_at": now,
            "queued_at": now,
        }


def accept(session: Session | Connection, item: Inbound, now: datetime) -> int | None:
    """Store a delivery; its id, or None when the provider already delivered it.

    Webhooks call it on a bare connection: one statement and a commit, nothing more."""
    bind = session if isinstance(session, Connection) else session.get_bind()
    dialect = bind.dialect.name
    if dialect not in _ACCEPT:
        _ACCEPT[dialect] = _accept_statement(dialect)
    stmt = _ACCEPT[dialect]
    return session.execute(stmt, item.values(now)).scalar_one_or_none()


def _accept_statement(dialect: str) -> Any:
    """INSERT … ON CONFLICT DO NOTHING RETURNING id, built once and compiled once.

    On PostgreSQL the same statement announces the new id on NOTIFY_CHANNEL; the notification
    is delivered when the transaction commits, to the relay that queues the bot's work. It is
    written as SQL text because SQLAlchemy does not cache the compiled form of a DML CTE, and
    compiling it on every webhook cost more than the insert."""
    table = InboundDelivery.__table__
    assert isinstance(table, Table)
    binds = [bindparam(name, type_=table.c[name].type) for name in _COLUMNS]
    if dialect != "postgresql":
        return (
            sqlite.insert(table)
            .values({b.key: b for b in binds})
            .on_conflict_do_nothing(index_elements=["channel", "provider_message_id"])
            .returning(table.c.id)
        )
    # Names only (constants of this module); every value is a bound parameter.
    columns = ", ".join(_COLUMNS)
    values = ", ".join(":" + name for name in _COLUMNS)
    sql = " ".join(
        [
            f"WITH inserted AS (INSERT INTO {table.name} ({columns}) VALUES ({values})",  # noqa: S608
            "ON CONFLICT (channel, provider_message_id) DO NOTHING RETURNING id)",
            f"SELECT id, pg_notify('{NOTIFY_CHANNEL}', id::text) FROM inserted",  # noqa: S608
        ]
    )
    return text(sql).bindparams(*binds).columns(id=Integer)


_ACCEPT: dict[str, Any] = {}


def get(session: Session, delivery_id: int) -> InboundDelivery | None:
    return session.get(InboundDelivery, delivery_id)


def claim_sender(session: Session, delivery_id: int) -> tuple[Channel, str] | None:
    """Whose message this is, if it still waits for an answer; that resident's deliveries are
    then serialised until the transaction ends (one statement: find and lock).

    PostgreSQL: a transaction-scoped advisory lock on the sender. SQLite: the write lock taken
    at BEGIN already serialises every writer."""
    table = InboundDelivery.__table__
    assert isinstance(table, Table)
    query = select(InboundDelivery.channel, InboundDelivery.sender_id).where(
        InboundDelivery.id == delivery_id, InboundDelivery.status == DeliveryStatus.PENDING
    )
    if session.get_bind().dialect.name == "postgresql":
        query = query.add_columns(func.pg_advisory_xact_lock(_sender_key(table.c)))
    row = session.execute(query).first()
    return (row[0], row[1]) if row is not None else None


@dataclass
class Claim:
    """What `claim_senders` took: the residents locked, the highest delivery id to answer for
    them, and the given ids left out because another worker holds their resident."""

    senders: list[tuple[Channel, str]]
    up_to_id: int
    busy: list[int]


def claim_senders(session: Session, delivery_ids: list[int], *, more: int = 0) -> Claim:
    """Lock, in one statement, the residents whose messages among these still wait, and those
    of up to `more` other waiting deliveries (oldest first, none that failed before): a busy
    worker answers whatever is waiting in one batch, and the tasks announcing those find nothing
    left to do.

    The locks are only tried, never waited for, so two workers claiming overlapping residents in
    different orders cannot deadlock. A resident another worker holds is left to it; the given
    ids among its deliveries come back in `busy`, for the caller to announce again later."""
    if not delivery_ids:
        return Claim([], 0, [])
    table = InboundDelivery.__table__
    assert isinstance(table, Table)
    pending = table.c.status == DeliveryStatus.PENDING
    if session.get_bind().dialect.name != "postgresql":
        # SQLite: the write lock taken at BEGIN already serialises every writer.
        rows = session.execute(
            select(table.c.channel, table.c.sender_id)
            .where(table.c.id.in_(delivery_ids), pending)
            .distinct()
        ).all()
        return Claim([(Channel(r[0]), r[1]) for r in rows], max(delivery_ids), [])
    wanted: ColumnElement[bool] = table.c.id.in_(delivery_ids)
    if more > 0:
        # Never a delivery that already failed: it waits for its own retry, alone, so that a
        # message that breaks every batch it is in cannot slow the others down.
        oldest = (
            select(table.c.id)
            .where(pending, table.c.attempts == 0)
            .order_by(table.c.queued_at, table.c.id)
            .limit(more)
            .scalar_subquery()
        )
        wanted = wanted | table.c.id.in_(oldest)
    # Grouped first, so that the lock is tried once per resident.
    grouped = (
        select(table.c.channel, table.c.sender_id, func.array_agg(table.c.id).label("ids"))
        .where(pending, wanted)
        .group_by(table.c.channel, table.c.sender_id)
        .subquery()
    )
    rows = session.execute(
        select(
            grouped.c.channel,
            grouped.c.sender_id,
            grouped.c.ids,
            func.pg_try_advisory_xact_lock(_sender_key(grouped.c)),
        )
    ).all()
    given = set(delivery_ids)
    claimed = [r for r in rows if r[3]]
    return Claim(
        senders=[(Channel(r[0]), r[1]) for r in claimed],
        up_to_id=max((i for r in claimed for i in r[2]), default=0),
        busy=sorted(i for r in rows if not r[3] for i in r[2] if i in given),
    )


def pending_for_senders(
    session: Session, senders: list[tuple[Channel, str]], up_to_id: int
) -> list[InboundDelivery]:
    """These residents' unanswered deliveries up to `up_to_id`, oldest first, locked."""
    if not senders:
        return []
    stmt = (
        select(InboundDelivery)
        .where(
            tuple_(InboundDelivery.channel, InboundDelivery.sender_id).in_(senders),
            InboundDelivery.status == DeliveryStatus.PENDING,
            InboundDelivery.id <= up_to_id,
        )
        .order_by(InboundDelivery.id)
    )
    if session.get_bind().dialect.name == "postgresql":
        stmt = stmt.with_for_update()
    return list(session.scalars(stmt))


def _sender_key(columns: Any) -> Any:
    """The advisory-lock key of a sender: a 64-bit hash of "channel:sender_id", in SQL."""
    return func.hashtextextended(
        cast(columns.channel, String) + literal(":") + columns.sender_id, 0
    )


def pending_for_sender(
    session: Session, channel: Channel, sender_id: str, up_to_id: int
) -> list[InboundDelivery]:
    """This resident's unanswered deliveries up to `up_to_id`, oldest first, locked."""
    return pending_for_senders(session, [(channel, sender_id)], up_to_id)


def mark_done(delivery: InboundDelivery, now: datetime, conversation_id: int | None) -> None:
    delivery.status = DeliveryStatus.DONE
    delivery.processed_at = now
    delivery.conversation_id = conversation_id
    delivery.attempts += 1
    delivery.last_error = None


def record_failure(session: Session, delivery_id: int, now: datetime, error: str) -> bool:
    """Count a failed attempt (in a fresh transaction); True when it was the last one."""
    delivery = session.get(InboundDelivery, delivery_id)
    if delivery is None or delivery.status != DeliveryStatus.PENDING:
        return False
    delivery.attempts += 1
    delivery.last_error = error[:2000]
    delivery.queued_at = now
    if delivery.attempts >= MAX_ATTEMPTS:
        delivery.status = DeliveryStatus.FAILED
        return True
    return False


def stale_ids(
    session: Session, now: datetime, limit: int = 500, *, older_than: timedelta = STALE_AFTER
) -> list[int]:
    """Pending deliveries queued longer ago than `older_than`; their queue time is reset."""
    ids = list(
        session.scalars(
            select(InboundDelivery.id)
            .where(
                InboundDelivery.status == DeliveryStatus.PENDING,
                InboundDelivery.queued_at <= now - older_than,
            )
            .order_by(InboundDelivery.id)
            .limit(limit)
        )
    )
    if ids:
        session.execute(
            update(InboundDelivery).where(InboundDelivery.id.in_(ids)).values(queued_at=now)
        )
    return ids


def pending_ids(session: Session, limit: int = 500) -> list[int]:
    """Every unanswered delivery, oldest first (a worker starting up re-queues them)."""
    return list(
        session.scalars(
            select(InboundDelivery.id)
            .where(InboundDelivery.status == DeliveryStatus.PENDING)
            .order_by(InboundDelivery.id)
            .limit(limit)
        )
    )
