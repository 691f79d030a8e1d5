"""Audio for the speech tests (the tiny synthetic models are fixtures in tests/conftest.py)."""

from __future__ import annotations

from tests.fixtures import make_tiny_vosk_model as tiny
from tests.fixtures import speech

WORDS = speech.WORDS


def tone(rate: int, seconds: float, freq: float, amp: float = 8000.0, noise: float = 0.0) -> bytes:
    """16-bit mono PCM: a tone the synthetic model hears as speech."""
    return bytes(tiny._tone(rate, seconds, freq, amp=amp, noise=noise))


def silence(rate: int, seconds: float) -> bytes:
    return b"\x00\x00" * int(rate * seconds)
