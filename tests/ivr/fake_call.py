"""An in-process `ivr.call.Call` for unit tests of call flows: scripted keys and recordings, a
hang-up after N operations, and a log of every operation the flow performed."""

from __future__ import annotations

import shutil
import wave
from collections import deque
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path

from ivr.call import CallHungUp, Recording
from tests.fixtures import make_tiny_vosk_model as tiny

INPUTS = frozenset({"get_data", "wait_for_digit", "record"})


@dataclass(frozen=True)
class Rec:
    """What the next RECORD FILE "hears": a WAV file to copy (None: a near-empty recording),
    how it ended, and the key that ended it."""

    source: Path | None = None
    ended_by: str = "dtmf"
    digit: str | None = "#"


@dataclass
class Op:
    name: str
    arg: str = ""
    result: object = None


@dataclass
class FakeCall:
    caller_id: str = "0905123456"
    unique_id: str = "1764122400.42"
    dnid: str = "19001080"
    keys: Iterable[str] = ()
    recordings: Iterable[Rec] = ()
    hang_up_after: int | None = None  # operations performed before the caller hangs up
    script: str = "hotline"
    ops: list[Op] = field(default_factory=list)
    variables: dict[str, str] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self._keys = deque(self.keys)
        self._recordings = deque(self.recordings)

    # --- the Call protocol ------------------------------------------------------------------

    @property
    def env(self) -> Mapping[str, str]:
        return {
            "agi_network_script": self.script,
            "agi_callerid": self.caller_id,
            "agi_uniqueid": self.unique_id,
            "agi_dnid": self.dnid,
            "agi_channel": "SIP/trunk-00000001",
        }

    def answer(self) -> None:
        self._op("answer")

    def stream(self, prompt: str, escape_digits: str = "") -> str | None:
        self._op("stream", prompt)
        return None

    def get_data(self, prompt: str, timeout_ms: int = 5000, max_digits: int = 1) -> str:
        self._op("get_data", prompt)
        result = self._keys.popleft() if self._keys else ""
        self.ops[-1].result = result
        return result

    def wait_for_digit(self, timeout_ms: int = 5000) -> str | None:
        self._op("wait_for_digit")
        result = self._keys.popleft() if self._keys else None
        self.ops[-1].result = result
        return result or None

    def say_digits(self, digits: str, escape_digits: str = "") -> str | None:
        self._op("say_digits", digits)
        return None

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
        self._op("record", path)
        scripted = self._recordings.popleft() if self._recordings else Rec(None, "timeout", None)
        target = Path(f"{path}.{fmt}")
        if scripted.source is not None:
            shutil.copyfile(scripted.source, target)
        else:
            write_wav(target, b"\x00\x00" * 80)  # 10 ms: nothing said
        recording = Recording(str(target), scripted.ended_by, scripted.digit)
        self.ops[-1].result = recording
        return recording

    def set_variable(self, name: str, value: str) -> None:
        self._op("set_variable", name, value)
        self.variables[name] = value

    def get_variable(self, name: str) -> str | None:
        self._op("get_variable", name)
        return self.variables.get(name)

    def verbose(self, message: str, level: int = 1) -> None:
        self._op("verbose", message)

    def hangup(self) -> None:
        self._op("hangup")

    # --- for the tests ----------------------------------------------------------------------

    def _op(self, name: str, arg: str = "", result: object = None) -> None:
        if self.hang_up_after is not None and len(self.ops) >= self.hang_up_after:
            self.ops.append(Op("caller_hung_up", name))
            raise CallHungUp(f"caller hung up before {name}")
        self.ops.append(Op(name, arg, result))

    def names(self) -> list[str]:
        return [op.name for op in self.ops]

    def prompts(self) -> list[str]:
        """Every prompt played, by STREAM FILE or GET DATA, in order."""
        return [op.arg for op in self.ops if op.name in {"stream", "get_data"}]

    def digits_said(self) -> list[str]:
        return [op.arg for op in self.ops if op.name == "say_digits"]

    def unprompted_inputs(self) -> list[int]:
        """Indexes of input operations the caller was not prompted for: GET DATA plays its own
        prompt; WAIT FOR DIGIT and RECORD FILE must follow a prompt."""
        bad = []
        for index, op in enumerate(self.ops):
            if (op.name == "get_data" and not op.arg) or (
                op.name in {"wait_for_digit", "record", "listen"}
                and (index == 0 or self.ops[index - 1].name != "stream")
            ):
                bad.append(index)
        return bad


@dataclass
class FakeEagiCall(FakeCall):
    """A call with the caller's audio (EAGI): each time the flow listens, it hears the next of
    `utterances` (8 kHz 16-bit linear PCM) in 20 ms chunks, then nothing more."""

    utterances: Iterable[bytes] = ()
    discarded: int = 0

    def __post_init__(self) -> None:
        super().__post_init__()
        self._utterances = deque(self.utterances)

    def discard_buffered_audio(self) -> int:
        self.discarded += 1
        return 0

    def audio(self, chunk_ms: int = 20) -> Iterator[bytes]:
        pcm = self._utterances.popleft() if self._utterances else b""
        self._op("listen", str(len(pcm)))
        size = 8000 * 2 * chunk_ms // 1000
        for start in range(0, len(pcm), size):
            yield pcm[start : start + size]


def write_wav(path: Path, pcm: bytes, rate: int = 8000) -> Path:
    with wave.open(str(path), "wb") as out:
        out.setnchannels(1)
        out.setsampwidth(2)
        out.setframerate(rate)
        out.writeframes(pcm)
    return path


def tone_wav(path: Path, freq: float, seconds: float = 1.0, rate: int = 8000) -> Path:
    """A loud tone then 2 s of silence: the synthetic Vosk model hears it as one word (which
    word depends on the pitch and on the phrase list)."""
    pcm = bytes(tiny._tone(rate, seconds, freq, amp=8000.0, noise=0.0))
    return write_wav(path, pcm + b"\x00\x00" * (2 * rate), rate)
