"""Speech to text with Vosk: a streaming recognizer for live calls and a file transcriber.

Audio reaches Vosk in fixed 100 ms blocks at the recognizer's rate, whatever size the caller's
chunks are, so utterance boundaries and results do not depend on how the audio was chunked.

Phrase lists (menus, yes/no) become a runtime grammar when the model supports one (small models).
Large models have a static graph and ignore grammars, so there the recognizer decodes freely and
maps the text onto the closest phrase afterwards; `grammar_mode` says which of the two happened.
"""

from __future__ import annotations

import json
import time
import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

import vosk

from asr.audio import AudioFile, PcmConverter, SampleFormat

GrammarMode = Literal["grammar", "fallback", "free"]
FinalReason = Literal["endpoint", "max_length", "end_of_stream"]

BLOCK_S = 0.1  # audio handed to Vosk per AcceptWaveform call
UNKNOWN_WORD = "[unk]"
# Fallback matching accepts a phrase whose accent-folded spelling is this close to the text
# (edit distance / length of the longer string).
MAX_PHRASE_ERROR = 0.34


@dataclass(frozen=True)
class Word:
    word: str
    start: float  # seconds from the start of the stream
    end: float
    conf: float


@dataclass(frozen=True)
class Partial:
    """The decoder's current guess for the utterance in progress."""

    text: str


@dataclass(frozen=True)
class Final:
    """One finished utterance."""

    text: str
    confidence: float  # mean word confidence; 0.0 without words
    words: tuple[Word, ...]
    audio_s: float  # audio in this utterance
    reason: FinalReason
    phrase: str | None = None  # the caller's phrase this utterance matched, if phrases were given


Event = Partial | Final


# --- Phrase matching -----------------------------------------------------------------------


def _tokens(text: str) -> tuple[str, ...]:
    """Lower-case NFC words without punctuation and without Vosk's [unk]."""
    text = unicodedata.normalize("NFC", text).lower()
    cleaned = "".join(ch if ch.isalnum() or ch == "[" or ch == "]" else " " for ch in text)
    return tuple(word for word in cleaned.split() if word != UNKNOWN_WORD and word.strip("[]"))


def fold(text: str) -> str:
    """Lower case without tones or other diacritics: "Đúng rồi!" -> "dung roi"."""
    decomposed = unicodedata.normalize("NFD", " ".join(_tokens(text)).replace("đ", "d"))
    return "".join(ch for ch in decomposed if not unicodedata.combining(ch))


def _contains(words: tuple[str, ...], part: tuple[str, ...]) -> bool:
    return any(words[i : i + len(part)] == part for i in range(len(words) - len(part) + 1))


def _edit_distance(a: str, b: str) -> int:
    previous = list(range(len(b) + 1))
    for i, char_a in enumerate(a, 1):
        current = [i]
        for j, char_b in enumerate(b, 1):
            current.append(
                min(previous[j] + 1, current[j - 1] + 1, previous[j - 1] + (char_a != char_b))
            )
        previous = current
    return previous[-1]


def _unique(hits: list[tuple[str, tuple[str, ...]]]) -> str | None:
    """The one phrase among `hits`, ignoring hits that are part of a longer hit; else None."""
    longest = [
        (phrase, words)
        for phrase, words in hits
        if not any(other != words and _contains(other, words) for _, other in hits)
    ]
    return longest[0][0] if len({words for _, words in longest}) == 1 else None


def match_phrase(
    text: str, phrases: Sequence[str], *, max_error: float = MAX_PHRASE_ERROR
) -> str | None:
    """The phrase the recognised `text` stands for, or None when none (or several) fit.

    Tried in order, stopping at the first step that finds anything: exact match, exact match
    without tones, phrase contained in the text ("tôi chọn số một" -> "một"), text contained in
    a phrase ("rác" -> "rác thải"), each with tones and then without, and finally the closest
    accent-folded spelling within `max_error`. Ambiguity gives None, so a menu asks again
    rather than guessing.
    """
    spoken = _tokens(text)
    if not spoken:
        return None
    candidates = [(phrase, _tokens(phrase)) for phrase in phrases]
    candidates = [(phrase, words) for phrase, words in candidates if words]
    folded_spoken = tuple(fold(word) for word in spoken)

    def folded(words: tuple[str, ...]) -> tuple[str, ...]:
        return tuple(fold(word) for word in words)

    steps = (
        lambda words: words == spoken,
        lambda words: folded(words) == folded_spoken,
        lambda words: _contains(spoken, words),
        lambda words: _contains(folded_spoken, folded(words)),
        lambda words: _contains(words, spoken),
        lambda words: _contains(folded(words), folded_spoken),
    )
    for test in steps:
        hits = [(phrase, words) for phrase, words in candidates if test(words)]
        if hits:
            return _unique(hits)

    spoken_text = " ".join(folded_spoken)
    scored = []
    for phrase, words in candidates:
        phrase_text = " ".join(folded(words))
        error = _edit_distance(spoken_text, phrase_text) / max(len(spoken_text), len(phrase_text))
        scored.append((error, phrase, words))
    scored.sort(key=lambda item: item[0])
    if not scored or scored[0][0] > max_error:
        return None
    best = scored[0][0]
    return _unique([(phrase, words) for error, phrase, words in scored if error == best])


def grammar_json(phrases: Sequence[str]) -> str:
    """Vosk's runtime grammar for `phrases`: lower-case NFC phrases plus [unk] for the rest."""
    entries = list(dict.fromkeys(" ".join(_tokens(phrase)) for phrase in phrases))
    return json.dumps([entry for entry in entries if entry] + [UNKNOWN_WORD], ensure_ascii=False)


# --- Streaming recognition -----------------------------------------------------------------


def _parse_result(raw: str) -> tuple[str, tuple[Word, ...]]:
    """Text and words from Vosk's Result()/FinalResult() JSON. `[unk]` (speech the model or the
    phrase list has no word for) is left out: it is noise in a transcript, and a phrase list
    answered only with it has matched nothing."""
    data: dict[str, Any] = json.loads(raw)
    words = tuple(
        Word(str(w["word"]), float(w["start"]), float(w["end"]), float(w["conf"]))
        for w in data.get("result", [])
        if w.get("word") != UNKNOWN_WORD
    )
    text = " ".join(token for token in str(data.get("text", "")).split() if token != UNKNOWN_WORD)
    return text, words


def _mean_conf(words: Sequence[Word]) -> float:
    return sum(word.conf for word in words) / len(words) if words else 0.0


class StreamingRecognizer:
    """Recognise one stream of telephone audio (one call leg) utterance by utterance.

    `feed()` takes audio chunks of any size in `input_format` at `input_rate` and returns at
    most one event: a `Final` when Vosk detects the end of an utterance (or the utterance reaches
    `max_utterance_s`), otherwise a `Partial` when the guess changed, otherwise None. Audio after
    a Final in the same chunk is kept and decoded by the next call, so no utterance is lost;
    `feed_all()` decodes a chunk completely and returns every event. `finish()` ends the stream
    and returns the last utterance: everything still buffered, whether or not it holds an
    endpoint, so call `feed_all()` rather than `feed()` last when a chunk can be long.

    Audio below the model's rate is upsampled (Vosk only downsamples); audio above it is passed
    at its own rate for Vosk to downsample. Not thread-safe: one recognizer per stream.
    """

    def __init__(
        self,
        model: vosk.Model,
        model_rate: int,
        *,
        input_rate: int = 8000,
        input_format: SampleFormat = "slin16",
        channels: int = 1,
        phrases: Sequence[str] | None = None,
        supports_grammar: bool = True,
        max_utterance_s: float = 30.0,
        words: bool = True,
        normalize: bool = True,
    ) -> None:
        if model_rate <= 0:
            raise ValueError(f"model_rate must be positive, not {model_rate}")
        if max_utterance_s <= 0:
            raise ValueError(f"max_utterance_s must be positive, not {max_utterance_s}")
        self.rate = max(input_rate, model_rate)  # the rate Vosk is given
        self._converter = PcmConverter(
            input_format, input_rate, self.rate, channels=channels, normalize=normalize
        )
        self.phrases: tuple[str, ...] = tuple(phrases or ())
        self.grammar_mode: GrammarMode
        if not self.phrases:
            self.grammar_mode = "free"
            self._vosk = vosk.KaldiRecognizer(model, self.rate)
        elif supports_grammar:
            self.grammar_mode = "grammar"
            self._vosk = vosk.KaldiRecognizer(model, self.rate, grammar_json(self.phrases))
        else:
            self.grammar_mode = "fallback"
            self._vosk = vosk.KaldiRecognizer(model, self.rate)
        self._vosk.SetWords(True)  # word confidences are needed even when words are not kept
        self._keep_words = words
        self._block_bytes = 2 * max(1, round(self.rate * BLOCK_S))
        self._max_samples = round(max_utterance_s * self.rate)
        self._pending = bytearray()
        self._utterance_samples = 0
        self._total_samples = 0
        self._last_partial = ""
        self._finished = False

    @property
    def audio_s(self) -> float:
        """Seconds of audio decoded so far."""
        return self._total_samples / self.rate

    def _accept(self, block: bytes) -> bool:
        samples = len(block) // 2
        self._utterance_samples += samples
        self._total_samples += samples
        return bool(self._vosk.AcceptWaveform(block))

    def _final(self, raw: str, reason: FinalReason) -> Final:
        text, words = _parse_result(raw)
        final = Final(
            text=text,
            confidence=_mean_conf(words),
            words=words if self._keep_words else (),
            audio_s=self._utterance_samples / self.rate,
            reason=reason,
            phrase=match_phrase(text, self.phrases) if self.phrases else None,
        )
        self._utterance_samples = 0
        self._last_partial = ""
        return final

    def _convert(self, chunk: bytes) -> None:
        if self._finished:
            raise RuntimeError("feed() after finish(): start a new StreamingRecognizer")
        self._pending += self._converter.convert(chunk)

    def _decode_pending(self) -> Event | None:
        """Decode whole blocks until a Final or until fewer than a block remain."""
        decoded = False
        while len(self._pending) >= self._block_bytes:
            block = bytes(self._pending[: self._block_bytes])
            del self._pending[: self._block_bytes]
            decoded = True
            if self._accept(block):
                return self._final(self._vosk.Result(), "endpoint")
            if self._utterance_samples >= self._max_samples:
                # Vosk starts a fresh utterance on the next AcceptWaveform after FinalResult.
                return self._final(self._vosk.FinalResult(), "max_length")
        if decoded:
            partial = str(json.loads(self._vosk.PartialResult()).get("partial", ""))
            if partial != self._last_partial:
                self._last_partial = partial
                return Partial(partial)
        return None

    def feed(self, chunk: bytes) -> Event | None:
        """Decode `chunk`; return a Final, a changed Partial, or None.

        For live audio in small chunks (20-200 ms). Audio after a Final stays buffered until
        the next call; use `feed_all()` for chunks that may hold several utterances.
        """
        self._convert(chunk)
        return self._decode_pending()

    def feed_all(self, chunk: bytes) -> list[Event]:
        """Decode `chunk` completely; every Final (and changed Partials) in order."""
        self._convert(chunk)
        events: list[Event] = []
        while (event := self._decode_pending()) is not None:
            events.append(event)
            if not isinstance(event, Final):
                break
        return events

    def finish(self) -> Final:
        """End the stream: decode what is left and return the last utterance (maybe empty)."""
        if self._finished:
            raise RuntimeError("finish() called twice")
        self._finished = True
        self._pending += self._converter.flush()
        for start in range(0, len(self._pending), self._block_bytes):
            # The stream is over: what remains belongs to one last utterance, endpoint or not.
            self._accept(bytes(self._pending[start : start + self._block_bytes]))
        self._pending.clear()
        if self._utterance_samples == 0:
            return Final("", 0.0, (), 0.0, "end_of_stream")
        return self._final(self._vosk.FinalResult(), "end_of_stream")


# --- Files ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class Transcript:
    """A whole recording: every utterance, joined."""

    text: str
    confidence: float  # mean word confidence over the recording; 0.0 without words
    words: tuple[Word, ...]
    audio_s: float
    cpu_s: float  # process CPU time spent decoding and recognising
    utterances: tuple[Final, ...]
    phrase: str | None  # with phrases: the phrase the whole recording matched


def transcribe_file(
    path: str | Path,
    model: vosk.Model,
    model_rate: int,
    *,
    rate: int | None = None,
    fmt: str | None = None,
    phrases: Sequence[str] | None = None,
    supports_grammar: bool = True,
    max_utterance_s: float = 30.0,
) -> Transcript:
    """Transcribe a recorded call or voicemail: a WAV file, or raw audio (`fmt`, `rate` or the
    extension: `.sln`, `.ul`/`.ulaw`, `.al`/`.alaw`, ...). Raises AudioFormatError for audio
    it cannot decode."""
    cpu_start = time.process_time()
    finals: list[Final] = []
    with AudioFile(path, rate=rate, fmt=fmt) as audio:
        spec = audio.spec
        recognizer = StreamingRecognizer(
            model,
            model_rate,
            input_rate=spec.rate,
            input_format=spec.fmt,
            channels=spec.channels,
            phrases=phrases,
            supports_grammar=supports_grammar,
            max_utterance_s=max_utterance_s,
        )
        chunk_bytes = max(1, spec.rate // 4) * spec.frame_bytes  # 250 ms
        for chunk in audio.chunks(chunk_bytes):
            events = recognizer.feed_all(chunk)
            finals.extend(event for event in events if isinstance(event, Final))
    finals.append(recognizer.finish())
    spoken = [final for final in finals if final.text]
    text = " ".join(final.text for final in spoken)
    words = tuple(word for final in finals for word in final.words)
    return Transcript(
        text=text,
        confidence=_mean_conf(words),
        words=words,
        audio_s=recognizer.audio_s,
        cpu_s=time.process_time() - cpu_start,
        utterances=tuple(finals),
        phrase=match_phrase(text, phrases) if phrases else None,
    )
