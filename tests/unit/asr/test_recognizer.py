"""Streaming recognition and file transcription on the real Vosk runtime (tiny synthetic model).

The tiny model hears loud tones as words (which word depends on the pitch) and silence as
silence; at 8 kHz through our upsampler a 1000 Hz tone is "chín" and a 2000 Hz tone "bốn".
"""

from __future__ import annotations

import itertools
import json
import shutil
import subprocess
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import pytest
import vosk

from asr.audio import AudioFormatError, SampleFormat, encode_ulaw
from asr.recognizer import (
    Event,
    Final,
    Partial,
    StreamingRecognizer,
    grammar_json,
    match_phrase,
    transcribe_file,
)
from tests.unit.asr.conftest import WORDS, silence, tone

MODEL_RATE = 16000


@pytest.fixture(scope="session")
def model(tiny_model_dir: Path) -> vosk.Model:
    vosk.SetLogLevel(-1)
    return vosk.Model(str(tiny_model_dir))


@pytest.fixture(scope="session")
def static_model(tiny_static_model_dir: Path) -> vosk.Model:
    vosk.SetLogLevel(-1)
    return vosk.Model(str(tiny_static_model_dir))


def utterance(freq: float, rate: int = 8000) -> bytes:
    """One loud "word" and the 2 s of silence that end it."""
    return tone(rate, 1.0, freq) + silence(rate, 2.0)


def run(recognizer: StreamingRecognizer, audio: bytes, chunk: int = 320) -> list[Event]:
    """Feed `audio` as a live call would (20 ms of 8 kHz slin per chunk), then finish."""
    events = [recognizer.feed(audio[i : i + chunk]) for i in range(0, len(audio), chunk)]
    return [event for event in events if event is not None] + [recognizer.finish()]


def finals(events: Sequence[Event]) -> list[Final]:
    return [event for event in events if isinstance(event, Final)]


def test_8k_audio_is_upsampled_for_a_16k_model(model: vosk.Model) -> None:
    audio = utterance(1000)
    bare = vosk.KaldiRecognizer(model, 8000)
    with pytest.raises(Exception, match="Failed to process waveform"):
        bare.AcceptWaveform(audio)  # Vosk downsamples but never upsamples

    recognizer = StreamingRecognizer(model, MODEL_RATE, input_rate=8000)
    assert recognizer.rate == MODEL_RATE
    result = finals(run(recognizer, audio))
    assert result[0].text == "chín"
    assert recognizer.audio_s == pytest.approx(3.0)


def test_partials_then_an_endpoint_final_with_timed_words(model: vosk.Model) -> None:
    audio = utterance(1000) + utterance(2000)
    events = run(StreamingRecognizer(model, MODEL_RATE), audio)

    first_final = next(i for i, e in enumerate(events) if isinstance(e, Final))
    partials = [e.text for e in events[:first_final] if isinstance(e, Partial)]
    assert "chín" in partials
    # Partials are events, not a per-chunk echo: only changes are reported.
    assert all(a != b for a, b in itertools.pairwise(partials))
    assert sum(isinstance(e, Partial) for e in events) < len(audio) // 320 // 10

    spoken = [f for f in finals(events) if f.text]
    assert [(f.text, f.reason) for f in spoken] == [("chín", "endpoint"), ("bốn", "endpoint")]
    first, second = spoken
    assert [w.word for w in first.words] == ["chín"]
    word = first.words[0]
    assert 0.0 <= word.start < word.end <= 1.1  # the tone is at 0-1 s
    assert 3.0 <= second.words[0].start < second.words[0].end <= 4.1  # stream time, not utterance
    assert 0.0 < first.confidence <= 1.0
    assert first.audio_s + second.audio_s <= len(audio) / 2 / 8000 + 0.1
    assert events[-1] == Final("", 0.0, (), events[-1].audio_s, "end_of_stream")


def test_results_do_not_depend_on_chunk_size(model: vosk.Model) -> None:
    audio = utterance(1000) + tone(8000, 0.7, 3000) + silence(8000, 1.6) + tone(8000, 0.5, 150)

    def outcome(chunk: int) -> list[tuple[str, str, list[float]]]:
        recognizer = StreamingRecognizer(model, MODEL_RATE)
        if chunk == len(audio):  # a whole recording at once: feed_all() splits it
            events = [*recognizer.feed_all(audio), recognizer.finish()]
        else:
            events = run(recognizer, audio, chunk)
        return [(f.text, f.reason, [w.start for w in f.words]) for f in finals(events)]

    reference = outcome(320)
    assert [text for text, _, _ in reference if text] == ["chín", "không năm", "đúng"]
    for chunk in (7, 4096, len(audio)):
        result = outcome(chunk)
        assert [(text, reason) for text, reason, _ in result] == [
            (text, reason) for text, reason, _ in reference
        ], f"{chunk}-byte chunks"
        # Kaldi dithers its input with random noise, so times may differ in the last digits.
        for (_, _, starts), (_, _, expected) in zip(result, reference, strict=True):
            assert starts == pytest.approx(expected, abs=0.01)


def test_max_utterance_length_forces_a_final(model: vosk.Model) -> None:
    recognizer = StreamingRecognizer(model, MODEL_RATE, max_utterance_s=1.0)
    events = run(recognizer, tone(8000, 3.5, 1000, noise=500))
    capped = finals(events)[:-1]
    assert [f.reason for f in capped] == ["max_length"] * 3
    assert all(f.audio_s == pytest.approx(1.0) for f in capped)
    assert all(f.text for f in capped)
    # The next utterance starts where the capped one stopped.
    assert capped[1].words[0].start >= 1.0 and capped[2].words[0].start >= 2.0
    last = finals(events)[-1]
    assert last.reason == "end_of_stream" and last.audio_s == pytest.approx(0.5)


def test_phrase_list_becomes_a_grammar(model: vosk.Model) -> None:
    free = finals(run(StreamingRecognizer(model, MODEL_RATE), utterance(1000)))
    assert free[0].text == "chín"

    recognizer = StreamingRecognizer(model, MODEL_RATE, phrases=["Đúng", "sai"])
    assert recognizer.grammar_mode == "grammar"
    menu = finals(run(recognizer, utterance(1000)))[0]
    assert menu.text == "đúng"
    assert menu.phrase == "Đúng"  # the caller's own spelling comes back


def test_static_model_falls_back_to_matching_the_free_text(static_model: vosk.Model) -> None:
    recognizer = StreamingRecognizer(
        static_model, MODEL_RATE, phrases=["số chín", "số tám"], supports_grammar=False
    )
    assert recognizer.grammar_mode == "fallback"
    heard = finals(run(recognizer, utterance(1000)))[0]
    assert heard.text == "chín"
    assert heard.phrase == "số chín"

    nothing = StreamingRecognizer(
        static_model, MODEL_RATE, phrases=["đúng", "sai"], supports_grammar=False
    )
    assert finals(run(nothing, utterance(2000)))[0].phrase is None  # "bốn" is neither


def test_without_phrases_recognition_is_free(model: vosk.Model) -> None:
    recognizer = StreamingRecognizer(model, MODEL_RATE, phrases=[])
    assert recognizer.grammar_mode == "free"
    assert finals(run(recognizer, utterance(1000)))[0].phrase is None


def test_finish_on_an_empty_stream(model: vosk.Model) -> None:
    recognizer = StreamingRecognizer(model, MODEL_RATE)
    final = recognizer.finish()
    assert final == Final("", 0.0, (), 0.0, "end_of_stream")
    with pytest.raises(RuntimeError):
        recognizer.feed(b"\x00\x00")


def test_finish_mid_utterance_returns_it(model: vosk.Model) -> None:
    recognizer = StreamingRecognizer(model, MODEL_RATE, input_format="ulaw", words=False)
    samples = np.frombuffer(tone(8000, 1.0, 2000), dtype="<i2")
    assert recognizer.feed(encode_ulaw(samples)) is not None  # a Partial
    final = recognizer.finish()
    assert (final.text, final.reason) == ("bốn", "end_of_stream")
    assert final.words == () and final.confidence > 0  # confidences without word lists


@pytest.mark.parametrize(("rate", "fmt"), [(16000, "slin16"), (48000, "slin16"), (8000, "alaw")])
def test_other_rates_and_formats(model: vosk.Model, rate: int, fmt: SampleFormat) -> None:
    audio = utterance(1000, rate)
    if fmt == "alaw":
        from asr.audio import encode_alaw

        audio = encode_alaw(np.frombuffer(audio, dtype="<i2"))
    recognizer = StreamingRecognizer(model, MODEL_RATE, input_rate=rate, input_format=fmt)
    assert recognizer.rate == max(rate, MODEL_RATE)  # Vosk downsamples 48 kHz itself
    assert finals(run(recognizer, audio, 4000))[0].text


# --- Phrase matching -----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "phrases", "expected"),
    [
        ("một", ["một", "mốt"], "một"),  # tones decide when they can
        ("dung", ["đúng", "sai"], "đúng"),  # a model that dropped the tones
        ("tôi chọn số một", ["một", "hai"], "một"),  # phrase inside the answer
        ("rác", ["phản ánh rác thải", "phản ánh ngập lụt"], "phản ánh rác thải"),
        ("một trăm", ["một", "một trăm"], "một trăm"),  # the longer phrase wins
        ("đún", ["đúng", "sai"], "đúng"),  # a near miss
        ("Xin chào bạn!", ["xin chào", "tạm biệt"], "xin chào"),
        ("có không", ["có", "không"], None),  # ambiguous: ask again
        ("bá", ["ba", "bà"], None),
        ("[unk]", ["đúng", "sai"], None),
        ("[unk] sai", ["đúng", "sai"], "sai"),
        ("bốn", ["đúng", "sai"], None),
        ("", ["đúng"], None),
    ],
)
def test_match_phrase(text: str, phrases: list[str], expected: str | None) -> None:
    assert match_phrase(text, phrases) == expected


def test_grammar_json_is_normalised_utf8() -> None:
    decomposed = "Đu\u0301ng"  # "Đúng" typed with a combining accent
    grammar = grammar_json([decomposed, "đúng", "  Số   Một "])
    assert grammar == '["đúng", "số một", "[unk]"]'
    assert json.loads(grammar)[-1] == "[unk]"


# --- Files ---------------------------------------------------------------------------------


def test_transcribe_raw_and_wav_alike(model: vosk.Model, tmp_path: Path) -> None:
    audio = utterance(1000) + utterance(2000)
    raw = tmp_path / "voicemail.sln"
    raw.write_bytes(audio)
    transcript = transcribe_file(raw, model, MODEL_RATE)
    assert transcript.text == "chín bốn"
    assert [w.word for w in transcript.words] == ["chín", "bốn"]
    assert transcript.audio_s == pytest.approx(6.0)
    assert transcript.cpu_s > 0
    assert 0 < transcript.confidence <= 1
    assert transcript.phrase is None

    menu = transcribe_file(raw, model, MODEL_RATE, phrases=["chín"])
    assert menu.text == "chín"  # the second tone is not in the grammar ([unk], left out)
    assert menu.utterances[0].phrase == "chín"
    assert len(menu.utterances) > 1 and all(u.phrase is None for u in menu.utterances[1:])
    assert menu.phrase == "chín"


def test_unsupported_recording_is_a_clear_error(model: vosk.Model, tmp_path: Path) -> None:
    path = tmp_path / "voicemail.gsm"
    path.write_bytes(b"\xd8" * 330)
    with pytest.raises(AudioFormatError, match="GSM"):
        transcribe_file(path, model, MODEL_RATE)


@pytest.mark.skipif(
    not (shutil.which("espeak-ng") and shutil.which("sox")),
    reason="needs espeak-ng and sox to synthesise Vietnamese speech",
)
def test_transcribe_espeak_vietnamese_ulaw_wav(model: vosk.Model, tmp_path: Path) -> None:
    wide = tmp_path / "out.wav"
    narrow = tmp_path / "out8k.wav"
    subprocess.run(["espeak-ng", "-v", "vi", "-w", str(wide), "xin chào"], check=True)
    subprocess.run(
        ["sox", str(wide), "-r", "8000", "-e", "mu-law", "-c", "1", str(narrow)], check=True
    )
    assert narrow.read_bytes()[20:22] == b"\x07\x00"  # WAVE_FORMAT_MULAW
    seconds = float(
        subprocess.run(
            ["soxi", "-D", str(narrow)], check=True, capture_output=True, text=True
        ).stdout
    )

    transcript = transcribe_file(narrow, model, MODEL_RATE)
    # The tiny model knows no Vietnamese, but it hears speech where espeak-ng spoke.
    assert transcript.text
    assert {w.word for w in transcript.words} <= {*WORDS, "[unk]"}
    assert all(0 <= w.start < w.end <= seconds + 0.05 for w in transcript.words)
    assert transcript.audio_s == pytest.approx(seconds, abs=0.01)
    assert transcript.cpu_s > 0
