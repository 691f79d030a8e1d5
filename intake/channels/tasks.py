"""Celery tasks of the channels: answer a delivery, re-queue the forgotten ones."""

from __future__ import annotations

import logging
from datetime import timedelta
from typing import Any

from celery import Task
from celery.signals import worker_ready

from intake.channels.processing import get_processor
from intake.clock import utcnow
from intake.db import unit_of_work
from intake.runtime import get_runtime
from intake.services import inbox
from intake.worker import celery_app

log = logging.getLogger(__name__)

RETRY_DELAYS = (2, 10, 30, 60)
# A batch's deliveries whose resident another worker holds are announced again after
# BUSY_DELAY seconds, up to BUSY_TRIES times.
BUSY_DELAY = 0.5
BUSY_TRIES = 10


# Nobody waits for these tasks' results: with ignore_result, queueing one never touches the
# result backend, so a webhook publishing while Redis is down gives up within a second (the
# stored delivery waits for the sweep) instead of retrying the backend for 20 seconds.
@celery_app.task(
    name="channels.process_inbound",
    bind=True,
    acks_late=True,
    max_retries=None,
    ignore_result=True,
)
def process_inbound_task(self: Task, delivery_id: int) -> int:
    """Run the bot on one stored delivery and send its replies; returns how many were queued."""
    retries = int(self.request.retries or 0)
    delay = RETRY_DELAYS[min(retries, len(RETRY_DELAYS) - 1)]
    try:
        processor = get_processor(get_runtime())
    except Exception as exc:  # the bot could not be loaded: try again later, lose nothing
        log.exception("delivery %s: the bot is not available", delivery_id)
        raise self.retry(countdown=delay) from exc
    try:
        queued = processor.process(delivery_id)
    except Exception as exc:
        log.exception("delivery %s: processing failed", delivery_id)
        processor.fail(delivery_id, f"{type(exc).__name__}: {exc}")
        if retries + 1 >= inbox.MAX_ATTEMPTS:
            return 0
        raise self.retry(countdown=delay) from exc
    processor.send(queued)
    return len(queued)


@celery_app.task(name="channels.process_inbound_batch", acks_late=True, ignore_result=True)
def process_inbound_batch_task(delivery_ids: list[int], waited: int = 0) -> int:
    """Several deliveries the relay announced together, answered in one transaction; a failing
    one is retried on its own. Deliveries whose resident another worker holds (it may have
    taken them along) are announced again shortly, instead of this worker waiting for it;
    after `BUSY_TRIES` such rounds a task that waits for the lock takes them."""
    try:
        processor = get_processor(get_runtime())
    except Exception:
        log.exception(
            "the bot is not available: %d deliveries retried on their own", len(delivery_ids)
        )
        for delivery_id in delivery_ids:
            process_inbound_task.apply_async((delivery_id,), countdown=RETRY_DELAYS[0])
        return 0
    result = processor.process_batch(delivery_ids)
    for delivery_id in result.failed:
        process_inbound_task.apply_async((delivery_id,), countdown=RETRY_DELAYS[0])
    if result.busy and waited + 1 < BUSY_TRIES:
        process_inbound_batch_task.apply_async((result.busy, waited + 1), countdown=BUSY_DELAY)
    else:
        for delivery_id in result.busy:
            process_inbound_task.delay(delivery_id)
    processor.send(result.queued)
    return len(result.queued)


def publish_batch(delivery_ids: list[int]) -> None:
    """What the relay calls: one task for the ids that arrived together."""
    process_inbound_batch_task.apply_async((delivery_ids,))


@celery_app.task(name="channels.requeue_inbound")
def requeue_inbound_task() -> int:
    """Queue again every delivery that has waited too long (run by beat)."""
    runtime = get_runtime()
    with unit_of_work(runtime.sessions) as session:
        older_than = timedelta(seconds=runtime.settings.inbox_requeue_seconds)
        ids = inbox.stale_ids(session, utcnow(), older_than=older_than)
    for delivery_id in ids:
        process_inbound_task.delay(delivery_id)
    if ids:
        log.warning("re-queued %d waiting deliveries", len(ids))
    return len(ids)


def requeue_all_pending() -> int:
    """A worker starting up queues whatever was left unanswered (a crash, a broker outage)."""
    runtime = get_runtime()
    with unit_of_work(runtime.sessions) as session:
        ids = inbox.pending_ids(session)
    for delivery_id in ids:
        process_inbound_task.delay(delivery_id)
    if ids:
        log.warning("worker start: re-queued %d unanswered deliveries", len(ids))
    return len(ids)


@worker_ready.connect(weak=False)
def _on_worker_ready(**_: Any) -> None:
    try:
        requeue_all_pending()
    except Exception:
        log.exception("could not re-queue unanswered deliveries at start-up")
