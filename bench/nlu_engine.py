"""Benchmark: the embedded NLU engine on one core: messages per second, p50/p99 latency of a
full parse (intent, category, entities), and training time.

    .venv/bin/python bench/nlu_engine.py [--rounds 5] [--out bench/results/nlu_engine.json]

Messages are the held-out set (realistic, never trained on), parsed one at a time, as a webhook
would. The process is pinned to one CPU.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

from bot.nlu.data import DATA_DIR, HOLDOUT_DIR, load_directory
from bot.nlu.engine import EmbeddedNLU, train_model


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=5, help="passes over the messages")
    parser.add_argument("--out", type=Path, default=Path("bench/results/nlu_engine.json"))
    args = parser.parse_args()
    if hasattr(os, "sched_setaffinity"):
        os.sched_setaffinity(0, {sorted(os.sched_getaffinity(0))[0]})

    data = load_directory(DATA_DIR)
    train_times = []
    for _ in range(3):
        started = time.perf_counter()
        train_model(data)
        train_times.append(time.perf_counter() - started)
    print(
        f"training on {len(data.examples)} examples: best {min(train_times):.2f} s, "
        f"median {statistics.median(train_times):.2f} s"
    )

    with tempfile.TemporaryDirectory() as var:
        engine = EmbeddedNLU.load_or_train(Path(var))
    messages = [e.text for e in load_directory(HOLDOUT_DIR).examples]
    for text in messages[:50]:
        engine.parse(text)  # warm up
    latencies = []
    started = time.perf_counter()
    for _ in range(args.rounds):
        for text in messages:
            t0 = time.perf_counter()
            engine.parse(text)
            latencies.append(time.perf_counter() - t0)
    elapsed = time.perf_counter() - started
    latencies.sort()
    result = {
        "benchmark": "nlu_engine",
        "when": datetime.now(UTC).isoformat(timespec="seconds"),
        "machine": {"python": platform.python_version(), "cpus_used": 1},
        "training_examples": len(data.examples),
        "training_seconds_best": round(min(train_times), 3),
        "training_seconds_median": round(statistics.median(train_times), 3),
        "messages": len(latencies),
        "messages_per_second": round(len(latencies) / elapsed, 1),
        "latency_ms_p50": round(latencies[len(latencies) // 2] * 1000, 3),
        "latency_ms_p99": round(latencies[int(len(latencies) * 0.99) - 1] * 1000, 3),
        "latency_ms_max": round(latencies[-1] * 1000, 3),
    }
    print(
        f"parse: {result['messages_per_second']} messages/s on one core, "
        f"p50 {result['latency_ms_p50']} ms, p99 {result['latency_ms_p99']} ms"
    )
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(result, indent=2) + "\n", encoding="utf-8")
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
