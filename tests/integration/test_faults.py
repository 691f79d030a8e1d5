"""The fault suite: floods of the same delivery, PostgreSQL cut off, Redis restarted. In every
case no report is lost, none is doubled, and the system recovers on its own (PostgreSQL, Redis,
gunicorn and real Celery workers)."""

from __future__ import annotations

import threading
import time
from pathlib import Path
from typing import Any

import pytest
import requests
from sqlalchemy import Engine, func, select
from sqlalchemy.engine import make_url
from sqlalchemy.orm import Session

from intake.models import InboundDelivery, Message
from intake.seed import seed_demo
from tests import fakes
from tests.conftest import NOW
from tests.integration.conftest import start_web, start_worker, stop_process
from tests.integration.faults import PrivateRedis, TcpProxy
from tests.integration.residents import Resident

pytestmark = pytest.mark.integration


def seed(engine: Engine) -> None:
    with Session(engine) as session:
        seed_demo(session, NOW)
        session.commit()


def deliveries(engine: Engine, provider_id: str | None = None) -> int:
    stmt = select(func.count()).select_from(InboundDelivery)
    if provider_id is not None:
        stmt = stmt.where(InboundDelivery.provider_message_id == provider_id)
    with Session(engine) as session:
        return int(session.scalar(stmt) or 0)


def test_the_same_delivery_sent_50_times_at_once_is_answered_once(
    clean_db: Engine, web_server: str, celery_worker: Any, providers: fakes.FakeProviders
) -> None:
    seed(clean_db)
    resident = Resident("sms", web_server, providers)
    sid = "SM" + "7" * 32
    form = fakes.twilio_sms_form(resident.address, "xin chào", sid)
    url = f"{web_server}/webhooks/twilio/sms"
    headers = {"X-Twilio-Signature": fakes.twilio_signature(url, form)}
    start = threading.Barrier(50)
    statuses: list[int] = []

    def deliver() -> None:
        start.wait()
        statuses.append(requests.post(url, data=form, headers=headers, timeout=30).status_code)

    threads = [threading.Thread(target=deliver) for _ in range(50)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert statuses == [200] * 50, "every copy is acknowledged"
    assert len(resident.wait_replies(1)) == 1
    time.sleep(2)  # any second answer would have come by now
    assert len(resident.replies()) == 1, "answered once"
    assert deliveries(clean_db, sid) == 1
    with Session(clean_db) as session:
        stored = select(func.count()).where(Message.provider_message_id == sid)
        assert session.scalar(stored) == 1


def test_postgresql_cut_off_webhooks_answer_503_and_recover(
    clean_db: Engine,
    pg_url: str,
    worker_env: dict[str, str],
    web_port: int,
    providers: fakes.FakeProviders,
    tmp_path: Path,
) -> None:
    """While the database is unreachable the webhook answers 503 with Retry-After (the provider
    retries later) and writes nothing; once it is back, the retried deliveries are stored and
    answered once each."""
    seed(clean_db)
    url = make_url(pg_url)
    proxy = TcpProxy(url.host or "127.0.0.1", url.port or 5432)
    proxied = url.set(host="127.0.0.1", port=proxy.port).render_as_string(False)
    web = start_web({**worker_env, "DATABASE_URL": proxied}, web_port, tmp_path / "web.log")
    worker = start_worker(worker_env, tmp_path / "worker.log")
    site = f"http://127.0.0.1:{web_port}"
    residents = [Resident("sms", site, providers) for _ in range(3)]
    try:
        for resident in residents:
            assert resident.post("xin chào").status_code == 200
        before = deliveries(clean_db)
        proxy.cut()
        refused = []
        for resident in residents:
            response = resident.post("tôi muốn phản ánh rác thải")
            assert response.status_code == 503, response.text
            assert response.headers.get("Retry-After") and response.json()["error"]
            refused.append(resident.last_id)
        assert deliveries(clean_db) == before, "nothing written while the database was away"
        proxy.restore()
        for resident, message_id in zip(residents, refused, strict=True):
            # The provider retries the same message (same id) after Retry-After.
            assert resident.post("tôi muốn phản ánh rác thải", message_id).status_code == 200
        for resident in residents:
            assert len(resident.wait_replies(2)) == 2
        time.sleep(1)
        assert [len(r.replies()) for r in residents] == [2, 2, 2]
        assert deliveries(clean_db) == before + 3
    finally:
        proxy.close()
        stop_process(worker)
        stop_process(web)


def test_redis_restarted_while_webhooks_arrive_loses_nothing(
    clean_db: Engine,
    worker_env: dict[str, str],
    web_port: int,
    providers: fakes.FakeProviders,
    tmp_path: Path,
) -> None:
    """Redis dies (and with it every queued task: it keeps nothing on disk here) while residents
    write. The webhooks still store and acknowledge; when Redis is back, beat's inbox sweep
    queues what was stored meanwhile and every message is answered exactly once."""
    seed(clean_db)
    redis = PrivateRedis(tmp_path)
    redis.start()
    env = {
        **worker_env,
        "CELERY_BROKER_URL": redis.url,
        "CELERY_RESULT_BACKEND": redis.url,
        "INBOX_REQUEUE_SECONDS": "4",
    }
    web = start_web(env, web_port, tmp_path / "web.log")
    worker = start_worker(env, tmp_path / "worker.log", "--beat", "-s", str(tmp_path / "beat"))
    site = f"http://127.0.0.1:{web_port}"
    residents = [Resident(channel, site, providers) for channel in ("sms", "zalo", "telegram")]
    try:
        for resident in residents:
            assert len(resident.say("xin chào")) == 1
        redis.kill()
        for resident in residents:
            started = time.monotonic()
            assert resident.post("tôi muốn phản ánh đường hư").status_code == 200
            assert time.monotonic() - started < 5, "acknowledged promptly without the broker"
        time.sleep(1)
        redis.start()
        for resident in residents:
            assert len(resident.wait_replies(2, timeout=90)) == 2
        time.sleep(6)  # past another sweep: nothing is answered twice
        assert [len(r.replies()) for r in residents] == [2, 2, 2]
    finally:
        stop_process(worker)
        stop_process(web)
        redis.kill()
