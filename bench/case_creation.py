"""Benchmark: cases opened per second on PostgreSQL: one thread, 8 threads, and 8 processes.

Each case is one unit of work, as a webhook or task opens it: code allocation, routing, the
timeline events and the SMS outbox row, committed. Runs in a scratch database that is created
and dropped here.

    .venv/bin/python bench/case_creation.py [--cases 2000] [--threads 8] [--url URL]

Threads share one Python interpreter (and its lock), as in one threaded web process; processes
are how the system scales out (several gunicorn or Celery worker processes on one database).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import time
import uuid
from concurrent.futures import ProcessPoolExecutor, ThreadPoolExecutor
from datetime import UTC, datetime
from pathlib import Path

from sqlalchemy import create_engine, func, select, text
from sqlalchemy.engine import make_url
from sqlalchemy.orm import Session, sessionmaker

from intake.db import make_engine, make_session_factory, unit_of_work
from intake.migrate import upgrade
from intake.models import Case, Channel
from intake.seed import seed_reference
from intake.services.cases import CITIZEN, NewCase, open_case
from intake.services.contacts import contact_for_identity

DEFAULT_URL = os.environ.get(
    "TEST_DATABASE_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test"
)
CATEGORIES = ["environment", "traffic_parking", "roads_infrastructure", "urban_order", "noise"]
WARDS = ["phu-hoi", "an-cuu", "vy-da", "kim-long", "thuy-xuan"]


def run(url: str, cases: int, threads: int) -> dict[str, object]:
    admin = create_engine(url, isolation_level="AUTOCOMMIT")
    name = f"hotline_bench_{uuid.uuid4().hex[:8]}"
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    bench_url = make_url(url).set(database=name).render_as_string(hide_password=False)
    engine = make_engine(bench_url, pool_size=threads)
    try:
        upgrade(engine)
        factory = make_session_factory(engine)
        now = datetime.now(UTC)
        with unit_of_work(factory) as s:
            seed_reference(s, now)
            contact_ids = [
                contact_for_identity(s, Channel.SMS, f"+8490{i:07d}", now).id for i in range(100)
            ]

        def open_one(i: int) -> float:
            return timed_case(factory, i, contact_ids)

        def measure(n_threads: int, offset: int) -> dict[str, float]:
            started = time.perf_counter()
            if n_threads == 1:
                latencies = [open_one(offset + i) for i in range(cases)]
            else:
                with ThreadPoolExecutor(max_workers=n_threads) as pool:
                    latencies = list(pool.map(open_one, range(offset, offset + cases)))
            elapsed = time.perf_counter() - started
            latencies.sort()
            return {
                "threads": n_threads,
                "cases": cases,
                "seconds": round(elapsed, 3),
                "cases_per_second": round(cases / elapsed, 1),
                "latency_ms_median": round(statistics.median(latencies) * 1000, 2),
                "latency_ms_p95": round(latencies[int(len(latencies) * 0.95) - 1] * 1000, 2),
            }

        open_one(-1)  # warm the pool and the statement caches
        single = measure(1, 0)
        print(
            f"1 thread : {single['cases_per_second']:>7} cases/s "
            f"(median {single['latency_ms_median']} ms, p95 {single['latency_ms_p95']} ms)"
        )
        multi = measure(threads, cases)
        print(
            f"{threads} threads: {multi['cases_per_second']:>7} cases/s "
            f"(median {multi['latency_ms_median']} ms, p95 {multi['latency_ms_p95']} ms)"
        )
        procs = measure_processes(bench_url, threads, cases, 2 * cases, contact_ids)
        print(
            f"{threads} procs  : {procs['cases_per_second']:>7} cases/s "
            f"(median {procs['latency_ms_median']} ms, p95 {procs['latency_ms_p95']} ms)"
        )
        with unit_of_work(factory) as s:
            stored = s.scalar(select(func.count()).select_from(Case))
            distinct = s.scalar(select(func.count(func.distinct(Case.code))))
        expected = 2 * cases + procs["cases"] + 1
        assert stored == distinct == expected, (stored, distinct, expected)
        return {
            "benchmark": "case_creation",
            "database": "postgresql",
            "server_version": _server_version(engine),
            "machine": {"python": platform.python_version(), "cpus": os.cpu_count()},
            "when": datetime.now(UTC).isoformat(timespec="seconds"),
            "results": [single, multi, procs],
        }
    finally:
        engine.dispose()
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


def timed_case(factory: sessionmaker[Session], i: int, contact_ids: list[int]) -> float:
    """Open case number `i` in its own committed unit of work; return how long it took."""
    started = time.perf_counter()
    with unit_of_work(factory) as s:
        open_case(
            s,
            NewCase(
                channel=Channel.SMS,
                description=f"Phản ánh thử số {i}: rác tồn đọng ở kiệt {i % 90}",
                category_code=CATEGORIES[i % len(CATEGORIES)],
                ward_code=WARDS[i % len(WARDS)],
                reporter_contact_id=contact_ids[i % len(contact_ids)],
            ),
            now=datetime.now(UTC),
            actor=CITIZEN,
        )
    return time.perf_counter() - started


def _open_in_process(args: tuple[str, int, int, list[int]]) -> list[float]:
    """One worker process: its own engine, `count` cases, each in its own transaction."""
    url, start, count, contact_ids = args
    engine = make_engine(url, pool_size=1)
    factory = make_session_factory(engine)
    latencies = [timed_case(factory, i, contact_ids) for i in range(start, start + count)]
    engine.dispose()
    return latencies


def measure_processes(
    url: str, processes: int, cases: int, offset: int, contact_ids: list[int]
) -> dict[str, float]:
    per_process = cases // processes
    jobs = [(url, offset + p * per_process, per_process, contact_ids) for p in range(processes)]
    with ProcessPoolExecutor(max_workers=processes) as pool:
        pool.submit(time.sleep, 0).result()  # processes up before the clock starts
        started = time.perf_counter()
        latencies = sorted(x for chunk in pool.map(_open_in_process, jobs) for x in chunk)
    elapsed = time.perf_counter() - started
    done = per_process * processes
    return {
        "processes": processes,
        "cases": done,
        "seconds": round(elapsed, 3),
        "cases_per_second": round(done / elapsed, 1),
        "latency_ms_median": round(statistics.median(latencies) * 1000, 2),
        "latency_ms_p95": round(latencies[int(len(latencies) * 0.95) - 1] * 1000, 2),
    }


def _server_version(engine: object) -> str:
    with engine.connect() as conn:  # type: ignore[attr-defined]
        return str(conn.execute(text("SHOW server_version")).scalar())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--url", default=DEFAULT_URL, help="PostgreSQL server (a scratch DB is made)"
    )
    parser.add_argument("--cases", type=int, default=2000, help="cases per run")
    parser.add_argument("--threads", type=int, default=8)
    parser.add_argument("--out", type=Path, default=Path("bench/results/case_creation.json"))
    args = parser.parse_args()
    report = run(args.url, args.cases, args.threads)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(report, indent=2) + "\n", encoding="utf-8")
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
