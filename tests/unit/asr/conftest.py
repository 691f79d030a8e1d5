"""Fixtures for the speech tests: a tiny synthetic Vosk model the real runtime loads."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.fixtures import make_tiny_vosk_model as tiny

# The words the synthetic models know: digits and the menu answers the call flow asks for.
WORDS = ["không", "một", "hai", "ba", "bốn", "năm", "sáu", "bảy", "tám", "chín", "đúng", "sai"]


@pytest.fixture(scope="session")
def tiny_model_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A 16 kHz model with runtime-grammar support, like vosk-model-small-vn."""
    path = tmp_path_factory.mktemp("vosk") / "tiny-small"
    tiny.write_model(str(path), WORDS, sample_rate=16000, graph="lookahead")
    return path


@pytest.fixture(scope="session")
def tiny_static_model_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A 16 kHz model with a static graph, like the large vosk-model-vn (no phrase lists)."""
    path = tmp_path_factory.mktemp("vosk") / "tiny-large"
    tiny.write_model(str(path), WORDS, sample_rate=16000, graph="static")
    return path


def tone(rate: int, seconds: float, freq: float, amp: float = 8000.0, noise: float = 0.0) -> bytes:
    """16-bit mono PCM: a tone the synthetic model hears as speech."""
    return bytes(tiny._tone(rate, seconds, freq, amp=amp, noise=noise))


def silence(rate: int, seconds: float) -> bytes:
    return b"\x00\x00" * int(rate * seconds)
