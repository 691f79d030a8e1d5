"""Every channel against the real stack: gunicorn serving the webhooks, PostgreSQL, Redis and a
real Celery worker running the bot, with the providers' APIs played by a local server."""

from __future__ import annotations

import re
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from typing import Any

import pytest
import requests
from sqlalchemy import Engine, create_engine, func, select, text
from sqlalchemy.orm import Session

from intake.models import Case, DeliveryStatus, InboundDelivery, Message
from intake.seed import seed_demo
from tests import fakes
from tests.conftest import NOW
from tests.integration.conftest import start_web, start_worker, stop_process
from tests.integration.residents import Resident

pytestmark = pytest.mark.integration

CODE = re.compile(r"HUE-\d{6}-\d{4}")
COMPLAINT = "Rác thải đổ trộm đầy đầu kiệt 15 Nguyễn Trãi phường Tây Lộc mấy hôm nay bốc mùi"


@pytest.fixture
def stack(clean_db: Engine, web_server: str, celery_worker: Any) -> tuple[str, Engine]:
    with Session(clean_db) as session:
        seed_demo(session, NOW)
        session.commit()
    return web_server, clean_db


def count_rows(engine: Engine, model: Any) -> int:
    with Session(engine) as session:
        return int(session.scalar(select(func.count()).select_from(model)) or 0)


CHANNELS = ["sms", "zalo", "messenger", "telegram", "web"]


@pytest.mark.parametrize("channel", CHANNELS)
def test_complaint_conversation_on_each_channel(stack, providers, channel):
    url, engine = stack
    resident = Resident(channel, url, providers)
    answer = resident.say(COMPLAINT)
    assert answer and all(CODE.search(a) is None for a in answer)
    for _ in range(3):  # the bot may still ask for a photo, then for confirmation
        if "ảnh" in answer[-1] and "đúng" not in answer[-1]:
            answer = resident.say("không có ảnh")
        elif "đúng" in answer[-1]:
            answer = resident.say("đúng")
        if any(CODE.search(a) for a in answer):
            break
    codes = CODE.findall(" ".join(answer))
    assert codes, f"no case code reached the resident: {resident.replies()}"
    with Session(engine) as session:
        case = session.scalar(select(Case).where(Case.code == codes[0]))
        assert case is not None and case.channel.value == channel
        assert case.category.code == "environment"

    # The provider delivers the last message again: acknowledged, nothing else happens.
    replies_before = resident.replies()
    deliveries = count_rows(engine, InboundDelivery)
    again = resident.post("đúng", message_id=resident.last_id)
    assert again.status_code in (200, 202)
    time.sleep(1.5)
    assert resident.replies() == replies_before
    assert count_rows(engine, InboundDelivery) == deliveries
    assert count_rows(engine, Case) == 1


@pytest.mark.parametrize("channel", ["sms", "zalo", "messenger", "telegram"])
def test_bad_signature_changes_nothing(stack, providers, channel):
    url, engine = stack
    resident = Resident(channel, url, providers)
    response = resident.post("xin chào", sign=False)
    assert response.status_code == 403
    time.sleep(0.5)
    assert count_rows(engine, InboundDelivery) == 0 and count_rows(engine, Message) == 0
    assert providers.sent == []


def test_duplicate_telegram_update_is_answered_once(stack, providers):
    url, engine = stack
    resident = Resident("telegram", url, providers)
    update = fakes.telegram_update(int(resident.address), "xin chào", 777001)
    headers = {"X-Telegram-Bot-Api-Secret-Token": fakes.TELEGRAM_SECRET}
    for _ in range(3):
        assert requests.post(f"{url}/webhooks/telegram", json=update, headers=headers).ok
    replies = resident.wait_replies(1)
    time.sleep(1.5)
    assert resident.replies() == replies
    assert count_rows(engine, InboundDelivery) == 1


def test_worker_killed_mid_processing_loses_nothing(
    clean_db, web_server, worker_env, providers, tmp_path, pg_url
):
    """The worker is stopped dead while it holds the message inside its transaction: after a
    restart the message is answered, and the resident gets exactly one reply."""
    with Session(clean_db) as session:
        seed_demo(session, NOW)
        session.commit()
    log_path = tmp_path / "worker.log"
    worker = start_worker(worker_env, log_path)
    resident = Resident("sms", web_server, providers)
    # Hold the lock the worker takes for this resident (the same 64-bit hash of
    # "channel:sender" as intake.services.inbox), so it stops halfway through.
    blocker = create_engine(pg_url, isolation_level="AUTOCOMMIT")
    try:
        with blocker.connect() as lock_conn:
            lock_conn.execute(
                text("SELECT pg_advisory_lock(hashtextextended(:k, 0))"),
                {"k": f"sms:{resident.address}"},
            )
            assert resident.post("xin chào").status_code == 200
            _wait_for(lambda: _worker_waiting_on_lock(blocker), "the worker to reach the lock")
            worker.send_signal(signal.SIGKILL)
            worker.wait(timeout=10)
            lock_conn.execute(text("SELECT pg_advisory_unlock_all()"))
    finally:
        stop_process(worker)  # a no-op once it was killed; never leave it consuming the queue
    with Session(clean_db) as session:
        delivery = session.scalars(select(InboundDelivery)).one()
        assert delivery.status == DeliveryStatus.PENDING  # nothing half-written
        assert session.scalar(select(func.count()).select_from(Message)) == 0
    assert providers.sent == []
    restarted = start_worker(worker_env, log_path)
    try:
        replies = resident.wait_replies(1)
        time.sleep(2)
        assert resident.replies() == replies and len(replies) == 1
        with Session(clean_db) as session:
            delivery = session.scalars(select(InboundDelivery)).one()
            assert delivery.status == DeliveryStatus.DONE
            inbound = session.scalars(select(Message).where(Message.direction == "inbound"))
            assert len(inbound.all()) == 1
    finally:
        stop_process(restarted)
        blocker.dispose()


def _worker_waiting_on_lock(engine: Engine) -> bool:
    with engine.connect() as conn:
        waiting = conn.execute(
            text(
                "SELECT count(*) FROM pg_stat_activity WHERE wait_event_type = 'Lock' "
                "AND query LIKE '%pg_advisory_xact_lock%' AND datname = current_database()"
            )
        ).scalar()
    return bool(waiting)


def _wait_for(check: Callable[[], bool], what: str, timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while not check():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.1)


def test_relay_mode_webhooks_only_write_and_the_relay_queues(
    clean_db, worker_env, web_port, providers, tmp_path
):
    """With INBOX_RELAY=true the webhook never touches the broker: the relay hears the
    database's NOTIFY and queues the work; deliveries stored while it was down are caught up."""
    with Session(clean_db) as session:
        seed_demo(session, NOW)
        session.commit()
    env = {**worker_env, "INBOX_RELAY": "true"}
    web = start_web(env, web_port, tmp_path / "web.log")
    worker = start_worker(env, tmp_path / "worker.log")
    early = Resident("zalo", f"http://127.0.0.1:{web_port}", providers)
    relay = None
    try:
        assert early.post("xin chào").status_code == 200  # no relay yet: stored, waiting
        time.sleep(1)
        assert early.replies() == []
        with (tmp_path / "relay.log").open("wb") as relay_log:
            relay = subprocess.Popen(
                [sys.executable, "-m", "intake", "relay"],
                env=env,
                stdout=relay_log,
                stderr=subprocess.STDOUT,
            )
        assert len(early.wait_replies(1)) == 1  # caught up when the relay started
        later = Resident("telegram", f"http://127.0.0.1:{web_port}", providers)
        assert later.say("xin chào")  # and live from then on
    finally:
        for proc in (relay, worker, web):
            if proc is not None:
                stop_process(proc)


def test_webhook_survives_dropped_database_connections(stack, providers, pg_url):
    """PostgreSQL drops every connection (a restart, a failover): the next delivery is still
    stored and acknowledged, not refused."""
    url, _engine = stack
    resident = Resident("sms", url, providers)
    for _ in range(4):  # open pooled connections in both gunicorn workers
        assert resident.post("xin chào").status_code == 200
    killer = create_engine(pg_url, isolation_level="AUTOCOMMIT")
    with killer.connect() as conn:
        dropped = conn.execute(
            text(
                "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity "
                "WHERE datname = current_database() AND pid <> pg_backend_pid()"
            )
        ).scalar()
    killer.dispose()
    assert dropped
    responses = [resident.post("xin chào").status_code for _ in range(4)]
    assert responses == [200] * 4
    assert len(resident.wait_replies(8)) == 8
