"""The production-shaped stack the channel benchmarks run against: a scratch PostgreSQL
database, a Redis database, the web app under gunicorn and Celery worker processes, with the
providers' APIs played by the local recording server of the tests."""

from __future__ import annotations

import os
import subprocess
import sys
import time
import uuid
from pathlib import Path
from typing import Any

import redis
import requests
from sqlalchemy import create_engine, text
from sqlalchemy.engine import Engine, make_url

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from intake.db import make_engine, make_session_factory, unit_of_work  # noqa: E402
from intake.migrate import upgrade  # noqa: E402
from intake.seed import seed_demo  # noqa: E402
from intake.worker import worker_command  # noqa: E402
from tests.fakes import FakeProviders, free_port  # noqa: E402

PG_URL = os.environ.get("TEST_DATABASE_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test")
REDIS_URL = os.environ.get("BENCH_REDIS_URL", "redis://127.0.0.1:6379/14")


class Stack:
    def __init__(self, work: Path, *, web_workers: int = 2, web_threads: int = 8) -> None:
        self.work = work
        self.web_workers = web_workers
        self.web_threads = web_threads
        self.procs: list[subprocess.Popen[bytes]] = []
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"

    def __enter__(self) -> Stack:
        self.work.mkdir(parents=True, exist_ok=True)
        self.admin = create_engine(PG_URL, isolation_level="AUTOCOMMIT")
        self.db_name = f"hotline_bench_{uuid.uuid4().hex[:8]}"
        with self.admin.connect() as conn:
            conn.execute(text(f'CREATE DATABASE "{self.db_name}"'))
        self.db_url = make_url(PG_URL).set(database=self.db_name).render_as_string(False)
        self.engine: Engine = make_engine(self.db_url, pool_size=2)
        upgrade(self.engine)
        with unit_of_work(make_session_factory(self.engine)) as session:
            seed_demo(session, time_now())
        redis.Redis.from_url(REDIS_URL).flushdb()
        self.providers = FakeProviders().start()
        self.env = {
            k: v for k, v in os.environ.items() if not k.startswith(("DATABASE_", "CELERY_"))
        }
        self.env.update(
            DATABASE_URL=self.db_url,
            CELERY_BROKER_URL=REDIS_URL,
            CELERY_RESULT_BACKEND="",
            HOTLINE_VAR_DIR=str(self.work / "var"),
            PUBLIC_BASE_URL=self.url,
            **self.providers.environ(),
        )
        return self

    def __exit__(self, *exc: Any) -> None:
        for proc in self.procs:
            if proc.poll() is None:
                proc.terminate()
        for proc in self.procs:
            try:
                proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                proc.kill()
        self.providers.stop()
        self.engine.dispose()
        with self.admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{self.db_name}" WITH (FORCE)'))
        self.admin.dispose()

    def _spawn(self, args: list[str], log_name: str) -> subprocess.Popen[bytes]:
        log = (self.work / log_name).open("ab")
        proc = subprocess.Popen(args, env=self.env, stdout=log, stderr=subprocess.STDOUT, cwd=ROOT)
        self.procs.append(proc)
        return proc

    def start_web(self) -> None:
        self._spawn(
            [
                sys.executable,
                "-m",
                "gunicorn",
                "--workers",
                str(self.web_workers),
                "--worker-class",
                "gthread",
                "--threads",
                str(self.web_threads),
                "--backlog",
                "2048",
                "--bind",
                f"127.0.0.1:{self.port}",
                "--log-level",
                "warning",
                "agents_console.wsgi:app",
            ],
            "web.log",
        )
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            try:
                if requests.get(f"{self.url}/healthz", timeout=2).status_code == 200:
                    return
            except requests.RequestException:
                pass
            time.sleep(0.2)
        raise RuntimeError("web server did not start; see " + str(self.work / "web.log"))

    def start_workers(self, processes: int, concurrency: int = 1) -> None:
        for n in range(processes):
            log = self.work / f"worker-{n}.log"
            start = log.stat().st_size if log.exists() else 0
            self._spawn(
                worker_command(
                    "--pool",
                    "prefork" if concurrency > 1 else "solo",
                    "--concurrency",
                    str(concurrency),
                    "--loglevel",
                    "INFO",
                    "--without-mingle",
                    "--without-gossip",
                    "--hostname",
                    f"bench-{n}-{uuid.uuid4().hex[:4]}@%h",
                    # The first worker also runs beat: the sweeps that recover stuck work.
                    *(["--beat", "--schedule", str(self.work / "beat-schedule")] if n == 0 else []),
                ),
                log.name,
            )
            deadline = time.monotonic() + 90
            while time.monotonic() < deadline:
                if log.exists() and b"ready" in log.read_bytes()[start:]:
                    break
                time.sleep(0.2)

    def start_relay(self) -> None:
        self._spawn([sys.executable, "-m", "intake", "relay"], "relay.log")

    def scalar(self, sql: str) -> Any:
        with self.engine.connect() as conn:
            return conn.execute(text(sql)).scalar()


def time_now() -> Any:
    from intake.clock import utcnow

    return utcnow()


def percentile(sorted_values: list[float], q: float) -> float:
    if not sorted_values:
        return float("nan")
    index = min(len(sorted_values) - 1, max(0, round(q * len(sorted_values)) - 1))
    return sorted_values[index]
