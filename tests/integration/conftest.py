"""Integration tier: the PostgreSQL and Redis running on this machine, and real processes.

Each run creates its own PostgreSQL database (dropped afterwards) and uses its own Redis
database number, so it never touches anything else on the server.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
import redis
import requests
from sqlalchemy import Engine, create_engine, text
from sqlalchemy.engine import make_url
from sqlalchemy.orm import Session

from intake.config import Settings
from intake.db import make_engine, make_session_factory
from intake.migrate import upgrade
from intake.models import Base
from intake.worker import worker_command
from tests.fakes import FakeProviders, free_port

BASE_URL = os.environ.get("TEST_DATABASE_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test")
REDIS_URL = os.environ.get("TEST_REDIS_URL", "redis://127.0.0.1:6379/15")
IN_CI = os.environ.get("CI", "").lower() in {"1", "true", "yes"}


def _unavailable(what: str, exc: Exception) -> None:
    message = f"integration tier needs {what}: {exc}"
    if IN_CI:
        pytest.fail(message)  # CI machines have both services: absence is a failure there
    pytest.skip(message)


@pytest.fixture(scope="session")
def pg_url() -> Iterator[str]:
    admin = create_engine(BASE_URL, isolation_level="AUTOCOMMIT")
    name = f"hotline_test_{uuid.uuid4().hex[:10]}"
    try:
        with admin.connect() as conn:
            conn.execute(text(f'CREATE DATABASE "{name}"'))
    except Exception as exc:
        admin.dispose()
        _unavailable(f"PostgreSQL at {BASE_URL}", exc)
    url = make_url(BASE_URL).set(database=name).render_as_string(hide_password=False)
    yield url
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    admin.dispose()


@pytest.fixture(scope="session")
def pg_engine(pg_url: str) -> Iterator[Engine]:
    engine = make_engine(pg_url, pool_size=10)
    upgrade(engine)  # the real migrations, on the real server
    yield engine
    engine.dispose()


@pytest.fixture
def clean_db(pg_engine: Engine) -> Iterator[Engine]:
    """Tests that commit from several threads or processes start from empty tables."""
    yield pg_engine
    tables = ", ".join(f'"{t.name}"' for t in Base.metadata.sorted_tables)
    with pg_engine.begin() as conn:
        conn.execute(text(f"TRUNCATE {tables} RESTART IDENTITY CASCADE"))


@pytest.fixture
def session(pg_engine: Engine) -> Iterator[Session]:
    """A session inside a transaction that is rolled back after the test."""
    connection = pg_engine.connect()
    transaction = connection.begin()
    factory = make_session_factory(pg_engine)
    session = factory(bind=connection, join_transaction_mode="create_savepoint")
    yield session
    session.close()
    transaction.rollback()
    connection.close()


@pytest.fixture(scope="session")
def redis_url() -> str:
    client = redis.Redis.from_url(REDIS_URL)
    try:
        client.ping()
    except Exception as exc:
        _unavailable(f"Redis at {REDIS_URL}", exc)
    client.flushdb()
    client.close()
    return REDIS_URL


@pytest.fixture
def web_port() -> int:
    return free_port()


@pytest.fixture
def worker_env(
    pg_url: str, redis_url: str, tmp_path: Path, providers: FakeProviders, web_port: int
) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("DATABASE_", "CELERY_"))}
    env.update(
        DATABASE_URL=pg_url,
        CELERY_BROKER_URL=redis_url,
        CELERY_RESULT_BACKEND=redis_url,
        HOTLINE_VAR_DIR=str(tmp_path / "var"),
        PUBLIC_BASE_URL=f"http://127.0.0.1:{web_port}",
        **providers.environ(),
    )
    return env


_started_workers: list[subprocess.Popen[bytes]] = []


@pytest.fixture(autouse=True)
def _no_worker_outlives_its_test() -> Iterator[None]:
    """A worker left running by a failed test would consume the next test's tasks (every test
    shares the Redis database) against a dropped database: stop whatever a test started."""
    yield
    while _started_workers:
        stop_process(_started_workers.pop())


def start_worker(env: dict[str, str], log_path: Path, *options: str) -> subprocess.Popen[bytes]:
    """A real Celery worker process consuming from Redis (every queue unless `options` say
    `-Q`); returns once it is ready."""
    with log_path.open("ab") as log:
        start = log_path.stat().st_size
        proc = subprocess.Popen(
            worker_command(
                "--pool",
                "solo",
                "--loglevel",
                "INFO",
                "--without-mingle",
                "--without-gossip",
                "--hostname",
                f"test-{uuid.uuid4().hex[:6]}@%h",
                *options,
            ),
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
    _started_workers.append(proc)
    deadline = time.monotonic() + 60
    while b" ready." not in log_path.read_bytes()[start:]:
        if proc.poll() is not None or time.monotonic() > deadline:
            proc.kill()
            pytest.fail("worker did not start:\n" + log_path.read_text(errors="replace"))
        time.sleep(0.2)
    return proc


def stop_process(proc: subprocess.Popen[bytes]) -> None:
    if proc.poll() is None:
        proc.terminate()
    try:
        proc.wait(timeout=20)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()


@pytest.fixture
def celery_worker(worker_env: dict[str, str], tmp_path: Path) -> Iterator[subprocess.Popen[bytes]]:
    proc = start_worker(worker_env, tmp_path / "worker.log")
    yield proc
    stop_process(proc)


def start_web(env: dict[str, str], port: int, log_path: Path) -> subprocess.Popen[bytes]:
    """The web app (webhooks, web chat, console) under gunicorn, as in production."""
    with log_path.open("ab") as log:
        proc = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "gunicorn",
                "--workers",
                "2",
                "--worker-class",
                "gthread",
                "--threads",
                "4",
                "--bind",
                f"127.0.0.1:{port}",
                "agents_console.wsgi:app",
            ],
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 60
    while True:
        try:
            if requests.get(f"{url}/healthz", timeout=2).status_code == 200:
                return proc
        except requests.RequestException:
            pass
        if proc.poll() is not None or time.monotonic() > deadline:
            proc.kill()
            pytest.fail("web server did not start:\n" + log_path.read_text(errors="replace"))
        time.sleep(0.2)


@pytest.fixture
def web_server(
    clean_db: Engine, worker_env: dict[str, str], web_port: int, tmp_path: Path
) -> Iterator[str]:
    proc = start_web(worker_env, web_port, tmp_path / "web.log")
    yield f"http://127.0.0.1:{web_port}"
    stop_process(proc)


@pytest.fixture
def broker_settings(pg_url: str, redis_url: str) -> Settings:
    return Settings(
        database_url=pg_url, celery_broker_url=redis_url, celery_result_backend=redis_url
    )
