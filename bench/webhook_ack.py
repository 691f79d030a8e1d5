"""Benchmark: signed Twilio SMS webhooks acknowledged per second, and their latency.

The web app runs under gunicorn (3 workers x 8 threads) on
PostgreSQL and Redis. Each request is a real signed Twilio delivery: the signature is checked
with the twilio library, the delivery is written to PostgreSQL and a task is published to Redis
before the 200 goes back. Two measurements:

- saturation: N client connections send back to back; acknowledgements per second;
- fixed rate: requests are sent on a schedule (default 400/s, then 500/s) and latency is
  counted from the moment each request was due, so a stalled server cannot hide its queue
  (no coordinated omission). The goal is p99 under 200 ms at 500/s on 2 cores.

The webhooks run as in production (INBOX_RELAY=true: the request only writes to PostgreSQL and
the relay process queues the bot's work); `--direct` publishes the Celery task from the request
instead. Bot workers are not running by default (`--with-workers N` starts them), so the figures
are those of the acknowledgement path; every stored delivery is counted at the end.

    .venv/bin/python bench/webhook_ack.py [--requests 6000] [--rates 400,500] [--seconds 20]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import platform
import tempfile
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

from _stack import Stack, percentile

from tests import fakes


def signed_requests(url: str, count: int, prefix: str) -> list[bytes]:
    """Whole HTTP requests, signed as Twilio signs them, ready to write to a socket."""
    target = f"{url}/webhooks/twilio/sms"
    host = url.split("://", 1)[1]
    requests = []
    for i in range(count):
        form = fakes.twilio_sms_form(
            f"+8491{i % 10_000_000:07d}",
            f"Phản ánh số {i}: rác ở kiệt {i % 90}",
            f"SM{prefix}{i:026d}",
        )
        body = urlencode(form).encode()
        head = (
            "POST /webhooks/twilio/sms HTTP/1.1\r\n"
            f"Host: {host}\r\n"
            "Content-Type: application/x-www-form-urlencoded\r\n"
            f"X-Twilio-Signature: {fakes.twilio_signature(target, form)}\r\n"
            f"Content-Length: {len(body)}\r\n\r\n"
        )
        requests.append(head.encode() + body)
    return requests


async def _exchange(
    reader: asyncio.StreamReader, writer: asyncio.StreamWriter, request: bytes
) -> int:
    writer.write(request)
    status_line = await reader.readline()
    length = 0
    while True:
        line = await reader.readline()
        if line in (b"\r\n", b""):
            break
        name, _, value = line.partition(b":")
        if name.strip().lower() == b"content-length":
            length = int(value)
    if length:
        await reader.readexactly(length)
    return int(status_line.split()[1]) if status_line else 0


async def _load(
    port: int, work: list[bytes], connections: int, rate: float | None
) -> tuple[list[float], dict[int, int], float]:
    """Send every request over `connections` keep-alive connections; with `rate`, each request
    is sent when it is due and its latency counts from then."""
    latencies: list[float] = []
    statuses: dict[int, int] = {}
    cursor = iter(range(len(work)))
    loop = asyncio.get_running_loop()
    start_at = loop.time() + 0.2

    async def connection() -> None:
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        for i in cursor:
            due = start_at + i / rate if rate else loop.time()
            if rate and due > loop.time():
                await asyncio.sleep(due - loop.time())
            try:
                status = await _exchange(reader, writer, work[i])
            except (OSError, asyncio.IncompleteReadError, ValueError, IndexError):
                status = 0
                writer.close()
                reader, writer = await asyncio.open_connection("127.0.0.1", port)
            latencies.append(loop.time() - due)
            statuses[status] = statuses.get(status, 0) + 1
        writer.close()

    began = loop.time()
    await asyncio.gather(*(connection() for _ in range(connections)))
    return latencies, statuses, loop.time() - (start_at if rate else began)


def saturation(port: int, work: list[bytes], connections: int) -> dict[str, Any]:
    latencies, statuses, elapsed = asyncio.run(_load(port, work, connections, None))
    return summary("saturation", latencies, statuses, elapsed, connections=connections)


def fixed_rate(port: int, work: list[bytes], rate: float, connections: int) -> dict[str, Any]:
    latencies, statuses, elapsed = asyncio.run(_load(port, work, connections, rate))
    return summary(
        "fixed_rate", latencies, statuses, elapsed, connections=connections, target_rate=rate
    )


def summary(
    name: str, latencies: list[float], statuses: dict[int, int], elapsed: float, **extra: float
) -> dict[str, Any]:
    latencies.sort()
    ok = statuses.get(200, 0)
    result = {
        "run": name,
        **extra,
        "requests": len(latencies),
        "acknowledged_200": ok,
        "other_statuses": {str(k): v for k, v in statuses.items() if k != 200},
        "seconds": round(elapsed, 2),
        "acks_per_second": round(ok / elapsed, 1),
        "latency_ms_p50": round(percentile(latencies, 0.50) * 1000, 1),
        "latency_ms_p95": round(percentile(latencies, 0.95) * 1000, 1),
        "latency_ms_p99": round(percentile(latencies, 0.99) * 1000, 1),
        "latency_ms_max": round(latencies[-1] * 1000, 1) if latencies else None,
    }
    print(
        f"{name:>10}: {result['acks_per_second']:>7} acks/s over {result['seconds']} s "
        f"(p50 {result['latency_ms_p50']} ms, p95 {result['latency_ms_p95']} ms, "
        f"p99 {result['latency_ms_p99']} ms, non-200: {result['other_statuses'] or 0})"
    )
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=6000, help="requests in the saturation run")
    parser.add_argument("--connections", type=int, default=32, help="client connections")
    parser.add_argument(
        "--rates", default="400,500", help="requests/s of the fixed-rate runs, comma-separated"
    )
    parser.add_argument("--seconds", type=float, default=20.0, help="length of the fixed-rate run")
    parser.add_argument("--web-workers", type=int, default=3)
    parser.add_argument("--web-threads", type=int, default=8)
    parser.add_argument("--with-workers", type=int, default=0, help="Celery worker processes")
    parser.add_argument("--direct", action="store_true", help="publish from the request")
    parser.add_argument("--out", type=Path, default=Path("bench/results/webhook_ack.json"))
    args = parser.parse_args()
    with (
        tempfile.TemporaryDirectory() as tmp,
        Stack(Path(tmp), web_workers=args.web_workers, web_threads=args.web_threads) as stack,
    ):
        if not args.direct:
            stack.env["INBOX_RELAY"] = "true"
        stack.start_web()
        if not args.direct:
            stack.start_relay()
        if args.with_workers:
            stack.start_workers(args.with_workers)
        port = stack.port
        warm = signed_requests(stack.url, 200, "w")
        saturation(port, warm, 8)
        runs = [saturation(port, signed_requests(stack.url, args.requests, "s"), args.connections)]
        for rate in (float(r) for r in args.rates.split(",")):
            work = signed_requests(stack.url, int(rate * args.seconds), f"r{int(rate)}")
            runs.append(fixed_rate(port, work, rate, args.connections * 2))
        sent_ok = sum(r["acknowledged_200"] for r in runs) + 200
        stored = stack.scalar("SELECT count(*) FROM inbound_deliveries")
        print(f"acknowledged {sent_ok}, stored {stored} deliveries (lost: {sent_ok - stored})")
        report = {
            "benchmark": "webhook_ack",
            "when": datetime.now(UTC).isoformat(timespec="seconds"),
            "machine": {"python": platform.python_version(), "cpus": os.cpu_count()},
            "server": f"gunicorn gthread {args.web_workers}x{args.web_threads}",
            "celery_workers": args.with_workers,
            "dispatch": "direct publish" if args.direct else "relay (LISTEN/NOTIFY)",
            "runs": runs,
            "acknowledged": sent_ok,
            "stored": stored,
        }
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(report, indent=2) + "\n", encoding="utf-8")
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
