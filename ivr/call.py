"""What a call flow sees of a call: a few typed AGI operations, whatever carries them.

Flows (`ivr/flows/*.py`) are plain functions taking a `Call`; `ivr/agi.py` (the one module that
imports pyst2) implements it over FastAGI sockets, AGI's stdin/stdout and EAGI. Prompts are
sound file names without extension, relative to Asterisk's sounds directory (`hotline/greeting`).
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Protocol, runtime_checkable


class CallHungUp(Exception):
    """The caller hung up (Asterisk answered `HANGUP`, `result=-1` or 511): stop the flow, keep
    what was said."""


class AgiFailure(Exception):
    """Asterisk refused or did not understand a command (5xx other than a dead channel)."""


@dataclass(frozen=True)
class Recording:
    """What `RECORD FILE` produced."""

    path: str  # the file Asterisk wrote, with its extension
    ended_by: str  # "dtmf" (a key such as #), "silence", "timeout" or "hangup"
    digit: str | None = None  # the key that ended it, for "dtmf"


class Call(Protocol):
    @property
    def env(self) -> Mapping[str, str]:
        """The `agi_*` variables Asterisk sent (agi_callerid, agi_uniqueid, agi_dnid, …)."""
        ...

    @property
    def script(self) -> str:
        """`agi_network_script` (FastAGI) or the script's name: which flow to run."""
        ...

    @property
    def caller_id(self) -> str: ...

    @property
    def unique_id(self) -> str: ...

    def answer(self) -> None: ...

    def stream(self, prompt: str, escape_digits: str = "") -> str | None:
        """STREAM FILE: play a prompt; the key that interrupted it, or None."""
        ...

    def get_data(self, prompt: str, timeout_ms: int = 5000, max_digits: int = 1) -> str:
        """GET DATA: play a prompt and collect up to `max_digits` keys; "" on timeout."""
        ...

    def wait_for_digit(self, timeout_ms: int = 5000) -> str | None:
        """WAIT FOR DIGIT: one key, or None on timeout."""
        ...

    def say_digits(self, digits: str, escape_digits: str = "") -> str | None:
        """SAY DIGITS: read a number digit by digit (case codes, phone numbers)."""
        ...

    def record(
        self,
        path: str,
        *,
        fmt: str = "wav",
        escape_digits: str = "#",
        timeout_ms: int = 60_000,
        silence_s: int = 3,
        beep: bool = True,
    ) -> Recording:
        """RECORD FILE `path` (without extension) in `fmt`, ending on silence, a key or the
        timeout."""
        ...

    def set_variable(self, name: str, value: str) -> None: ...

    def get_variable(self, name: str) -> str | None: ...

    def verbose(self, message: str, level: int = 1) -> None: ...

    def hangup(self) -> None: ...


@runtime_checkable
class AudioSource(Protocol):
    """A call that also carries the caller's audio (EAGI): `isinstance(call, AudioSource)`."""

    def audio(self, chunk_ms: int = 100) -> Iterator[bytes]:
        """Chunks of about `chunk_ms` of 8 kHz 16-bit signed linear mono, until the stream
        ends; feed them to `asr.recognizer.StreamingRecognizer`."""
        ...

    def discard_buffered_audio(self) -> int:
        """Drop the audio that piled up while prompts played (Asterisk writes it all the
        time); returns how many bytes. Called just before listening."""
        ...
