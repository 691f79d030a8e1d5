"""The tier for a real Vietnamese Vosk model (vosk-model-small-vn-0.4 or vosk-model-vn-0.4).

It runs when VOSK_MODEL_PATH points at an unpacked model (`hotline asr download`), and skips
with that reason otherwise: no model can be downloaded on the machines CI runs on."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from asr.model import load_model
from asr.numbers import digits
from asr.recognizer import transcribe_file
from tests.fixtures.speech import say

MODEL = os.environ.get("VOSK_MODEL_PATH", "")

pytestmark = [
    pytest.mark.asr,
    pytest.mark.skipif(
        not MODEL or not Path(MODEL).is_dir(),
        reason="no real Vosk model: set VOSK_MODEL_PATH to one (hotline asr download) to run",
    ),
]


def test_the_model_is_a_16_khz_vosk_model():
    model = load_model(MODEL)
    assert model.info.sample_rate == 16000
    assert load_model(MODEL) is model, "one loaded model per process"


def test_telephone_speech_is_transcribed_in_vietnamese(tmp_path):
    model = load_model(MODEL)
    audio = say("xin chào tổng đài, đường bị ngập nước", tmp_path / "call.wav")
    result = transcribe_file(
        audio, model.model, model.info.sample_rate, supports_grammar=model.info.supports_grammar
    )
    assert result.text and result.audio_s > 1
    assert all(word.start < word.end for word in result.words)
    assert result.cpu_s / result.audio_s < 1.0, "far slower than real time"


def test_a_digit_phrase_list_gives_digits(tmp_path):
    model = load_model(MODEL)
    audio = say("một hai ba", tmp_path / "digits.wav")
    phrases = ["không", "một", "hai", "ba", "bốn", "năm", "sáu", "bảy", "tám", "chín"]
    result = transcribe_file(
        audio,
        model.model,
        model.info.sample_rate,
        phrases=phrases,
        supports_grammar=model.info.supports_grammar,
    )
    assert set(result.text.split()) <= set(phrases)
    assert digits(result.text) is not None
