"""Answering stored deliveries: the bot runs in a worker, never in the webhook.

One transaction per resident's batch: the bot's turn, its case or registration, the replies
queued in the outbox and the delivery marked done commit together or not at all. A worker killed
halfway leaves the delivery pending, and whichever worker takes it next answers it exactly once.
"""

from __future__ import annotations

import gc
import logging
import threading
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy.orm import Session

from bot.runtime import make_dialogue
from intake.channels.senders import configured_senders
from intake.clock import utcnow
from intake.db import unit_of_work
from intake.delivery import Sender, deliver_many
from intake.messages_vi import VOICEMAIL_DESCRIPTION
from intake.models import (
    CaseKind,
    Channel,
    InboundDelivery,
    OutboxStatus,
)
from intake.runtime import Runtime
from intake.services import inbox, outbox
from intake.services.cases import CITIZEN, NewCase, open_case
from intake.services.conversations import (
    hand_off,
    open_conversation,
    prefetch_open_conversations,
    record_inbound,
)

log = logging.getLogger(__name__)

_RECORDINGS = "recordings_to_transcribe"
# How many waiting deliveries beyond its own a batch takes along (see `process_many`).
TAKE_ALONG = 60


@dataclass
class BatchResult:
    """What answering a batch left to do."""

    queued: list[int] = field(default_factory=list)  # outbox ids to send now
    failed: list[int] = field(default_factory=list)  # deliveries to retry with back-off
    busy: list[int] = field(default_factory=list)  # deliveries whose resident another worker holds


class Processor:
    """The bot and the senders of one worker process, built once."""

    def __init__(
        self,
        runtime: Runtime,
        *,
        senders: Mapping[Channel, Sender] | None = None,
        clock: Callable[[], datetime] = utcnow,
    ) -> None:
        self.runtime = runtime
        self.dialogue = make_dialogue(runtime.settings)
        self.senders = (
            dict(senders) if senders is not None else configured_senders(runtime.settings)
        )
        self.clock = clock
        self.take_along = TAKE_ALONG

    def process(self, delivery_id: int) -> list[int]:
        """Answer this delivery (and any earlier one of the same resident still waiting).

        Returns the ids of the outbox messages it queued, for sending straight away."""
        with unit_of_work(self.runtime.sessions) as session:
            sender = inbox.claim_sender(session, delivery_id)
            if sender is None:
                return []
            channel, sender_id = sender
            now = self.clock()
            for delivery in inbox.pending_for_sender(session, channel, sender_id, delivery_id):
                self._answer(session, delivery, now)
            queued = _queued_in(session, now)
            recordings = [case.id for case in session.info.get(_RECORDINGS, ())]
        for case_id in recordings:
            self.transcribe(case_id)
        return queued

    def process_batch(self, delivery_ids: list[int]) -> BatchResult:
        """Answer a batch (`process_many`). If the batch fails as a whole, nothing of it is
        written and each delivery is answered on its own, so only the one that fails again
        counts a failed attempt (`fail`)."""
        try:
            queued, busy = self.process_many(delivery_ids)
            return BatchResult(queued=queued, busy=busy)
        except Exception:
            log.warning(
                "a batch of %d deliveries failed; answering them one by one", len(delivery_ids)
            )
        result = BatchResult()
        for delivery_id in delivery_ids:
            try:
                result.queued.extend(self.process(delivery_id))
            except Exception as exc:
                log.exception("delivery %s: processing failed", delivery_id)
                self.fail(delivery_id, f"{type(exc).__name__}: {exc}")
                result.failed.append(delivery_id)
        return result

    def process_many(self, delivery_ids: list[int]) -> tuple[list[int], list[int]]:
        """Answer several residents' deliveries in one transaction (a batch the relay announced,
        with up to `take_along` other deliveries that are waiting: under load, whatever has
        piled up is answered in one go).

        Claiming the residents, reading their deliveries and their conversations take one
        query each for the whole batch, and their messages, replies and outbox rows are written
        together at the end, instead of a transaction per delivery. Returns the outbox ids
        queued, and the given delivery ids whose resident another worker holds (the task
        announces those again shortly; `process` would wait for that worker). If anything
        fails, nothing of the batch is written."""
        if not delivery_ids:
            return [], []
        with unit_of_work(self.runtime.sessions) as session:
            claim = inbox.claim_senders(session, delivery_ids, more=self.take_along)
            deliveries = inbox.pending_for_senders(session, claim.senders, claim.up_to_id)
            prefetch_open_conversations(
                session,
                [(d.channel, d.sender_id) for d in deliveries if d.channel != Channel.VOICE],
            )
            now = self.clock()
            for delivery in deliveries:
                self._answer(session, delivery, now)
            queued = _queued_in(session, now)
            recordings = [case.id for case in session.info.get(_RECORDINGS, ())]
        for case_id in recordings:
            self.transcribe(case_id)
        return queued, claim.busy

    def _answer(self, session: Session, delivery: InboundDelivery, now: datetime) -> None:
        if delivery.channel == Channel.VOICE:
            self._voicemail(session, delivery, now)
            return
        coordinates = None
        if delivery.latitude is not None and delivery.longitude is not None:
            coordinates = (delivery.latitude, delivery.longitude)
        turn = self.dialogue.handle(
            session,
            delivery.channel,
            delivery.sender_id,
            delivery.text,
            now,
            provider_message_id=delivery.provider_message_id,
            attachments=list(delivery.attachments or []),
            display_name=delivery.display_name,
            coordinates=coordinates,
            # The inbox stores a provider's message id once: this delivery is its first.
            known_new=True,
        )
        # Web chat replies are already in the conversation the widget reads.
        if delivery.channel != Channel.WEB and not turn.duplicate:
            for index, reply in enumerate(turn.replies):
                # A delivery is answered once (under its lock), so its reply keys are new.
                message = outbox.new_message(
                    key=f"reply:{delivery.id}:{index}",
                    channel=delivery.channel,
                    recipient=delivery.sender_id,
                    body=reply,
                    now=now,
                    conversation_id=turn.conversation_id,
                )
                session.add(message)
        inbox.mark_done(delivery, now, turn.conversation_id)

    def _voicemail(self, session: Session, delivery: InboundDelivery, now: datetime) -> None:
        """A voicemail left when the call could not reach the IVR becomes a case to transcribe."""
        conversation = open_conversation(session, Channel.VOICE, delivery.sender_id, now)
        record_inbound(
            session,
            conversation,
            "",
            now,
            provider_message_id=delivery.provider_message_id,
            raw=delivery.raw,
        )
        recording = delivery.attachments[0] if delivery.attachments else None
        case = open_case(
            session,
            NewCase(
                channel=Channel.VOICE,
                kind=CaseKind.COMPLAINT,
                description=VOICEMAIL_DESCRIPTION,
                recording_path=recording,
                reporter_contact_id=conversation.contact_id,
                conversation_id=conversation.id,
                intake_key=f"voice:{delivery.provider_message_id}",
            ),
            now=now,
            actor=CITIZEN,
            settings=self.runtime.case_settings,
        )
        if case.recording_path:
            session.info.setdefault(_RECORDINGS, []).append(case)
        inbox.mark_done(delivery, now, conversation.id)

    def transcribe(self, case_id: int) -> None:
        """Queue the voicemail's transcription on the speech workers' queue. If the broker is
        down the speech sweep queues it later: the case is already stored."""
        from intake.tasks import transcribe_case_task

        try:
            transcribe_case_task.delay(case_id)
        except Exception:
            log.exception("case %s: could not queue its transcription; the sweep will", case_id)

    def fail(self, delivery_id: int, error: str) -> None:
        """Count a failed attempt; after the last one an agent gets the conversation."""
        now = self.clock()
        with unit_of_work(self.runtime.sessions) as session:
            last = inbox.record_failure(session, delivery_id, now, error)
            delivery = inbox.get(session, delivery_id)
        if not last or delivery is None:
            return
        log.error("delivery %s failed for good, handing it to an agent: %s", delivery_id, error)
        with unit_of_work(self.runtime.sessions) as session:
            conversation = open_conversation(session, delivery.channel, delivery.sender_id, now)
            record_inbound(
                session,
                conversation,
                delivery.text,
                now,
                provider_message_id=delivery.provider_message_id,
            )
            hand_off(session, conversation, now, "processing_failed")

    def send(self, outbox_ids: list[int]) -> None:
        """Send freshly queued replies now; whatever fails stays in the outbox for the sweep."""
        if not outbox_ids:
            return
        try:
            with unit_of_work(self.runtime.sessions) as session:
                deliver_many(session, outbox_ids, self.clock(), self.senders)
        except Exception:
            log.exception("outbox: sending %d failed, the sweep retries", len(outbox_ids))


def _queued_in(session: Session, now: datetime) -> list[int]:
    """The replies and notifications this transaction queued that are due now.

    The session remembers them as they are written (the dialogue, the case services and the
    replies above), so nothing needs to be read back."""
    session.flush()
    return sorted(
        item.id
        for item in outbox.queued_in(session)
        if item.status == OutboxStatus.PENDING and item.next_attempt_at <= now
    )


_lock = threading.Lock()
_processor: Processor | None = None


def get_processor(runtime: Runtime) -> Processor:
    global _processor
    with _lock:
        if _processor is None or _processor.runtime is not runtime:
            _processor = Processor(runtime)
            # The bot's model and the ORM's metadata live as long as the process: keep them out
            # of the garbage collector's full passes, which would otherwise walk them again and
            # again while the worker answers messages.
            gc.freeze()
        return _processor


def reset_processor() -> None:
    """Forget this process's processor (tests that switch runtimes)."""
    global _processor
    with _lock:
        _processor = None
