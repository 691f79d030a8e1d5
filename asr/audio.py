"""Telephone audio in, model-ready audio out: decode, mix, level and resample.

Asterisk hands us 8 kHz audio as 16-bit signed linear ("slin", from EAGI or `.sln`/`.wav`
recordings), G.711 μ-law or G.711 A-law. The Vietnamese Vosk models are 16 kHz models, and
Kaldi downsamples but never upsamples, so narrowband audio must be upsampled here.

`PcmConverter` does the whole chain on a stream: it accepts chunks of any byte size (a sample may
be split across chunks) and its output depends only on the bytes fed, never on how they were
chunked: every stage works on absolute sample positions (fixed 10 ms levelling frames, a
polyphase resampler indexed from the start of the stream) and uses only element-wise arithmetic.

WAV files are parsed by hand because Python's `wave` module refuses μ-law and A-law WAVs.
"""

from __future__ import annotations

import math
import struct
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType
from typing import BinaryIO, Final, Literal, get_args

import numpy as np
import numpy.typing as npt

SampleFormat = Literal["slin16", "ulaw", "alaw"]
SAMPLE_FORMATS: Final[tuple[SampleFormat, ...]] = get_args(SampleFormat)

Int16Array = npt.NDArray[np.int16]
FloatArray = npt.NDArray[np.float64]

# WAVE format tags (RIFF fmt chunk).
WAVE_FORMAT_PCM: Final = 0x0001
WAVE_FORMAT_ALAW: Final = 0x0006
WAVE_FORMAT_MULAW: Final = 0x0007
WAVE_FORMAT_EXTENSIBLE: Final = 0xFFFE
_WAVE_FORMAT_NAMES: Final = {
    0x0002: "Microsoft ADPCM",
    0x0003: "IEEE float",
    0x0011: "IMA ADPCM",
    0x0031: "GSM 6.10 (Asterisk's WAV49 / .WAV format)",
    0x0055: "MP3",
}
_MAX_CHANNELS: Final = 8

# Raw (headerless) Asterisk recordings, by file extension: format and sample rate.
_RAW_EXTENSIONS: Final[dict[str, tuple[SampleFormat, int]]] = {
    "sln": ("slin16", 8000),
    "slin": ("slin16", 8000),
    "raw": ("slin16", 8000),
    "sln12": ("slin16", 12000),
    "sln16": ("slin16", 16000),
    "sln24": ("slin16", 24000),
    "sln32": ("slin16", 32000),
    "sln44": ("slin16", 44100),
    "sln48": ("slin16", 48000),
    "sln96": ("slin16", 96000),
    "sln192": ("slin16", 192000),
    "ul": ("ulaw", 8000),
    "ulaw": ("ulaw", 8000),
    "ulw": ("ulaw", 8000),
    "mu": ("ulaw", 8000),
    "pcm": ("ulaw", 8000),  # Asterisk's "pcm" format is μ-law
    "al": ("alaw", 8000),
    "alaw": ("alaw", 8000),
    "alw": ("alaw", 8000),
}
_UNSUPPORTED_EXTENSIONS: Final = {
    "gsm": "GSM 6.10",
    "g729": "G.729",
    "g722": "G.722",
    "g723": "G.723.1",
    "g726": "G.726",
    "ilbc": "iLBC",
    "spx": "Speex",
    "siren7": "Siren7",
    "siren14": "Siren14",
}
_RECORD_HINT: Final = "record as wav, sln, ulaw or alaw instead"


class AudioFormatError(ValueError):
    """The audio is in a format we do not decode, or its header is corrupt."""


@dataclass(frozen=True)
class AudioSpec:
    """How the sample bytes of a stream or file are laid out."""

    fmt: SampleFormat
    rate: int
    channels: int = 1

    def __post_init__(self) -> None:
        if self.fmt not in SAMPLE_FORMATS:
            raise AudioFormatError(
                f"unknown sample format {self.fmt!r}: use one of {', '.join(SAMPLE_FORMATS)}"
            )
        if self.rate <= 0:
            raise AudioFormatError(f"sample rate must be positive, not {self.rate}")
        if not 1 <= self.channels <= _MAX_CHANNELS:
            raise AudioFormatError(f"unsupported channel count {self.channels}")

    @property
    def sample_width(self) -> int:
        return 2 if self.fmt == "slin16" else 1

    @property
    def frame_bytes(self) -> int:
        """Bytes per sample frame (one sample of every channel)."""
        return self.sample_width * self.channels


# --- G.711 ---------------------------------------------------------------------------------


def _ulaw_table() -> Int16Array:
    codes = np.arange(256, dtype=np.int32)
    u = ~codes & 0xFF
    exponent = (u >> 4) & 0x07
    magnitude = ((((u & 0x0F) << 3) + 0x84) << exponent) - 0x84
    return np.where(u & 0x80, -magnitude, magnitude).astype(np.int16)


def _alaw_table() -> Int16Array:
    codes = np.arange(256, dtype=np.int32)
    a = codes ^ 0x55
    exponent = (a >> 4) & 0x07
    mantissa = a & 0x0F
    magnitude = np.where(
        exponent == 0,
        (mantissa << 4) + 8,
        ((mantissa << 4) + 0x108) << np.maximum(exponent - 1, 0),
    )
    return np.where(a & 0x80, magnitude, -magnitude).astype(np.int16)


ULAW_TO_LINEAR: Final[Int16Array] = _ulaw_table()
ALAW_TO_LINEAR: Final[Int16Array] = _alaw_table()
ULAW_TO_LINEAR.flags.writeable = False
ALAW_TO_LINEAR.flags.writeable = False


def _segment(magnitude: npt.NDArray[np.int32], shift: int) -> npt.NDArray[np.int32]:
    """The G.711 segment (0-7): position of the highest set bit above `shift`."""
    segment = np.zeros_like(magnitude)
    for bit in range(1, 8):
        segment += (magnitude >> (shift + bit)) > 0
    return segment


def encode_ulaw(samples: Int16Array) -> bytes:
    """16-bit linear samples to G.711 μ-law (the reference encoder of Sun's g711.c)."""
    x = samples.astype(np.int32) >> 2  # μ-law codes 14-bit samples
    mask = np.where(x < 0, 0x7F, 0xFF)
    magnitude = np.minimum(np.abs(x), 8159) + 0x21
    exponent = _segment(magnitude, 5)
    mantissa = (magnitude >> (exponent + 1)) & 0x0F
    codes = np.where(magnitude > 0x1FFF, 0x7F, (exponent << 4) | mantissa) ^ mask
    return bytes(codes.astype(np.uint8).tobytes())


def encode_alaw(samples: Int16Array) -> bytes:
    """16-bit linear samples to G.711 A-law (the reference encoder of Sun's g711.c)."""
    x = samples.astype(np.int32) >> 3  # A-law codes 13-bit samples
    mask = np.where(x >= 0, 0xD5, 0x55)
    magnitude = np.where(x >= 0, x, -x - 1)
    exponent = _segment(magnitude, 4)
    mantissa = np.where(exponent < 2, magnitude >> 1, magnitude >> exponent) & 0x0F
    return (((exponent << 4) | mantissa) ^ mask).astype(np.uint8).tobytes()


def decode(data: bytes, fmt: SampleFormat) -> Int16Array:
    """Sample bytes (whole samples, interleaved if multichannel) to 16-bit linear samples."""
    if fmt == "slin16":
        if len(data) % 2:
            raise AudioFormatError("16-bit audio must have an even number of bytes")
        return np.frombuffer(data, dtype="<i2").astype(np.int16)
    codes = np.frombuffer(data, dtype=np.uint8)
    if fmt == "ulaw":
        return ULAW_TO_LINEAR[codes]
    if fmt == "alaw":
        return ALAW_TO_LINEAR[codes]
    raise AudioFormatError(f"unknown sample format {fmt!r}")


def to_pcm16(samples: FloatArray) -> bytes:
    """Float samples (int16 scale) to little-endian 16-bit PCM, saturating instead of wrapping."""
    return np.clip(np.rint(samples), -32768, 32767).astype("<i2").tobytes()


# --- Levelling -----------------------------------------------------------------------------


class PeakLeveller:
    """Causal peak normalisation: raise quiet audio towards `target_peak`, by at most `max_gain`.

    The gain for each 10 ms frame is `target_peak / (highest peak so far)`, clamped to
    [1, max_gain]: it never attenuates and only ever steps down (when a louder peak arrives), so
    there is no pumping. Until the running peak reaches `gate_peak` the audio is left alone, so
    digital silence, dither and line hiss are never amplified.
    """

    def __init__(
        self,
        rate: int,
        *,
        max_gain: float = 4.0,
        target_peak: float = 16384.0,
        gate_peak: float = 512.0,
    ) -> None:
        if max_gain < 1.0:
            raise ValueError("max_gain must be at least 1")
        self.frame = max(1, rate // 100)
        self.max_gain = max_gain
        self.target_peak = target_peak
        self.gate_peak = gate_peak
        self.peak = 0.0
        self._held: FloatArray = np.zeros(0)

    @property
    def gain(self) -> float:
        """The gain applied to the most recent frame."""
        return float(self._gain(np.array([self.peak]))[0])

    def _gain(self, peaks: FloatArray) -> FloatArray:
        gains = np.clip(self.target_peak / np.maximum(peaks, 1.0), 1.0, self.max_gain)
        return np.where(peaks >= self.gate_peak, gains, 1.0)

    def _level(self, samples: FloatArray) -> FloatArray:
        """Level a whole number of frames (or the final partial one)."""
        frames = samples.reshape(-1, min(self.frame, samples.size))
        peaks = np.maximum.accumulate(np.concatenate(([self.peak], np.abs(frames).max(axis=1))))
        self.peak = float(peaks[-1])
        return (frames * self._gain(peaks[1:])[:, None]).reshape(-1)

    def process(self, samples: FloatArray) -> FloatArray:
        held = np.concatenate((self._held, samples))
        whole = held.size - held.size % self.frame
        self._held = held[whole:]
        return self._level(held[:whole]) if whole else np.zeros(0)

    def flush(self) -> FloatArray:
        held, self._held = self._held, np.zeros(0)
        return self._level(held) if held.size else held


# --- Resampling ----------------------------------------------------------------------------


class Resampler:
    """Streaming rational-ratio resampler: a Kaiser-windowed sinc low-pass, polyphase.

    Output sample n sits at input time n * in_rate / out_rate exactly (the filter delay is
    compensated: the first few outputs wait for the samples they need, and `flush()` pads the
    end with zeros), so a stream of N input samples gives ceil(N * out_rate / in_rate) outputs.
    """

    def __init__(
        self, in_rate: int, out_rate: int, *, zero_crossings: int = 8, rolloff: float = 0.92
    ) -> None:
        if in_rate <= 0 or out_rate <= 0:
            raise ValueError("sample rates must be positive")
        common = math.gcd(in_rate, out_rate)
        self.up = out_rate // common
        self.down = in_rate // common
        # Cut-off at the lower Nyquist frequency, in cycles per sample of the upsampled signal.
        cutoff = 0.5 * rolloff / max(self.up, self.down)
        self.delay = math.ceil(zero_crossings * max(self.up, self.down) / rolloff)
        taps = np.arange(2 * self.delay + 1) - self.delay
        window = np.kaiser(taps.size, 8.0)
        h = 2 * cutoff * np.sinc(2 * cutoff * taps) * window * self.up
        self.taps_per_phase = -(-h.size // self.up)
        h = np.concatenate((h, np.zeros(self.taps_per_phase * self.up - h.size)))
        # columns[q][p] = h[p + q * up]: the tap for input x[i0 - q] at output phase p.
        polyphase = h.reshape(self.taps_per_phase, self.up)
        self._columns = [np.ascontiguousarray(polyphase[q]) for q in range(self.taps_per_phase)]
        history = self.taps_per_phase - 1
        self._x: FloatArray = np.zeros(history)
        self._x_start = -history  # absolute index of self._x[0]; before 0 the signal is silent
        self._n_in = 0
        self._n_out = 0

    @property
    def passthrough(self) -> bool:
        return self.up == self.down

    def _newest_input(self, n: npt.NDArray[np.int64]) -> npt.NDArray[np.int64]:
        return (n * self.down + self.delay) // self.up

    def _compute(self, n_end: int) -> FloatArray:
        n = np.arange(self._n_out, n_end, dtype=np.int64)
        if n.size == 0:
            return np.zeros(0)
        upsampled = n * self.down + self.delay
        phase = upsampled % self.up
        newest = upsampled // self.up - self._x_start
        y = np.zeros(n.size)
        # One element-wise multiply-add per tap: the result for a sample never depends on the
        # batch it is computed in, which keeps the output independent of chunking.
        for q, column in enumerate(self._columns):
            y += column[phase] * self._x[newest - q]
        self._n_out = n_end
        keep_from = int(self._newest_input(np.array([n_end]))[0]) - (self.taps_per_phase - 1)
        drop = min(max(0, keep_from - self._x_start), self._x.size)
        self._x = self._x[drop:]
        self._x_start += drop
        return y

    def process(self, samples: FloatArray) -> FloatArray:
        if self.passthrough:
            return samples
        self._x = np.concatenate((self._x, samples))
        self._n_in += samples.size
        # Output n needs inputs up to _newest_input(n), which must already be here.
        n_end = max(self._n_out, (self._n_in * self.up - 1 - self.delay) // self.down + 1)
        return self._compute(n_end)

    def flush(self) -> FloatArray:
        if self.passthrough:
            return np.zeros(0)
        n_total = -(-self._n_in * self.up // self.down)
        if n_total <= self._n_out:
            return np.zeros(0)
        needed = int(self._newest_input(np.array([n_total - 1]))[0]) + 1
        padding = max(0, needed - self._x_start - self._x.size)
        self._x = np.concatenate((self._x, np.zeros(padding)))
        return self._compute(n_total)


# --- The whole chain -----------------------------------------------------------------------


class PcmConverter:
    """Streaming converter: telephone audio bytes in, 16-bit mono PCM at `out_rate` out.

    Decode (slin16/μ-law/A-law) -> mix channels to mono -> level quiet audio (optional) ->
    resample -> saturate to 16 bits. `convert()` takes chunks of any size; call `flush()` once at
    the end of the stream for the resampler's tail. A trailing partial sample is dropped.
    """

    def __init__(
        self,
        fmt: SampleFormat = "slin16",
        in_rate: int = 8000,
        out_rate: int = 16000,
        *,
        channels: int = 1,
        normalize: bool = True,
        max_gain: float = 4.0,
    ) -> None:
        self.spec = AudioSpec(fmt, in_rate, channels)
        if out_rate <= 0:
            raise AudioFormatError(f"output rate must be positive, not {out_rate}")
        self.out_rate = out_rate
        self.leveller = PeakLeveller(in_rate, max_gain=max_gain) if normalize else None
        self.resampler = Resampler(in_rate, out_rate)
        self._partial = b""
        self.frames_in = 0
        self.samples_out = 0

    def _mono(self, data: bytes) -> FloatArray:
        samples = decode(data, self.spec.fmt).astype(np.float64)
        if self.spec.channels > 1:
            samples = samples.reshape(-1, self.spec.channels).mean(axis=1)
        return samples

    def _finish(self, samples: FloatArray) -> bytes:
        out = to_pcm16(samples)
        self.samples_out += samples.size
        return out

    def convert(self, chunk: bytes) -> bytes:
        data = self._partial + chunk
        whole = len(data) - len(data) % self.spec.frame_bytes
        self._partial = data[whole:]
        if not whole:
            return b""
        self.frames_in += whole // self.spec.frame_bytes
        samples = self._mono(data[:whole])
        if self.leveller is not None:
            samples = self.leveller.process(samples)
        return self._finish(self.resampler.process(samples))

    def flush(self) -> bytes:
        """The rest of the stream; the converter must not be used afterwards."""
        self._partial = b""
        samples: FloatArray = np.zeros(0)
        if self.leveller is not None:
            samples = self.resampler.process(self.leveller.flush())
        return self._finish(np.concatenate((samples, self.resampler.flush())))


def convert(
    data: bytes,
    fmt: SampleFormat = "slin16",
    in_rate: int = 8000,
    out_rate: int = 16000,
    *,
    channels: int = 1,
    normalize: bool = True,
    max_gain: float = 4.0,
) -> bytes:
    """Convert a whole buffer at once: the same bytes as streaming it through `PcmConverter`."""
    converter = PcmConverter(
        fmt, in_rate, out_rate, channels=channels, normalize=normalize, max_gain=max_gain
    )
    return converter.convert(data) + converter.flush()


# --- Files ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class WavHeader:
    spec: AudioSpec
    data_offset: int
    data_size: int | None  # None: up to the end of the file (a header never finalised)


def _read_exact(stream: BinaryIO, size: int, what: str) -> bytes:
    data = stream.read(size)
    if len(data) != size:
        raise AudioFormatError(f"truncated WAV file: {what} is cut short")
    return data


def _parse_fmt(body: bytes) -> AudioSpec:
    if len(body) < 16:
        raise AudioFormatError("corrupt WAV file: fmt chunk shorter than 16 bytes")
    tag, channels, rate, _byte_rate, block_align, bits = struct.unpack("<HHIIHH", body[:16])
    if tag == WAVE_FORMAT_EXTENSIBLE:
        if len(body) < 40:
            raise AudioFormatError("corrupt WAV file: WAVE_FORMAT_EXTENSIBLE fmt chunk too short")
        (tag,) = struct.unpack("<H", body[24:26])  # first bytes of the sub-format GUID
    fmt: SampleFormat
    if tag == WAVE_FORMAT_PCM and bits == 16:
        fmt = "slin16"
    elif tag == WAVE_FORMAT_MULAW and bits == 8:
        fmt = "ulaw"
    elif tag == WAVE_FORMAT_ALAW and bits == 8:
        fmt = "alaw"
    elif tag == WAVE_FORMAT_PCM:
        raise AudioFormatError(f"unsupported WAV: {bits}-bit PCM (only 16-bit PCM is decoded)")
    else:
        name = _WAVE_FORMAT_NAMES.get(tag, f"format tag 0x{tag:04x}")
        raise AudioFormatError(f"unsupported WAV encoding: {name}; {_RECORD_HINT}")
    if channels == 0 or rate == 0:
        raise AudioFormatError("corrupt WAV file: zero channels or zero sample rate")
    spec = AudioSpec(fmt, rate, channels)
    if block_align != spec.frame_bytes:
        raise AudioFormatError(
            f"corrupt WAV file: block align {block_align} for {channels} x {bits}-bit samples"
        )
    return spec


def read_wav_header(stream: BinaryIO) -> WavHeader:
    """Parse a RIFF/WAVE header, leaving `stream` at the first byte of audio.

    Accepts PCM 16-bit, μ-law and A-law (also as WAVE_FORMAT_EXTENSIBLE), skips other chunks
    (fact, LIST, ...), and treats a data size of 0 or 0xFFFFFFFF (a recorder that never went
    back to fill in the header) as "up to the end of the file".
    """
    riff = stream.read(12)
    if len(riff) < 12 or riff[:4] != b"RIFF" or riff[8:12] != b"WAVE":
        kind = riff[:4].decode("latin-1") if riff[:4] in (b"RIFX", b"RF64") else ""
        detail = f" ({kind} WAV files are not supported)" if kind else ""
        raise AudioFormatError(f"not a RIFF/WAVE file{detail}")
    offset = 12
    spec: AudioSpec | None = None
    while True:
        header = stream.read(8)
        if len(header) < 8:
            missing = "fmt" if spec is None else "data"
            raise AudioFormatError(f"corrupt WAV file: no {missing} chunk")
        chunk_id, size = struct.unpack("<4sI", header)
        offset += 8
        if chunk_id == b"data":
            if spec is None:
                raise AudioFormatError("corrupt WAV file: data chunk before fmt chunk")
            data_size = None if size in (0, 0xFFFFFFFF) else size
            return WavHeader(spec, offset, data_size)
        padded = size + (size & 1)
        if chunk_id == b"fmt ":
            spec = _parse_fmt(_read_exact(stream, padded, "the fmt chunk")[:size])
        else:
            _read_exact(stream, padded, f"the {chunk_id!r} chunk")
        offset += padded


def raw_spec(path: str | Path, *, rate: int | None = None, fmt: str | None = None) -> AudioSpec:
    """The layout of a headerless recording: from `fmt`/`rate`, else from the file extension."""
    extension = Path(path).suffix.lower().lstrip(".")
    if extension in _UNSUPPORTED_EXTENSIONS:
        codec = _UNSUPPORTED_EXTENSIONS[extension]
        raise AudioFormatError(f"{Path(path).name}: {codec} audio is not supported; {_RECORD_HINT}")
    default = _RAW_EXTENSIONS.get(extension)
    if fmt is None:
        if default is None:
            raise AudioFormatError(
                f"cannot tell the format of {Path(path).name}: "
                f"pass fmt ({', '.join(SAMPLE_FORMATS)}) and rate"
            )
        fmt = default[0]
    if fmt not in SAMPLE_FORMATS:
        raise AudioFormatError(f"unknown sample format {fmt!r}: use one of {SAMPLE_FORMATS}")
    if rate is None:
        rate = default[1] if default is not None and default[0] == fmt else 8000
    return AudioSpec(fmt, rate)


class AudioFile:
    """A recording opened for reading: its layout and its audio bytes, chunk by chunk.

    WAV files (recognised by their RIFF header, whatever the extension) describe themselves;
    for raw files the layout comes from `fmt`/`rate` or the extension (`.sln` is 8 kHz slin,
    `.ul`/`.ulaw` μ-law, `.al`/`.alaw` A-law, `.sln16` 16 kHz slin, ...).
    """

    def __init__(
        self, path: str | Path, *, rate: int | None = None, fmt: str | None = None
    ) -> None:
        self.path = Path(path)
        self._stream: BinaryIO = self.path.open("rb")
        try:
            self._remaining: int | None = None
            if self._stream.read(4) in (b"RIFF", b"RIFX", b"RF64"):
                self._stream.seek(0)
                header = read_wav_header(self._stream)
                self.spec = header.spec
                self._remaining = header.data_size
            else:
                self._stream.seek(0)
                self.spec = raw_spec(self.path, rate=rate, fmt=fmt)
        except BaseException:
            self._stream.close()
            raise

    def chunks(self, size: int = 4096) -> Iterator[bytes]:
        """The audio bytes, `size` at a time (the last chunk may be shorter or end mid-sample)."""
        while self._remaining is None or self._remaining > 0:
            want = size if self._remaining is None else min(size, self._remaining)
            chunk = self._stream.read(want)
            if not chunk:
                return  # a recording cut short: keep what is there
            if self._remaining is not None:
                self._remaining -= len(chunk)
            yield chunk

    def close(self) -> None:
        self._stream.close()

    def __enter__(self) -> AudioFile:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.close()
