"""Benchmark: speech recognition cost on telephone audio, and how many live calls 2 cores carry.

Audio: Vietnamese sentences spoken by espeak-ng, converted by sox to 8 kHz μ-law as on a phone
line (tones and silence when those tools are missing). Models: the synthetic model of the tests
(always) and the real model at VOSK_MODEL_PATH when it is set.

1. CPU seconds per audio second, transcribing a recording (`transcribe_file`) and streaming it in
   20 ms chunks (as the EAGI script feeds a live call).
2. Concurrent real-time streams: N processes (forked after the model is loaded, so they share
   it, as the FastAGI server's forks do) each feed a call's audio at real-time pace; a stream
   keeps up when it finishes within 0.5 s of the audio's end. N doubles until one falls behind.

    .venv/bin/python bench/asr_speed.py [--seconds 60] [--stream-seconds 20] [--max-streams 64]
"""

from __future__ import annotations

import argparse
import json
import multiprocessing
import os
import platform
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from asr.audio import AudioFile  # noqa: E402
from asr.model import LoadedModel, load_model  # noqa: E402
from asr.recognizer import StreamingRecognizer, transcribe_file  # noqa: E402
from tests.fixtures import make_tiny_vosk_model as tiny  # noqa: E402
from tests.fixtures.speech import WORDS  # noqa: E402

SENTENCES = [
    "Xin chào tổng đài, tôi muốn phản ánh rác thải tồn đọng ở kiệt năm mươi hai Phan Đình Phùng.",
    "Đường Lê Lợi đoạn gần cầu Trường Tiền bị sụt lún, xe máy đi qua rất nguy hiểm.",
    "Khu vực phường Vỹ Dạ mất điện từ sáng đến giờ, chưa thấy ai đến sửa.",
    "Số điện thoại của tôi là không chín không năm một hai ba bốn năm sáu.",
    "Tôi muốn đăng ký gói hỗ trợ, số căn cước là không bốn sáu không tám chín.",
]
CHUNK_MS = 20


def make_audio(work: Path, seconds: float) -> Path:
    """About `seconds` of 8 kHz μ-law WAV."""
    out = work / "call.wav"
    if shutil.which("espeak-ng") and shutil.which("sox"):
        parts = []
        total = 0.0
        i = 0
        while total < seconds:
            part = work / f"s{i}.wav"
            subprocess.run(
                ["espeak-ng", "-v", "vi", "-w", str(part), SENTENCES[i % len(SENTENCES)]],
                check=True,
            )
            total += float(
                subprocess.run(["soxi", "-D", str(part)], capture_output=True, check=True).stdout
            )
            parts.append(str(part))
            i += 1
        subprocess.run(
            ["sox", *parts, "-r", "8000", "-c", "1", "-e", "mu-law", "-b", "8", str(out)],
            check=True,
        )
        return out
    print("espeak-ng or sox missing: using tones and silence", file=sys.stderr)
    import wave

    pcm = b""
    while len(pcm) < seconds * 16000:
        pcm += bytes(tiny._tone(8000, 1.0, 300.0 + len(pcm) % 700)) + b"\0\0" * 4000
    with wave.open(str(out), "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(8000)
        w.writeframes(pcm)
    return out


def read_audio(path: Path) -> tuple[bytes, str, int]:
    with AudioFile(path) as audio:
        return b"".join(audio.chunks(1 << 16)), audio.spec.fmt, audio.spec.rate


def cost(model: LoadedModel, path: Path) -> dict[str, float]:
    started = time.perf_counter()
    transcript = transcribe_file(
        path, model.model, model.info.sample_rate, supports_grammar=model.info.supports_grammar
    )
    wall = time.perf_counter() - started
    data, fmt, rate = read_audio(path)
    chunk = rate * CHUNK_MS // 1000 * (1 if fmt != "slin16" else 2)
    cpu0 = time.process_time()
    recognizer = StreamingRecognizer(
        model.model,
        model.info.sample_rate,
        input_rate=rate,
        input_format=fmt,  # type: ignore[arg-type]
    )
    for i in range(0, len(data), chunk):
        recognizer.feed_all(data[i : i + chunk])
    recognizer.finish()
    stream_cpu = time.process_time() - cpu0
    return {
        "audio_s": round(transcript.audio_s, 2),
        "file_cpu_s": round(transcript.cpu_s, 3),
        "file_cpu_per_audio_s": round(transcript.cpu_s / transcript.audio_s, 4),
        "file_wall_s": round(wall, 3),
        "stream_cpu_per_audio_s": round(stream_cpu / transcript.audio_s, 4),
        "words": len(transcript.words),
    }


def _stream(model: LoadedModel, data: bytes, fmt: str, rate: int, seconds: float) -> float:
    """Feed `seconds` of audio at real-time pace; return how late the last result came."""
    width = 1 if fmt != "slin16" else 2
    chunk = rate * CHUNK_MS // 1000 * width
    needed = int(seconds * rate * width)
    audio = (data * (needed // len(data) + 1))[:needed]
    recognizer = StreamingRecognizer(
        model.model,
        model.info.sample_rate,
        input_rate=rate,
        input_format=fmt,  # type: ignore[arg-type]
    )
    start = time.perf_counter()
    for n, i in enumerate(range(0, len(audio), chunk)):
        due = start + n * CHUNK_MS / 1000
        pause = due - time.perf_counter()
        if pause > 0:
            time.sleep(pause)
        recognizer.feed_all(audio[i : i + chunk])
    recognizer.finish()
    return time.perf_counter() - (start + seconds)


_SHARED: dict[str, Any] = {}  # the loaded model and audio, inherited by the forked streams


def _stream_child(seconds: float, results: Any) -> None:
    results.put(_stream(_SHARED["model"], *_SHARED["audio"], seconds))


def concurrent(model: LoadedModel, path: Path, seconds: float, max_streams: int) -> list[dict]:
    _SHARED.update(model=model, audio=read_audio(path))
    ctx = multiprocessing.get_context("fork")
    rows = []
    n = 1
    while n <= max_streams:
        results = ctx.Queue()
        procs = [ctx.Process(target=_stream_child, args=(seconds, results)) for _ in range(n)]
        for proc in procs:
            proc.start()
        lags = sorted(results.get() for _ in procs)
        for proc in procs:
            proc.join()
        kept_up = sum(lag <= 0.5 for lag in lags)
        row = {"streams": n, "kept_up": kept_up, "max_lag_s": round(lags[-1], 3)}
        rows.append(row)
        print(f"    {n:3d} streams: {kept_up} kept up, worst lag {lags[-1]:.2f} s", flush=True)
        if kept_up < n:
            break
        n *= 2
    return rows


def measure(name: str, model: LoadedModel, audio: Path, args: argparse.Namespace) -> dict:
    print(f"{name}: {model.info.path} (grammars: {model.info.supports_grammar})", flush=True)
    figures = cost(model, audio)
    print(
        f"  {figures['audio_s']} s of audio: {figures['file_cpu_per_audio_s']} CPU s per audio s"
        f" (recording), {figures['stream_cpu_per_audio_s']} (20 ms stream chunks)",
        flush=True,
    )
    rows = concurrent(model, audio, args.stream_seconds, args.max_streams)
    sustained = max((r["streams"] for r in rows if r["kept_up"] == r["streams"]), default=0)
    print(f"  real-time streams sustained: {sustained} (tried up to {rows[-1]['streams']})")
    return {"model": str(model.info.path), **figures, "streams": rows, "sustained": sustained}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=60.0, help="audio length for the cost")
    parser.add_argument("--stream-seconds", type=float, default=20.0)
    parser.add_argument("--max-streams", type=int, default=64)
    parser.add_argument("--out", type=Path, default=ROOT / "bench/results/asr_speed.json")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        audio = make_audio(work, args.seconds)
        tiny.write_model(str(work / "tiny"), WORDS, sample_rate=16000)
        results: dict[str, Any] = {
            "cpus": os.cpu_count(),
            "machine": platform.machine(),
            "synthetic": measure("synthetic model", load_model(work / "tiny"), audio, args),
        }
        real = os.environ.get("VOSK_MODEL_PATH")
        if real:
            results["real"] = measure("real model", load_model(real), audio, args)
        else:
            print("VOSK_MODEL_PATH is not set: no real model measured")
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(results, indent=2) + "\n")
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
