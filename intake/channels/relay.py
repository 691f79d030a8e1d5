"""The inbox relay: webhooks write, the relay queues the bot's work.

On PostgreSQL each stored delivery is announced with NOTIFY in the webhook's own transaction.
The relay LISTENs, gathers the ids that arrive together and publishes one Celery task per small
batch. Webhooks then never wait for the broker: an acknowledgement costs one INSERT and a
commit, and a broker outage cannot slow them down. Notifications are not durable, so the relay
queues every unanswered delivery when it (re)connects, and the beat sweep re-queues anything
that waited too long.

Run one relay per site (`hotline relay`); a second one only publishes some tasks twice, which
the workers ignore (a delivery is answered once, under a lock).
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable

import psycopg
from sqlalchemy.engine import make_url

from intake.db import unit_of_work
from intake.runtime import Runtime
from intake.services import inbox

log = logging.getLogger(__name__)

# A worker answers a batch in one transaction: up to BATCH ids that arrive within LINGER_SECONDS
# of the first go out as one task (a quiet line waits at most that long; a busy one is answered
# several residents at a time).
BATCH = 30
LINGER_SECONDS = 0.1


def listen_dsn(database_url: str) -> str:
    """A libpq connection string from the SQLAlchemy URL."""
    url = make_url(database_url)
    return url.set(drivername="postgresql").render_as_string(hide_password=False)


class Relay:
    def __init__(self, runtime: Runtime, publish: Callable[[list[int]], None]) -> None:
        if runtime.engine.dialect.name != "postgresql":
            raise RuntimeError("the inbox relay needs PostgreSQL (LISTEN/NOTIFY)")
        self.runtime = runtime
        self.publish = publish
        self.dsn = listen_dsn(runtime.settings.effective_database_url)
        self.published = 0

    def run(self, stop: threading.Event) -> None:
        """Relay until `stop` is set, reconnecting after a database outage."""
        while not stop.is_set():
            try:
                self._listen(stop)
            except psycopg.Error as exc:
                log.warning("inbox relay: database unavailable (%s); retrying", exc)
                stop.wait(1.0)

    def _listen(self, stop: threading.Event) -> None:
        with psycopg.connect(self.dsn, autocommit=True) as conn:
            conn.execute(f"LISTEN {inbox.NOTIFY_CHANNEL}")
            self.catch_up()
            log.info("inbox relay: listening")
            while not stop.is_set():
                ids = [int(n.payload) for n in conn.notifies(timeout=1.0, stop_after=1)]
                if not ids:
                    continue
                deadline = time.monotonic() + LINGER_SECONDS
                while len(ids) < BATCH and time.monotonic() < deadline:
                    more = conn.notifies(timeout=LINGER_SECONDS, stop_after=BATCH - len(ids))
                    ids.extend(int(n.payload) for n in more)
                self._publish(ids)

    def catch_up(self) -> None:
        """Queue whatever is unanswered: it may have arrived while nobody listened."""
        with unit_of_work(self.runtime.sessions) as session:
            pending = inbox.pending_ids(session, limit=100_000)
        for start in range(0, len(pending), BATCH):
            self._publish(pending[start : start + BATCH])
        if pending:
            log.warning("inbox relay: queued %d unanswered deliveries", len(pending))

    def _publish(self, ids: list[int]) -> None:
        while True:
            try:
                self.publish(ids)
                self.published += len(ids)
                return
            except Exception as exc:  # broker down: keep trying, the ids are safe in the DB
                log.warning("inbox relay: cannot publish %d ids (%s); retrying", len(ids), exc)
                time.sleep(1.0)
