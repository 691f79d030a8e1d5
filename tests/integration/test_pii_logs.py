"""Personal data never reaches a log: a whole support registration by SMS (phone, CCCD, name,
date of birth, address) through gunicorn and a real worker, then every log line is searched."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine
from sqlalchemy.orm import Session

from intake.seed import seed_demo
from tests import fakes
from tests.conftest import NOW
from tests.integration.conftest import start_web, start_worker, stop_process
from tests.integration.residents import Resident

pytestmark = pytest.mark.integration

CCCD = "046085012345"


def test_a_full_registration_leaves_no_personal_data_in_any_log(
    clean_db: Engine,
    worker_env: dict[str, str],
    web_port: int,
    providers: fakes.FakeProviders,
    tmp_path: Path,
) -> None:
    with Session(clean_db) as session:
        seed_demo(session, NOW)
        session.commit()
    env = worker_env
    logs = [tmp_path / "web.log", tmp_path / "worker.log"]
    web = start_web(env, web_port, logs[0])
    worker = start_worker(env, logs[1])
    resident = Resident("sms", f"http://127.0.0.1:{web_port}", providers)
    local = "0" + resident.address[3:]
    try:
        replies: list[Any] = resident.say(
            f"Đăng ký nhận hỗ trợ: Nguyễn Thị Mỹ Lệ, CCCD {CCCD}, sinh ngày 12/03/1985, "
            f"SĐT {local}, địa chỉ số 27 kiệt 4 Hàn Thuyên, phường Phú Hội"
        )
        for answer in ("không", "đúng"):
            replies = resident.say(answer)
        assert any("Đã nhận hồ sơ đăng ký" in text for text in replies), replies
    finally:
        stop_process(worker)
        stop_process(web)
    text = "\n".join(log.read_text(errors="replace") for log in logs)
    assert "outbox" in text, "the logs were written (the test would prove nothing otherwise)"
    for secret in (resident.address, resident.address[1:], local, CCCD, "Mỹ Lệ", "Hàn Thuyên"):
        assert secret not in text, f"{secret!r} appears in the logs"
