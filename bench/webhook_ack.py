"""Benchmark: signed Twilio SMS webhooks acknowledged per second, and their latency.

The web app runs under gunicorn (2 workers x 8 threads, as `docker-compose.yml` runs it) on
PostgreSQL and Redis. Each request is a real signed Twilio delivery: the signature is checked
with the twilio library, the delivery is written to PostgreSQL and a task is published to Redis
before the 200 goes back. Two measurements:

- saturation: N client threads send back to back; acknowledgements per second;
- fixed rate: requests are sent on a schedule (default 500/s) and latency is counted from the
  moment each request was due, so a stalled server cannot hide its queue (no coordinated
  omission). The goal is p99 under 200 ms at 500/s on 2 cores.

Bot workers are not running by default (`--with-workers N` starts them), so the figures are
those of the acknowledgement path; every stored delivery is counted at the end.

    .venv/bin/python bench/webhook_ack.py [--requests 6000] [--rate 500] [--seconds 20]
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import platform
import tempfile
import threading
import time
from datetime import UTC, datetime
from pathlib import Path
from urllib.parse import urlencode

from _stack import Stack, percentile

from tests import fakes


def signed_requests(url: str, count: int, prefix: str) -> list[tuple[bytes, dict[str, str]]]:
    target = f"{url}/webhooks/twilio/sms"
    bodies = []
    for i in range(count):
        form = fakes.twilio_sms_form(
            f"+8491{i % 10_000_000:07d}",
            f"Phản ánh số {i}: rác ở kiệt {i % 90}",
            f"SM{prefix}{i:026d}",
        )
        headers = {
            "Content-Type": "application/x-www-form-urlencoded",
            "X-Twilio-Signature": fakes.twilio_signature(target, form),
        }
        bodies.append((urlencode(form).encode(), headers))
    return bodies


class Client:
    """One keep-alive connection; returns (status, seconds)."""

    def __init__(self, port: int) -> None:
        self.port = port
        self.conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)

    def post(self, body: bytes, headers: dict[str, str]) -> int:
        try:
            self.conn.request("POST", "/webhooks/twilio/sms", body=body, headers=headers)
            response = self.conn.getresponse()
            response.read()
            return response.status
        except (http.client.HTTPException, OSError):
            self.conn.close()
            self.conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=30)
            return 0


def saturation(
    port: int, work: list[tuple[bytes, dict[str, str]]], threads: int
) -> dict[str, float]:
    latencies: list[float] = []
    statuses: dict[int, int] = {}
    lock = threading.Lock()
    cursor = iter(range(len(work)))

    def run() -> None:
        client = Client(port)
        mine: list[float] = []
        codes: dict[int, int] = {}
        for i in cursor:
            started = time.perf_counter()
            status = client.post(*work[i])
            mine.append(time.perf_counter() - started)
            codes[status] = codes.get(status, 0) + 1
        with lock:
            latencies.extend(mine)
            for k, v in codes.items():
                statuses[k] = statuses.get(k, 0) + v

    pool = [threading.Thread(target=run) for _ in range(threads)]
    started = time.perf_counter()
    for t in pool:
        t.start()
    for t in pool:
        t.join()
    elapsed = time.perf_counter() - started
    return summary("saturation", latencies, statuses, elapsed, threads=threads)


def fixed_rate(
    port: int, work: list[tuple[bytes, dict[str, str]]], rate: float, threads: int
) -> dict[str, float]:
    latencies: list[float] = []
    statuses: dict[int, int] = {}
    lock = threading.Lock()
    start_at = time.perf_counter() + 0.5
    cursor = iter(range(len(work)))

    def run() -> None:
        client = Client(port)
        mine: list[float] = []
        codes: dict[int, int] = {}
        for i in cursor:
            due = start_at + i / rate
            wait = due - time.perf_counter()
            if wait > 0:
                time.sleep(wait)
            status = client.post(*work[i])
            mine.append(time.perf_counter() - due)
            codes[status] = codes.get(status, 0) + 1
        with lock:
            latencies.extend(mine)
            for k, v in codes.items():
                statuses[k] = statuses.get(k, 0) + v

    pool = [threading.Thread(target=run) for _ in range(threads)]
    for t in pool:
        t.start()
    for t in pool:
        t.join()
    elapsed = time.perf_counter() - start_at
    return summary("fixed_rate", latencies, statuses, elapsed, threads=threads, target_rate=rate)


def summary(
    name: str, latencies: list[float], statuses: dict[int, int], elapsed: float, **extra: float
) -> dict[str, float]:
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
    return result  # type: ignore[return-value]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=6000, help="requests in the saturation run")
    parser.add_argument("--threads", type=int, default=32, help="client connections")
    parser.add_argument(
        "--rate", type=float, default=500.0, help="requests/s in the fixed-rate run"
    )
    parser.add_argument("--seconds", type=float, default=20.0, help="length of the fixed-rate run")
    parser.add_argument("--web-workers", type=int, default=2)
    parser.add_argument("--web-threads", type=int, default=8)
    parser.add_argument("--with-workers", type=int, default=0, help="Celery worker processes")
    parser.add_argument("--out", type=Path, default=Path("bench/results/webhook_ack.json"))
    args = parser.parse_args()
    with (
        tempfile.TemporaryDirectory() as tmp,
        Stack(Path(tmp), web_workers=args.web_workers, web_threads=args.web_threads) as stack,
    ):
        stack.start_web()
        if args.with_workers:
            stack.start_workers(args.with_workers)
        port = stack.port
        warm = signed_requests(stack.url, 200, "w")
        saturation(port, warm, 8)
        runs = [saturation(port, signed_requests(stack.url, args.requests, "s"), args.threads)]
        count = int(args.rate * args.seconds)
        runs.append(
            fixed_rate(port, signed_requests(stack.url, count, "r"), args.rate, args.threads * 2)
        )
        sent_ok = sum(r["acknowledged_200"] for r in runs) + 200
        stored = stack.scalar("SELECT count(*) FROM inbound_deliveries")
        print(f"acknowledged {sent_ok}, stored {stored} deliveries (lost: {sent_ok - stored})")
        report = {
            "benchmark": "webhook_ack",
            "when": datetime.now(UTC).isoformat(timespec="seconds"),
            "machine": {"python": platform.python_version(), "cpus": os.cpu_count()},
            "server": f"gunicorn gthread {args.web_workers}x{args.web_threads}",
            "celery_workers": args.with_workers,
            "runs": runs,
            "acknowledged": sent_ok,
            "stored": stored,
        }
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(report, indent=2) + "\n", encoding="utf-8")
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
