"""A voicemail left through Twilio is transcribed: the recording is fetched from Twilio with the
account's credentials, recognised by the real Vosk runtime (the synthetic model), and the
transcript and its confidence land on the case and its timeline."""

from __future__ import annotations

import base64
import dataclasses
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select

from asr.model import reset_cache
from intake.clock import utcnow
from intake.models import Case, CaseEvent, Channel
from intake.services.cases import CITIZEN, NewCase, open_case, untranscribed_ids
from intake.transcription import transcribe_case
from tests import fakes
from tests.fixtures.speech import say

PUBLIC = "https://hotline.example.vn"
CALLER = "+84914000222"


@pytest.fixture(autouse=True)
def _fresh_models() -> Any:
    reset_cache()
    yield
    reset_cache()


def with_model(runtime: Any, model: Path | None, monkeypatch: pytest.MonkeyPatch) -> None:
    settings = dataclasses.replace(runtime.settings, vosk_model_path=str(model or ""))
    monkeypatch.setattr(runtime, "settings", settings)


def leave_voicemail(client: Any, recording_url: str, call_sid: str = "CA77") -> None:
    form = {"CallSid": call_sid, "From": CALLER, "To": fakes.TWILIO_FROM, "CallStatus": "ringing"}
    recorded = {**form, "RecordingUrl": recording_url, "RecordingDuration": "4"}
    url = f"{PUBLIC}/webhooks/twilio/voice/recorded"
    response = client.post(
        url[len(PUBLIC) :],
        data=recorded,
        headers={"X-Twilio-Signature": fakes.twilio_signature(url, recorded)},
    )
    assert response.status_code == 200


def the_case(runtime: Any) -> tuple[Case, list[CaseEvent]]:
    with runtime.sessions() as session:
        case = session.scalars(select(Case)).one()
        events = list(case.events)
        session.expunge_all()
    return case, events


def test_voicemail_gets_a_transcript_from_the_twilio_recording(
    client, runtime, providers, tiny_model_dir, tmp_path, monkeypatch
):
    with_model(runtime, tiny_model_dir, monkeypatch)
    audio = say("đường Lê Lợi có rác thải chưa thu gom", tmp_path / "vm.wav").read_bytes()
    path = f"/2010-04-01/Accounts/{fakes.TWILIO_SID}/Recordings/RE77"
    providers.files[path + ".wav"] = audio
    leave_voicemail(client, providers.url + path)

    case, events = the_case(runtime)
    assert case.transcript, "the synthetic model hears speech as some of its words"
    assert 0 < (case.transcript_confidence or 0) <= 1
    transcribed = [e for e in events if e.action == "transcribed"]
    assert len(transcribed) == 1 and not transcribed[0].public
    assert transcribed[0].data["audio_s"] > 1 and transcribed[0].data["engine"].startswith("vosk:")
    # Fetched as WAV, with the account's credentials (Twilio's recordings need them).
    fetched_path, headers = providers.fetched[-1]
    assert fetched_path == path + ".wav"
    token = base64.b64encode(f"{fakes.TWILIO_SID}:{fakes.TWILIO_TOKEN}".encode()).decode()
    assert headers["Authorization"] == f"Basic {token}"
    # The caller still got the case code by SMS.
    assert any(case.code in text for text in providers.to("sms", CALLER))
    # Running the task again changes nothing.
    assert transcribe_case(runtime, case.id).status == "already"
    assert [e.action for e in the_case(runtime)[1]] == [e.action for e in events]


def test_without_a_model_the_timeline_says_so_once(client, runtime, providers, monkeypatch):
    with_model(runtime, None, monkeypatch)
    leave_voicemail(client, providers.url + "/Recordings/RE1")
    case, events = the_case(runtime)
    assert case.transcript is None
    unavailable = [e for e in events if e.action == "transcription_unavailable"]
    assert len(unavailable) == 1 and "VOSK_MODEL_PATH" in unavailable[0].data["reason"]
    assert transcribe_case(runtime, case.id).status == "unavailable"
    assert len([e for e in the_case(runtime)[1] if e.action == "transcription_unavailable"]) == 1
    assert providers.fetched == [], "nothing is downloaded when nothing can transcribe it"
    # The sweep does not keep queueing a recording that cannot be transcribed.
    with runtime.sessions() as session:
        assert untranscribed_ids(session, utcnow() + timedelta(minutes=5)) == []


def test_a_recording_twilio_no_longer_has_is_noted_not_retried(
    client, runtime, providers, tiny_model_dir, monkeypatch
):
    with_model(runtime, tiny_model_dir, monkeypatch)
    leave_voicemail(client, providers.url + "/Recordings/GONE")
    case, events = the_case(runtime)
    assert case.transcript is None
    reasons = [e.data["reason"] for e in events if e.action == "transcription_unavailable"]
    assert reasons == ["recording refused: HTTP 404"]


def test_a_recording_file_written_by_the_ivr_is_found_without_its_extension(
    runtime, tiny_model_dir, tmp_path, monkeypatch
):
    with_model(runtime, tiny_model_dir, monkeypatch)
    say("hai ba bốn", tmp_path / "complaint-1.wav", encoding="slin16")
    # Asterisk's RECORD FILE is given a name without the format's extension.
    with runtime.sessions() as s:
        case = open_case(
            s,
            NewCase(
                channel=Channel.VOICE,
                description="Khiếu nại qua tổng đài",
                recording_path=str(tmp_path / "complaint-1"),
            ),
            now=utcnow(),
            actor=CITIZEN,
        )
        s.commit()
        case_id = case.id
    outcome = transcribe_case(runtime, case_id)
    assert outcome.status == "transcribed" and outcome.confidence is not None
    with runtime.sessions() as s:
        assert s.get(Case, case_id).transcript


def test_the_sweep_finds_recordings_left_without_a_transcript(runtime, tmp_path):
    with runtime.sessions() as s:
        old = open_case(
            s,
            NewCase(channel=Channel.VOICE, description="a", recording_path=str(tmp_path / "a")),
            now=utcnow() - timedelta(minutes=10),
            actor=CITIZEN,
        )
        fresh = open_case(
            s,
            NewCase(channel=Channel.VOICE, description="b", recording_path=str(tmp_path / "b")),
            now=utcnow(),
            actor=CITIZEN,
        )
        typed = open_case(
            s, NewCase(channel=Channel.SMS, description="c"), now=utcnow(), actor=CITIZEN
        )
        s.commit()
        ids = (old.id, fresh.id, typed.id)
    with runtime.sessions() as s:
        assert untranscribed_ids(s, utcnow()) == [ids[0]]
