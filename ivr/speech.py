"""What the call flows understand of a caller's voice: menu answers against a phrase list, free
speech transcribed, and the bot's NLU on the transcript.

Speech degrades honestly: with no Vosk model (VOSK_MODEL_PATH unset or empty) the menus are
keypad-only and the log says so; a recording that cannot be read is "not understood", never a
crashed call. Models are loaded once per process (`asr.model.load_model` caches them).
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

from asr.audio import AudioFormatError
from asr.model import LoadedModel, ModelLayoutError, ModelNotInstalled, load_model
from asr.recognizer import Final, StreamingRecognizer, transcribe_file
from bot.flows import location_from_entities
from bot.nlu.engine import NluBackend
from bot.runtime import make_nlu
from intake.config import Settings

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Heard:
    """A transcribed recording."""

    text: str
    confidence: float
    audio_s: float
    engine: str


@dataclass(frozen=True)
class Understanding:
    """The bot's reading of a transcript."""

    intent: str | None
    confidence: float
    category: str | None = None
    category_confidence: float = 0.0
    location_text: str | None = None
    ward_name: str | None = None
    entities: list[dict[str, Any]] = field(default_factory=list)


class Speech:
    """The speech side of one call. `available` is False when there is no usable model."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.model: LoadedModel | None = None
        self.unavailable_reason: str | None = None
        try:
            if not settings.vosk_model_path:
                raise ModelNotInstalled("")
            self.model = load_model(settings.vosk_model_path)
        except (ModelNotInstalled, ModelLayoutError) as exc:
            self.unavailable_reason = str(exc)

    @property
    def available(self) -> bool:
        return self.model is not None

    def phrase(self, recording: str, phrases: Sequence[str]) -> str | None:
        """Which of `phrases` the caller said in `recording` (a short menu answer), if any."""
        if self.model is None:
            return None
        try:
            transcript = transcribe_file(
                recording,
                self.model.model,
                self.model.info.sample_rate,
                phrases=list(phrases),
                supports_grammar=self.model.info.supports_grammar,
            )
        except (OSError, AudioFormatError) as exc:
            log.warning("menu answer not readable: %s", exc)
            return None
        return transcript.phrase

    def listen(
        self, audio: Iterable[bytes], phrases: Sequence[str], *, max_seconds: float
    ) -> str | None:
        """Which of `phrases` the caller says live (EAGI: 8 kHz linear audio as it arrives),
        stopping at the end of the utterance or after `max_seconds` of audio."""
        if self.model is None:
            return None
        recognizer = StreamingRecognizer(
            self.model.model,
            self.model.info.sample_rate,
            input_rate=8000,
            input_format="slin16",
            phrases=list(phrases),
            supports_grammar=self.model.info.supports_grammar,
            max_utterance_s=max_seconds,
        )
        for chunk in audio:
            for event in recognizer.feed_all(chunk):
                if isinstance(event, Final) and (event.text or event.reason == "max_length"):
                    return event.phrase
        return recognizer.finish().phrase

    def transcribe(self, recording: str) -> Heard | None:
        """Free speech (a complaint) as text; None with no model or an unreadable file."""
        if self.model is None:
            return None
        try:
            transcript = transcribe_file(
                recording,
                self.model.model,
                self.model.info.sample_rate,
                supports_grammar=self.model.info.supports_grammar,
            )
        except (OSError, AudioFormatError) as exc:
            log.warning("recording not readable: %s", exc)
            return None
        return Heard(
            text=transcript.text,
            confidence=transcript.confidence,
            audio_s=transcript.audio_s,
            engine=f"vosk:{self.model.info.name}",
        )


def preload(settings: Settings) -> None:
    """Load the NLU model and the speech model in the FastAGI server before it forks, so every
    call process shares them instead of loading its own (over a second per call otherwise)."""
    if settings.bot_backend != "rasa":
        try:
            _nlu(settings).parse("xin chào")
        except Exception:
            log.exception("could not load the NLU model before serving calls")
    Speech(settings)


def understand(settings: Settings, text: str) -> Understanding | None:
    """Intent, category and place of a transcript by the configured bot backend; None when the
    NLU is unavailable (a Rasa server down): the caller is then asked by keypad."""
    if not text.strip():
        return None
    try:
        result = _nlu(settings).parse(text)
    except Exception:
        log.exception("NLU failed on a call transcript; asking by keypad")
        return None
    intent = result.get("intent") or {}
    entities = list(result.get("entities") or [])
    location_text, ward_name = location_from_entities(entities)
    return Understanding(
        intent=intent.get("name"),
        confidence=float(intent.get("confidence") or 0.0),
        category=result.get("category"),
        category_confidence=float(result.get("category_confidence") or 0.0),
        location_text=location_text,
        ward_name=ward_name,
        entities=entities,
    )


_nlu_cache: dict[tuple[str, str, str, float, str], NluBackend] = {}
_nlu_lock = threading.Lock()


def _nlu(settings: Settings) -> NluBackend:
    """One NLU per configuration per process (loading the embedded model reads files)."""
    key = (
        settings.bot_backend,
        str(settings.var_dir),
        settings.rasa_url,
        settings.nlu_fallback_threshold,
        settings.case_code_prefix,
    )
    with _nlu_lock:
        nlu = _nlu_cache.get(key)
        if nlu is None:
            nlu = _nlu_cache[key] = make_nlu(settings)
        return nlu
