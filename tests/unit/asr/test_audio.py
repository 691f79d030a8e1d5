"""Decoding, mixing, levelling and resampling telephone audio (asr.audio)."""

from __future__ import annotations

import struct
from pathlib import Path

import numpy as np
import pytest

from asr.audio import (
    ALAW_TO_LINEAR,
    ULAW_TO_LINEAR,
    AudioFile,
    AudioFormatError,
    AudioSpec,
    PcmConverter,
    SampleFormat,
    convert,
    decode,
    encode_alaw,
    encode_ulaw,
    raw_spec,
)

RNG = np.random.default_rng(7)


def pcm(samples: np.ndarray) -> bytes:
    return np.clip(np.rint(samples), -32768, 32767).astype("<i2").tobytes()


def samples_of(data: bytes) -> np.ndarray:
    return np.frombuffer(data, dtype="<i2").astype(np.int64)


def sine(rate: int, seconds: float, freq: float, amp: float) -> np.ndarray:
    return amp * np.sin(2 * np.pi * freq * np.arange(int(rate * seconds)) / rate)


def speechlike(rate: int, channels: int = 1) -> np.ndarray:
    """Quiet hiss, then a louder burst, then a louder one: every levelling branch runs."""
    parts = [
        RNG.normal(0, 60, int(rate * 0.15)),
        sine(rate, 0.2, 440, 1500) + RNG.normal(0, 200, int(rate * 0.2)),
        sine(rate, 0.25, 1200, 9000) + RNG.normal(0, 500, int(rate * 0.25)),
    ]
    mono = np.concatenate(parts)
    if channels == 1:
        return mono
    return np.stack([mono * (0.5 + 0.5 * c) for c in range(channels)], axis=1).reshape(-1)


def encode(samples: np.ndarray, fmt: SampleFormat) -> bytes:
    linear = np.clip(np.rint(samples), -32768, 32767).astype(np.int16)
    if fmt == "ulaw":
        return encode_ulaw(linear)
    if fmt == "alaw":
        return encode_alaw(linear)
    return linear.astype("<i2").tobytes()


def wav(
    tag: int,
    channels: int,
    rate: int,
    bits: int,
    data: bytes,
    *,
    fmt_extra: bytes = b"",
    before: tuple[tuple[bytes, bytes], ...] = (),
    after: bytes = b"",
    data_size: int | None = None,
    block_align: int | None = None,
) -> bytes:
    """A WAV file written by hand, with chunks before and after data and a header to lie in."""
    align = channels * bits // 8 if block_align is None else block_align
    body = struct.pack("<HHIIHH", tag, channels, rate, rate * align, align, bits) + fmt_extra
    chunks = [b"fmt " + struct.pack("<I", len(body)) + body]
    for chunk_id, payload in before:
        pad = b"\x00" if len(payload) % 2 else b""
        chunks.append(chunk_id + struct.pack("<I", len(payload)) + payload + pad)
    size = len(data) if data_size is None else data_size
    chunks.append(b"data" + struct.pack("<I", size) + data + after)
    riff = b"".join(chunks)
    return b"RIFF" + struct.pack("<I", 4 + len(riff)) + b"WAVE" + riff


def read_all(path: Path) -> tuple[AudioSpec, bytes]:
    with AudioFile(path) as audio:
        return audio.spec, b"".join(audio.chunks(5))


# --- G.711 ---------------------------------------------------------------------------------


def test_ulaw_known_values() -> None:
    assert ULAW_TO_LINEAR[0xFF] == 0
    assert ULAW_TO_LINEAR[0x7F] == 0  # "negative zero"
    assert ULAW_TO_LINEAR[0x00] == -32124
    assert ULAW_TO_LINEAR[0x80] == 32124
    assert ULAW_TO_LINEAR[0xFE] == 8  # the finest step, next to zero
    assert ULAW_TO_LINEAR[0x7E] == -8
    assert list(decode(b"\xff\x00\x80", "ulaw")) == [0, -32124, 32124]
    assert encode_ulaw(np.array([0, 32767, -32768, 8], dtype=np.int16)) == b"\xff\x80\x00\xfe"


def test_alaw_known_values() -> None:
    assert ALAW_TO_LINEAR[0xD5] == 8
    assert ALAW_TO_LINEAR[0x55] == -8
    assert ALAW_TO_LINEAR[0xAA] == 32256
    assert ALAW_TO_LINEAR[0x2A] == -32256
    assert list(decode(b"\xd5\x55", "alaw")) == [8, -8]
    assert encode_alaw(np.array([0, -1, 32767, -32768], dtype=np.int16)) == b"\xd5\x55\xaa\x2a"


def test_g711_round_trip_every_code() -> None:
    codes = bytes(range(256))
    assert encode_alaw(decode(codes, "alaw")) == codes
    ulaw = encode_ulaw(decode(codes, "ulaw"))
    assert ulaw == codes.replace(b"\x7f", b"\xff")  # both zeros encode as positive zero
    # Tables are monotonic within each sign: a proper companding curve.
    positive = np.sort(ULAW_TO_LINEAR[ULAW_TO_LINEAR > 0])
    assert len(set(positive.tolist())) == 127


def test_slin16_is_little_endian_and_needs_whole_samples() -> None:
    assert list(decode(b"\x01\x00\xff\xff\x00\x80", "slin16")) == [1, -1, -32768]
    with pytest.raises(AudioFormatError):
        decode(b"\x01", "slin16")


# --- Streaming conversion ------------------------------------------------------------------


@pytest.mark.parametrize("fmt", ["slin16", "ulaw", "alaw"])
@pytest.mark.parametrize(
    ("in_rate", "out_rate", "channels"),
    [(8000, 16000, 1), (8000, 16000, 2), (48000, 16000, 1), (11025, 16000, 1)],
)
def test_output_does_not_depend_on_chunk_size(
    fmt: SampleFormat, in_rate: int, out_rate: int, channels: int
) -> None:
    data = encode(speechlike(in_rate, channels), fmt)
    whole = convert(data, fmt, in_rate, out_rate, channels=channels)
    frames = len(data) // AudioSpec(fmt, in_rate, channels).frame_bytes
    assert len(whole) == 2 * -(-frames * out_rate // in_rate)
    for size in (1, 7, 160, 4096):
        if size == 1 and in_rate > 16000:
            continue  # same code path as 7-byte chunks; 1-byte chunks of 48 kHz audio are slow
        converter = PcmConverter(fmt, in_rate, out_rate, channels=channels)
        out = b"".join(converter.convert(data[i : i + size]) for i in range(0, len(data), size))
        assert out + converter.flush() == whole, f"{size}-byte chunks"


def test_upsampling_keeps_timing_and_waveform() -> None:
    tone_8k = sine(8000, 1.0, 1000, 8000)
    out = samples_of(convert(pcm(tone_8k), "slin16", 8000, 16000, normalize=False))
    assert out.size == 16000
    expected = sine(16000, 1.0, 1000, 8000)
    # No delay and no distortion beyond the edges: within a few LSB of the ideal 16 kHz tone.
    assert np.abs(out[64:-64] - expected[64:-64]).max() < 4


def test_downsampling_removes_content_above_the_new_nyquist() -> None:
    audible = sine(48000, 1.0, 1000, 8000)
    alias = sine(48000, 1.0, 12000, 8000)  # would fold back to 4 kHz
    out = samples_of(convert(pcm(audible + alias), "slin16", 48000, 16000, normalize=False))
    assert out.size == 16000
    assert np.abs(out[64:-64] - sine(16000, 1.0, 1000, 8000)[64:-64]).max() < 4


def test_a_trailing_partial_sample_is_dropped() -> None:
    assert convert(b"\x10\x00\x20", normalize=False) == convert(b"\x10\x00", normalize=False)


# --- Levels --------------------------------------------------------------------------------


def test_clipping_saturates_instead_of_wrapping() -> None:
    # A full-scale square wave: the low-pass rings ~9% above full scale on every edge.
    square = np.where(np.arange(8000) // 20 % 2 == 0, 32767.0, -32768.0)
    out = samples_of(convert(pcm(square), "slin16", 8000, 16000))
    assert out.max() == 32767 and out.min() == -32768
    # Wrap-around would put negative samples in the middle of positive half-periods.
    positive_cores = out.reshape(-1, 80)[:, 8:32]
    assert (positive_cores > 0).all()


def test_loud_stereo_mix_does_not_overflow() -> None:
    both_full = np.full(200, 32767.0)
    stereo = np.stack([both_full, both_full], axis=1).reshape(-1)
    out = samples_of(convert(pcm(stereo), "slin16", 8000, 8000, channels=2))
    assert (out == 32767).all()


@pytest.mark.parametrize(
    ("peak", "expected_gain"),
    [
        (1000.0, 4.0),  # quiet speech: capped at 4x, not pushed to the 16384 target
        (8192.0, 2.0),  # raised to the target peak
        (20000.0, 1.0),  # loud enough: left alone, never attenuated
        (300.0, 1.0),  # below the gate: hiss is not amplified
    ],
)
def test_quiet_audio_gets_bounded_gain(peak: float, expected_gain: float) -> None:
    quiet = sine(8000, 1.0, 440, peak)
    out = samples_of(convert(pcm(quiet), "slin16", 8000, 8000))
    assert out.max() == pytest.approx(np.rint(quiet).max() * expected_gain, abs=expected_gain)


def test_gain_only_steps_down_and_silence_stays_silent() -> None:
    silent = np.zeros(8000)
    assert not samples_of(convert(pcm(silent))).any()
    # Quiet then loud: the quiet part is boosted 4x, the loud part is not boosted at all.
    audio = np.concatenate([sine(8000, 0.5, 440, 2000), sine(8000, 0.5, 440, 30000)])
    out = samples_of(convert(pcm(audio), "slin16", 8000, 8000))
    assert np.abs(out[:4000]).max() == pytest.approx(8000, abs=8)
    assert np.abs(out[4000:]).max() == pytest.approx(30000, abs=2)


def test_without_normalisation_levels_are_untouched() -> None:
    quiet = pcm(sine(8000, 0.5, 440, 1000))
    assert convert(quiet, "slin16", 8000, 8000, normalize=False) == quiet


def test_stereo_is_mixed_to_mono() -> None:
    left = sine(8000, 0.1, 440, 6000)
    right = RNG.normal(0, 3000, left.size)
    stereo = np.stack([left, right], axis=1).reshape(-1)
    out = samples_of(convert(pcm(stereo), "slin16", 8000, 8000, channels=2, normalize=False))
    assert np.abs(out - (np.rint(left) + np.clip(np.rint(right), -32768, 32767)) / 2).max() <= 0.5
    opposite = np.stack([left, -left], axis=1).reshape(-1)
    assert not samples_of(convert(pcm(opposite), "slin16", 8000, 8000, channels=2)).any()


# --- WAV and raw files ---------------------------------------------------------------------


@pytest.mark.parametrize(
    ("tag", "bits", "fmt"), [(1, 16, "slin16"), (7, 8, "ulaw"), (6, 8, "alaw")]
)
def test_wav_headers_are_parsed(tmp_path: Path, tag: int, bits: int, fmt: SampleFormat) -> None:
    data = bytes(range(256)) * 4
    path = tmp_path / "call.wav"
    path.write_bytes(
        wav(
            tag,
            1,
            8000,
            bits,
            data,
            fmt_extra=b"\x00\x00",  # sox and Asterisk write an 18-byte fmt for G.711
            before=((b"fact", struct.pack("<I", len(data))), (b"LIST", b"odd")),
            after=b"LIST\x04\x00\x00\x00junk",
        )
    )
    spec, audio = read_all(path)
    assert spec == AudioSpec(fmt, 8000, 1)
    assert audio == data  # chunks before data skipped (with padding), none after it read


def test_wave_format_extensible_and_stereo(tmp_path: Path) -> None:
    guid_tail = b"\x00\x00\x00\x00\x10\x00\x80\x00\x00\xaa\x00\x38\x9b\x71"
    extra = struct.pack("<HHI", 22, 8, 0x3) + struct.pack("<H", 7) + guid_tail
    path = tmp_path / "stereo.wav"
    path.write_bytes(wav(0xFFFE, 2, 8000, 8, b"\xff\x00" * 10, fmt_extra=extra))
    spec, audio = read_all(path)
    assert spec == AudioSpec("ulaw", 8000, 2)
    assert audio == b"\xff\x00" * 10


def test_unfinished_wav_header_reads_to_end_of_file(tmp_path: Path) -> None:
    path = tmp_path / "crashed.wav"
    path.write_bytes(wav(1, 1, 8000, 16, b"\x01\x00" * 100, data_size=0))
    assert read_all(path)[1] == b"\x01\x00" * 100


def test_truncated_data_keeps_what_is_there(tmp_path: Path) -> None:
    path = tmp_path / "cut.wav"
    path.write_bytes(wav(7, 1, 8000, 8, b"\xff" * 100, data_size=8000))
    assert read_all(path)[1] == b"\xff" * 100


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (wav(0x31, 1, 8000, 0, b"\x00" * 65, block_align=65), "GSM"),
        (wav(1, 1, 8000, 8, b"\x80" * 10), "8-bit PCM"),
        (wav(3, 1, 8000, 32, b"\x00" * 8), "IEEE float"),
        (wav(1, 1, 8000, 16, b"\x00" * 8, block_align=4), "block align"),
        (b"RIFF\x24\x00\x00\x00WAVEfmt \x10\x00\x00\x00\x01\x00", "truncated"),
        (b"RIFF\x04\x00\x00\x00WAVE", "no fmt chunk"),
        (wav(1, 1, 8000, 16, b"")[: 12 + 8 + 16], "no data chunk"),
        (b"RIFF\x0c\x00\x00\x00WAVEdata\x00\x00\x00\x00", "data chunk before fmt"),
        (b"RIFX\x04\x00\x00\x00WAVE", "RIFX"),
    ],
)
def test_corrupt_or_unsupported_wav_is_a_clear_error(
    tmp_path: Path, content: bytes, message: str
) -> None:
    path = tmp_path / "bad.wav"
    path.write_bytes(content)
    with pytest.raises(AudioFormatError, match=message):
        AudioFile(path)


def test_raw_formats_from_asterisk_extensions() -> None:
    assert raw_spec("msg.sln") == AudioSpec("slin16", 8000)
    assert raw_spec("msg.sln16") == AudioSpec("slin16", 16000)
    assert raw_spec("msg.ul") == AudioSpec("ulaw", 8000)
    assert raw_spec("msg.ulaw") == AudioSpec("ulaw", 8000)
    assert raw_spec("msg.al") == AudioSpec("alaw", 8000)
    assert raw_spec("msg.ALAW") == AudioSpec("alaw", 8000)
    assert raw_spec("capture.bin", fmt="ulaw") == AudioSpec("ulaw", 8000)
    assert raw_spec("capture.bin", fmt="slin16", rate=16000) == AudioSpec("slin16", 16000)
    with pytest.raises(AudioFormatError, match="GSM"):
        raw_spec("msg.gsm")
    with pytest.raises(AudioFormatError, match="pass fmt"):
        raw_spec("capture.bin")
    with pytest.raises(AudioFormatError, match="unknown sample format"):
        raw_spec("capture.bin", fmt="opus")


def test_raw_file_is_read_as_is(tmp_path: Path) -> None:
    path = tmp_path / "msg.ul"
    path.write_bytes(b"\xff\x7f\x00" * 7)
    spec, audio = read_all(path)
    assert spec == AudioSpec("ulaw", 8000)
    assert audio == b"\xff\x7f\x00" * 7
