"""Benchmark: simultaneous calls carried by `hotline agi serve`, and how long the server takes
to answer each AGI command.

The server runs as a real process (SQLite, INFO logging) with the `echo` diagnostic flow. N
simulated callers (asyncio, one TCP connection each, speaking Asterisk's side of FastAGI)
connect at once; each call is about 23 commands (ANSWER, VERBOSE, a prompt, 6 rounds of GET
DATA / STREAM FILE / SAY DIGITS, goodbye, HANGUP). Speech is excluded. The server's think time
is the gap between our answer (or the end of the header) and its next command. Each scenario
is MEDIA_MS/RAMP_S: every prompt/input answer is held MEDIA_MS, standing in for playback and
the caller's typing (0 = back to back, the saturation case), and the calls arrive at once
(RAMP_S 0) or spread over RAMP_S seconds. CPU: the server and its call processes (rusage of
reaped children) and the machine's utilisation from /proc/stat.

The goal: 100 simultaneous calls with p95 under 50 ms on 2 cores.

    .venv/bin/python bench/agi_load.py [--calls 100] [--rounds 6] [--scenarios 0/0,100/0,100/2]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import platform
import resource
import signal
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from tests.fakes import free_port  # noqa: E402
from tests.ivr.agi_peer import AgiPeer  # noqa: E402

INPUT_OR_MEDIA = ("STREAM FILE", "SAY DIGITS", "GET DATA", "WAIT FOR DIGIT", "RECORD FILE")


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    if not ordered:
        return float("nan")
    return ordered[min(len(ordered) - 1, max(0, round(q * len(ordered)) - 1))]


def _answer(line: str, round_no: int) -> str:
    if line.startswith("GET DATA"):
        return f"200 result={round_no % 9 + 1}{round_no}"
    if line.startswith(("STREAM FILE", "SAY DIGITS")):
        return "200 result=0 endpos=8000"
    return "200 result=1" if not line.startswith("ANSWER") else "200 result=0"


async def one_call(
    port: int, n: int, rounds: int, media_s: float, delay_s: float = 0.0
) -> dict[str, Any]:
    await asyncio.sleep(delay_s)
    header = AgiPeer(port, caller=f"+8490{n:07d}").header("echo", (str(rounds),))
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    writer.write(("".join(f"{k}: {v}\n" for k, v in header.items()) + "\n").encode())
    await writer.drain()
    sent = time.perf_counter()
    gaps: list[float] = []
    first: float | None = None
    commands = 0
    round_no = 0
    line = ""
    while True:
        try:
            raw = await reader.readline()
        except ConnectionResetError:  # closed with our HANGUP line unread: the call is over
            break
        arrived = time.perf_counter()
        if not raw:
            break
        line = raw.decode().strip()
        if first is None:
            first = arrived - sent
        else:
            gaps.append(arrived - sent)
        commands += 1
        if line.startswith("GET DATA"):
            round_no += 1
        if media_s and line.startswith(INPUT_OR_MEDIA):
            await asyncio.sleep(media_s)
        writer.write((_answer(line, round_no) + "\n").encode())
        await writer.drain()
        sent = time.perf_counter()
        if line == "HANGUP":
            writer.write(b"HANGUP\n")
    writer.close()
    return {"header_s": first, "gaps": gaps, "commands": commands, "ok": line == "HANGUP"}


def _cpu_ticks() -> tuple[int, int]:
    fields = [int(x) for x in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]]
    idle = fields[3] + fields[4]
    return sum(fields) - idle, sum(fields)


async def run_wave(
    port: int, calls: int, rounds: int, media_s: float, ramp_s: float
) -> dict[str, Any]:
    busy0, total0 = _cpu_ticks()
    started = time.perf_counter()
    results = await asyncio.gather(
        *(one_call(port, n, rounds, media_s, ramp_s * n / calls) for n in range(calls)),
        return_exceptions=True,
    )
    wall = time.perf_counter() - started
    busy1, total1 = _cpu_ticks()
    done = [r for r in results if isinstance(r, dict)]
    header = [r["header_s"] for r in done if r["header_s"] is not None]
    gaps = [g for r in done for g in r["gaps"]]
    think = gaps + header
    ms = 1000.0
    return {
        "calls": calls,
        "media_ms": round(media_s * ms),
        "arrivals_over_s": ramp_s,
        "calls_carried": sum(1 for r in done if r["ok"]),
        "errors": [repr(r) for r in results if not isinstance(r, dict)][:5],
        "commands": sum(r["commands"] for r in done),
        "commands_per_call": round(sum(r["commands"] for r in done) / max(1, len(done)), 1),
        "wall_s": round(wall, 2),
        "think_ms": {
            "p50": round(percentile(think, 0.50) * ms, 2),
            "p95": round(percentile(think, 0.95) * ms, 2),
            "p99": round(percentile(think, 0.99) * ms, 2),
            "max": round(max(think) * ms, 2) if think else None,
        },
        "command_gaps_ms": {  # think time without the call set-up
            "p50": round(percentile(gaps, 0.50) * ms, 2),
            "p95": round(percentile(gaps, 0.95) * ms, 2),
            "p99": round(percentile(gaps, 0.99) * ms, 2),
        },
        "header_to_first_command_ms": {
            "p50": round(percentile(header, 0.50) * ms, 2),
            "p95": round(percentile(header, 0.95) * ms, 2),
            "max": round(max(header) * ms, 2) if header else None,
        },
        "machine_cpu_percent": round(100.0 * (busy1 - busy0) / max(1, total1 - total0), 1),
    }


def start_server(workdir: Path, max_calls: int) -> tuple[subprocess.Popen[bytes], int, Path]:
    port = free_port()
    log = workdir / "agi.log"
    env = {k: v for k, v in os.environ.items() if not k.startswith(("DATABASE_", "CELERY_"))}
    env.update(HOTLINE_VAR_DIR=str(workdir / "var"), PYTHONPATH=str(ROOT))
    command = [sys.executable, "-m", "intake", "agi", "serve", "--port", str(port)]
    command += ["--max-calls", str(max_calls), "--log-level", "INFO"]
    with log.open("wb") as out:
        proc = subprocess.Popen(command, cwd=workdir, env=env, stdout=out, stderr=out)
    deadline = time.monotonic() + 60
    while "FastAGI on" not in log.read_text():
        if proc.poll() is not None or time.monotonic() > deadline:
            raise SystemExit("hotline agi serve did not start:\n" + log.read_text())
        time.sleep(0.05)
    return proc, port, log


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--calls", type=int, default=100)
    parser.add_argument("--rounds", type=int, default=6, help="echo rounds per call")
    parser.add_argument(
        "--scenarios",
        default="0/0,100/0,100/2",
        help="comma-separated MEDIA_MS/RAMP_S: prompt time, and seconds over which calls arrive",
    )
    parser.add_argument("--out", type=Path, default=ROOT / "bench" / "results" / "agi_load.json")
    args = parser.parse_args()

    with tempfile.TemporaryDirectory(prefix="agi-bench-") as tmp:
        children_before = resource.getrusage(resource.RUSAGE_CHILDREN)
        self_before = resource.getrusage(resource.RUSAGE_SELF)
        proc, port, log = start_server(Path(tmp), max_calls=max(200, args.calls))
        scenarios = []
        try:
            for scenario in args.scenarios.split(","):
                media_ms, ramp_s = (float(x) for x in scenario.split("/"))
                wave = asyncio.run(run_wave(port, args.calls, args.rounds, media_ms / 1000, ramp_s))
                scenarios.append(wave)
                print(json.dumps(wave, ensure_ascii=False))
        finally:
            proc.send_signal(signal.SIGTERM)
            proc.wait(timeout=60)
        server_log = log.read_text()
        children = resource.getrusage(resource.RUSAGE_CHILDREN)
        client = resource.getrusage(resource.RUSAGE_SELF)
    report = {
        "benchmark": "agi_load",
        "at": datetime.now(UTC).isoformat(timespec="seconds"),
        "machine": {"python": platform.python_version(), "cpus": os.cpu_count()},
        "goal": "100 simultaneous calls, p95 server think time under 50 ms on 2 cores",
        "scenarios": scenarios,
        "server_cpu_s": round(
            children.ru_utime
            + children.ru_stime
            - children_before.ru_utime
            - children_before.ru_stime,
            2,
        ),
        "client_cpu_s": round(
            client.ru_utime + client.ru_stime - self_before.ru_utime - self_before.ru_stime, 2
        ),
        "server_errors_logged": server_log.count(" ERROR "),
    }
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(report, indent=2, ensure_ascii=False) + "\n")
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
