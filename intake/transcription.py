"""Transcribing the recordings on cases (voicemails, recorded complaints) with Vosk.

The work runs as Celery tasks on their own queue, `asr`, so speech workers can run on other
machines (`celery -A intake.worker worker -Q asr`). A recording is a file the IVR wrote
(Asterisk's `RECORD FILE`, on storage the speech workers share) or the address of a Twilio
recording, fetched with the account's credentials. The transcript and its confidence go onto the
case and its timeline; with no model installed the timeline says so once and agents listen to
the audio instead.
"""

from __future__ import annotations

import logging
import tempfile
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

import requests
from sqlalchemy.orm import Session

from asr.audio import AudioFormatError
from asr.model import LoadedModel, ModelLayoutError, ModelNotInstalled, load_model
from asr.recognizer import Transcript, transcribe_file
from intake.clock import utcnow
from intake.config import Settings
from intake.db import unit_of_work
from intake.models import Case
from intake.pii import masked
from intake.runtime import Runtime
from intake.services.cases import SYSTEM, attach_transcript, note_transcription_unavailable

log = logging.getLogger(__name__)

FETCH_TIMEOUT = 30.0
MAX_RECORDING_BYTES = 50 * 1024 * 1024  # about 50 minutes of 8 kHz μ-law


class RecordingUnavailable(Exception):
    """The recording cannot be read, now or ever (gone, not audio): retrying will not help."""


@dataclass(frozen=True)
class Outcome:
    case_id: int
    status: str  # "transcribed" | "already" | "unavailable" | "missing"
    confidence: float | None = None


def speech_model(settings: Settings) -> LoadedModel:
    """This process's shared model, from VOSK_MODEL_PATH (ModelNotInstalled when unset)."""
    if not settings.vosk_model_path:
        raise ModelNotInstalled("")
    return load_model(settings.vosk_model_path)


def fetch_recording(settings: Settings, location: str, workdir: Path) -> Path:
    """A local file holding the recording at `location`.

    Twilio recordings are fetched as WAV (`<RecordingUrl>.wav`) with the account's credentials,
    which are sent to Twilio's API address only. Other locations are files; Asterisk's
    `RECORD FILE` leaves the extension off the name it was given, so `.wav` is tried too."""
    if location.startswith(("http://", "https://")):
        return _download(settings, location, workdir)
    path = Path(location)
    for candidate in (path, path.with_name(path.name + ".wav")):
        if candidate.is_file():
            return candidate
    raise RecordingUnavailable(f"no recording file at {location}")


def _download(settings: Settings, url: str, workdir: Path) -> Path:
    auth = None
    twilio_base = settings.twilio_api_base_url.rstrip("/") + "/"
    if url.startswith(twilio_base):
        if not url.endswith((".wav", ".mp3")):
            url += ".wav"
        if settings.twilio_account_sid and settings.twilio_auth_token:
            auth = (settings.twilio_account_sid, settings.twilio_auth_token)
    with requests.get(url, auth=auth, timeout=FETCH_TIMEOUT, stream=True) as response:
        if response.status_code in (401, 403, 404, 410):
            raise RecordingUnavailable(f"recording refused: HTTP {response.status_code}")
        response.raise_for_status()  # 5xx and 429: a transient error, retried
        target = workdir / "recording.wav"
        received = 0
        with target.open("wb") as out:
            for chunk in response.iter_content(1 << 16):
                received += len(chunk)
                if received > MAX_RECORDING_BYTES:
                    raise RecordingUnavailable("recording larger than 50 MB")
                out.write(chunk)
    return target


def transcribe_case(runtime: Runtime, case_id: int, *, now: datetime | None = None) -> Outcome:
    """Transcribe one case's recording and store the result (idempotent: a case that already
    has a transcript is left alone). Network errors propagate so the task retries."""
    with unit_of_work(runtime.sessions) as session:
        case = session.get(Case, case_id)
        if case is None or not case.recording_path:
            return Outcome(case_id, "missing")
        if case.transcript is not None:
            return Outcome(case_id, "already", case.transcript_confidence)
        location = case.recording_path
    try:
        model = speech_model(runtime.settings)
        with tempfile.TemporaryDirectory(prefix="hotline-asr-") as tmp:
            recording = fetch_recording(runtime.settings, location, Path(tmp))
            transcript = _recognise(model, recording)
    except (ModelNotInstalled, ModelLayoutError) as exc:
        return _unavailable(runtime, case_id, f"no speech model: {exc}", now)
    except (RecordingUnavailable, AudioFormatError) as exc:
        return _unavailable(runtime, case_id, str(exc), now)
    with unit_of_work(runtime.sessions) as session:
        case = _locked_case(session, case_id)
        if case is None:
            return Outcome(case_id, "missing")
        if case.transcript is not None:
            return Outcome(case_id, "already", case.transcript_confidence)
        attach_transcript(
            case,
            transcript.text,
            transcript.confidence,
            now=now or utcnow(),
            actor=SYSTEM,
            audio_s=transcript.audio_s,
            engine=f"vosk:{model.info.name}",
        )
    log.info(
        "case %s transcribed: %.1f s of audio in %.2f CPU s, confidence %.2f",
        case_id,
        transcript.audio_s,
        transcript.cpu_s,
        transcript.confidence,
    )
    return Outcome(case_id, "transcribed", transcript.confidence)


def _recognise(model: LoadedModel, recording: Path) -> Transcript:
    return transcribe_file(
        recording,
        model.model,
        model.info.sample_rate,
        supports_grammar=model.info.supports_grammar,
    )


def _locked_case(session: Session, case_id: int) -> Case | None:
    return session.get(Case, case_id, with_for_update=True)


def _unavailable(runtime: Runtime, case_id: int, reason: str, now: datetime | None) -> Outcome:
    log.warning("case %s: no transcript: %s", case_id, masked(reason))
    with unit_of_work(runtime.sessions) as session:
        case = _locked_case(session, case_id)
        if case is not None:
            note_transcription_unavailable(case, reason, now=now or utcnow(), actor=SYSTEM)
    return Outcome(case_id, "unavailable")


def describe(outcome: Outcome) -> dict[str, Any]:
    return {"case_id": outcome.case_id, "status": outcome.status, "confidence": outcome.confidence}
