"""Speech at scale: a voicemail's transcription runs on the `asr` queue, served by a speech
worker of its own (PostgreSQL, Redis, gunicorn and two real Celery workers)."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import pytest
import requests
from sqlalchemy import Engine, select
from sqlalchemy.orm import Session

from intake.models import Case
from intake.seed import seed_demo
from tests import fakes
from tests.conftest import NOW
from tests.fixtures.speech import say
from tests.integration.conftest import start_worker, stop_process

pytestmark = pytest.mark.integration


def test_voicemail_is_transcribed_by_a_speech_worker_on_its_own_queue(
    clean_db: Engine,
    web_server: str,
    worker_env: dict[str, str],
    providers: fakes.FakeProviders,
    tiny_model_dir: Path,
    tmp_path: Path,
) -> None:
    with Session(clean_db) as session:
        seed_demo(session, NOW)
        session.commit()
    # The bot's worker has no speech model; only the speech worker does. A transcript on the
    # case therefore shows the task went to the `asr` queue and its own worker.
    bot_worker = start_worker(worker_env, tmp_path / "bot-worker.log", "-Q", "celery")
    speech_env = {**worker_env, "VOSK_MODEL_PATH": str(tiny_model_dir)}
    speech_worker = start_worker(speech_env, tmp_path / "asr-worker.log", "-Q", "asr")
    try:
        path = f"/2010-04-01/Accounts/{fakes.TWILIO_SID}/Recordings/RE9"
        providers.files[path + ".wav"] = say(
            "cột điện đổ ở kiệt năm Phan Đình Phùng", tmp_path / "vm.wav"
        ).read_bytes()
        form = {
            "CallSid": "CA9",
            "From": "+84914000999",
            "To": fakes.TWILIO_FROM,
            "RecordingUrl": providers.url + path,
            "RecordingDuration": "4",
        }
        url = f"{web_server}/webhooks/twilio/voice/recorded"
        response = requests.post(
            url, data=form, headers={"X-Twilio-Signature": fakes.twilio_signature(url, form)}
        )
        assert response.status_code == 200 and "<Hangup/>" in response.text

        case = _wait_for_transcript(clean_db)
        assert case.transcript and 0 < (case.transcript_confidence or 0) <= 1
        actions = [event.action for event in case.events]
        assert "transcribed" in actions and "transcription_unavailable" not in actions
        assert "asr.transcribe_case" in (tmp_path / "asr-worker.log").read_text()
        sms = providers.wait_for("sms", "+84914000999", 1)
        assert case.code in sms[0]
    finally:
        stop_process(bot_worker)
        stop_process(speech_worker)


def _wait_for_transcript(engine: Engine, timeout: float = 60) -> Any:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with Session(engine) as session:
            case = session.scalars(select(Case)).first()
            if case is not None and case.transcript is not None:
                case.events
                session.expunge_all()
                return case
        time.sleep(0.3)
    pytest.fail("the voicemail was not transcribed")
