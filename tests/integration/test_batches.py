"""A worker answering a batch of deliveries in one transaction, on the real PostgreSQL server,
with replies sent through the twilio library to the local recording server."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import Engine, func, select, text

from intake.channels.processing import Processor
from intake.config import Settings
from intake.db import unit_of_work
from intake.models import (
    Channel,
    Contact,
    ContactIdentity,
    DeliveryStatus,
    InboundDelivery,
    Registration,
)
from intake.runtime import Runtime
from intake.seed import seed_demo
from intake.services import inbox
from intake.services.contacts import contact_for_identity
from tests.conftest import NOW
from tests.fakes import FakeProviders

pytestmark = pytest.mark.integration

ANNA, BINH, CUC = "+84930000001", "+84930000002", "+84930000003"
HOUSEHOLD_QUESTION = "Hộ gia đình bạn còn ai"
READ_BACK = "Tổng đài xin đọc lại"


def registration(name: str, serial: int) -> str:
    return (
        f"Đăng ký nhận hỗ trợ: {name}, CCCD 046050{serial:06d}, sinh ngày 01/01/1950, "
        f"SĐT 09300{serial:05d}, địa chỉ số {serial} Lê Lợi, phường Phú Hội"
    )


@pytest.fixture
def runtime(
    clean_db: Engine, pg_url: str, providers: FakeProviders, tmp_path: Path
) -> Iterator[Runtime]:
    settings = Settings(
        database_url=pg_url,
        var_dir=tmp_path / "var",
        public_base_url="http://127.0.0.1:9",
        **providers.settings(),  # type: ignore[arg-type]
    )
    runtime = Runtime.from_settings(settings)
    with unit_of_work(runtime.sessions) as session:
        seed_demo(session, NOW)
    yield runtime
    runtime.close()


@pytest.fixture
def processor(runtime: Runtime) -> Processor:
    return Processor(runtime, clock=lambda: NOW)


def deliver(runtime: Runtime, sender: str, body: str, message_id: str) -> int:
    with runtime.engine.connect() as conn:
        delivery_id = inbox.accept(
            conn,
            inbox.Inbound(
                channel=Channel.SMS, provider_message_id=message_id, sender_id=sender, text=body
            ),
            NOW,
        )
        conn.commit()
    assert delivery_id is not None
    return delivery_id


def statuses(runtime: Runtime) -> dict[int, tuple[DeliveryStatus, int]]:
    with unit_of_work(runtime.sessions) as session:
        rows = session.execute(
            select(InboundDelivery.id, InboundDelivery.status, InboundDelivery.attempts)
        )
        return {row[0]: (row[1], row[2]) for row in rows}


def test_one_batch_answers_every_resident_once_and_each_in_order(
    runtime: Runtime, processor: Processor, providers: FakeProviders
) -> None:
    ids = [
        deliver(runtime, ANNA, registration("Nguyễn Văn An", 1), "SM1"),
        deliver(runtime, BINH, registration("Trần Văn Bình", 2), "SM2"),
        deliver(runtime, ANNA, "không", "SM3"),  # Anna answers before hearing back
        deliver(runtime, CUC, "xin chào", "SM4"),
    ]

    queued, busy = processor.process_many(ids)
    processor.send(queued)

    assert busy == []
    anna = providers.to("sms", ANNA)
    assert len(anna) == 2
    assert HOUSEHOLD_QUESTION in anna[0] and READ_BACK in anna[1]
    assert "Nguyễn Văn An" in anna[1]
    assert [HOUSEHOLD_QUESTION in m for m in providers.to("sms", BINH)] == [True]
    assert len(providers.to("sms", CUC)) == 1
    assert statuses(runtime) == {i: (DeliveryStatus.DONE, 1) for i in ids}

    # The same batch announced again (a second relay, a redelivered task) changes nothing.
    assert processor.process_many(ids) == ([], [])
    assert len(providers.sent) == 4

    # Anna confirms in the next batch: registered, with the code in her last message.
    confirm = deliver(runtime, ANNA, "đúng", "SM5")
    queued, _ = processor.process_many([confirm])
    processor.send(queued)
    assert "Đã nhận hồ sơ đăng ký" in providers.to("sms", ANNA)[-1]
    with unit_of_work(runtime.sessions) as session:
        assert list(session.scalars(select(Registration.full_name))) == ["Nguyễn Văn An"]


def test_a_batch_takes_along_what_is_waiting_and_their_own_tasks_find_nothing_left(
    runtime: Runtime, processor: Processor, providers: FakeProviders
) -> None:
    ids = [deliver(runtime, f"+8493100000{n}", "xin chào", f"SM{n}") for n in range(5)]
    processor.take_along = 3

    queued, busy = processor.process_many([ids[4]])  # the relay announced the newest alone
    processor.send(queued)

    answered = {i for i, (status, _) in statuses(runtime).items() if status == DeliveryStatus.DONE}
    assert answered == {ids[0], ids[1], ids[2], ids[4]} and busy == []  # the 3 oldest came along
    processor.take_along = 0
    assert processor.process_many([ids[0]]) == ([], [])  # its own task: nothing left to do
    processor.send(processor.process_many([ids[3]])[0])
    assert sorted(len(providers.to("sms", f"+8493100000{n}")) for n in range(5)) == [1] * 5


def test_a_resident_another_worker_holds_is_left_to_wait_for_it(
    runtime: Runtime, processor: Processor, providers: FakeProviders
) -> None:
    anna = deliver(runtime, ANNA, "xin chào", "SM1")
    binh = deliver(runtime, BINH, "xin chào", "SM2")
    with unit_of_work(runtime.sessions) as other_worker:
        assert inbox.claim_sender(other_worker, binh) == (Channel.SMS, BINH)

        queued, busy = processor.process_many([anna, binh])
        processor.send(queued)

        assert busy == [binh]  # not waited for inside the batch: no deadlock between batches
        assert len(providers.to("sms", ANNA)) == 1 and providers.to("sms", BINH) == []
        assert statuses(runtime)[binh] == (DeliveryStatus.PENDING, 0)
    # The other worker let go without answering: the one-by-one path answers Binh once.
    processor.send(processor.process(binh))
    assert len(providers.to("sms", BINH)) == 1
    assert statuses(runtime)[binh] == (DeliveryStatus.DONE, 1)


def test_a_batch_that_breaks_writes_nothing_and_only_the_breaking_delivery_counts_a_failure(
    runtime: Runtime, processor: Processor, providers: FakeProviders
) -> None:
    # The database refuses one resident's message (as a full disk or a bad row would).
    with runtime.engine.begin() as conn:
        conn.execute(
            text(
                "CREATE FUNCTION refuse_boom() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN "
                "IF NEW.text = 'boom' THEN RAISE EXCEPTION 'refused'; END IF; RETURN NEW; END $$"
            )
        )
        conn.execute(
            text(
                "CREATE TRIGGER refuse_boom BEFORE INSERT ON messages "
                "FOR EACH ROW EXECUTE FUNCTION refuse_boom()"
            )
        )
    try:
        ids = [
            deliver(runtime, ANNA, "xin chào", "SM1"),
            deliver(runtime, BINH, "boom", "SM2"),
            deliver(runtime, CUC, "xin chào", "SM3"),
        ]
        with pytest.raises(Exception, match="refused"):
            processor.process_many(ids)
        assert all(status == (DeliveryStatus.PENDING, 0) for status in statuses(runtime).values())
        assert providers.sent == []

        result = processor.process_batch(ids)
        processor.send(result.queued)

        assert result.failed == [ids[1]] and result.busy == []
        assert len(providers.to("sms", ANNA)) == 1 and len(providers.to("sms", CUC)) == 1
        assert providers.to("sms", BINH) == []
        after = statuses(runtime)
        assert after[ids[0]] == after[ids[2]] == (DeliveryStatus.DONE, 1)
        assert after[ids[1]] == (DeliveryStatus.PENDING, 1)  # retried later, not lost

        # The next batch does not take the broken one along: it is not held up by it.
        later = deliver(runtime, CUC, "xin chào", "SM4")
        processor.send(processor.process_many([later])[0])
        assert len(providers.to("sms", CUC)) == 2
        assert statuses(runtime)[ids[1]] == (DeliveryStatus.PENDING, 1)
    finally:
        with runtime.engine.begin() as conn:
            conn.execute(text("DROP TRIGGER refuse_boom ON messages"))
            conn.execute(text("DROP FUNCTION refuse_boom()"))


def test_a_caller_who_texts_in_a_batch_stays_one_resident(
    runtime: Runtime, processor: Processor
) -> None:
    with unit_of_work(runtime.sessions) as session:
        caller = contact_for_identity(session, Channel.VOICE, ANNA, NOW)
        caller_id = caller.id
    ids = [deliver(runtime, ANNA, "xin chào", "SM1"), deliver(runtime, BINH, "xin chào", "SM2")]

    processor.process_many(ids)

    with unit_of_work(runtime.sessions) as session:
        owners = dict(
            session.execute(
                select(ContactIdentity.external_id, ContactIdentity.contact_id).where(
                    ContactIdentity.channel == Channel.SMS
                )
            ).all()
        )
        assert owners[ANNA] == caller_id and owners[BINH] != caller_id
        assert session.scalar(select(func.count()).select_from(Contact)) == 2
