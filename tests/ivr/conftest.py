"""The FastAGI server as a real `hotline agi serve` process on a free port, against a migrated,
seeded SQLite database (which the tests read and write too), with the test flows of
tests/ivr/flows_for_tests.py loaded; and the audio callers "say"."""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from intake.config import Settings
from intake.db import unit_of_work
from intake.migrate import upgrade
from intake.runtime import Runtime
from intake.seed import seed_demo
from tests.conftest import NOW
from tests.fakes import free_port
from tests.ivr.agi_peer import AgiPeer
from tests.ivr.fake_call import tone_wav

ROOT = Path(__file__).resolve().parents[2]
TEST_FLOWS = "tests.ivr.flows_for_tests"
# The hotline as callers meet it: open around the clock (the tests run at any hour), the embedded
# bot, and keypad-only menus unless a test server is given a speech model.
HOTLINE_ENV = {"IVR_OPEN_HOURS": "00:00-24:00", "BOT_BACKEND": "embedded", "VOSK_MODEL_PATH": ""}


@dataclass
class AgiServerProcess:
    proc: subprocess.Popen[bytes]
    port: int
    log_path: Path
    var_dir: Path
    database_url: str
    _runtime: Runtime | None = field(default=None, repr=False)

    def peer(self, **options: object) -> AgiPeer:
        return AgiPeer(self.port, **options)  # type: ignore[arg-type]

    @property
    def runtime(self) -> Runtime:
        """The server's database, opened from the test: what the calls wrote, and where a test
        puts what a call should find."""
        if self._runtime is None:
            self._runtime = Runtime.from_settings(Settings(database_url=self.database_url))
        return self._runtime

    def log_text(self) -> str:
        return self.log_path.read_text(encoding="utf-8", errors="replace")

    def stop(self, timeout: float = 20.0) -> int:
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        if self._runtime is not None:
            self._runtime.close()
            self._runtime = None
        return int(self.proc.returncode)


@pytest.fixture(scope="session")
def agi_database(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A migrated, seeded SQLite database, copied for each server."""
    path = tmp_path_factory.mktemp("agi-db") / "template.sqlite3"
    runtime = Runtime.from_settings(Settings(database_url=f"sqlite:///{path}"))
    upgrade(runtime.engine)
    with unit_of_work(runtime.sessions) as session:
        seed_demo(session, NOW)
    runtime.close()
    return path


def server_env(
    var_dir: Path, database_url: str, extra: dict[str, str] | None = None
) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("DATABASE_", "CELERY_"))}
    env.update(
        HOTLINE_VAR_DIR=str(var_dir),
        DATABASE_URL=database_url,
        PYTHONPATH=os.pathsep.join(filter(None, [str(ROOT), env.get("PYTHONPATH", "")])),
    )
    env.update(extra or {})
    return env


def start_server(
    workdir: Path,
    database: Path,
    *options: str,
    env: dict[str, str] | None = None,
    log_level: str = "DEBUG",
    nlu_from: Path | None = None,
) -> AgiServerProcess:
    """Start `hotline agi serve` and wait until it listens. `nlu_from`: a var directory whose
    trained embedded NLU model the server gets (so no call trains one)."""
    workdir.mkdir(parents=True, exist_ok=True)
    db_copy = workdir / "hotline.sqlite3"
    db_copy.write_bytes(database.read_bytes())
    if nlu_from is not None:
        shutil.copytree(nlu_from / "models", workdir / "var" / "models", dirs_exist_ok=True)
    url = f"sqlite:///{db_copy}"
    port = free_port()
    log_path = workdir / "agi.log"
    command = [sys.executable, "-m", "intake", "agi", "serve", "--port", str(port)]
    command += ["--log-level", log_level, "--flows-module", TEST_FLOWS, *options]
    with log_path.open("wb") as log:
        proc = subprocess.Popen(
            command,
            cwd=workdir,
            env=server_env(workdir / "var", url, env),
            stdout=log,
            stderr=subprocess.STDOUT,
        )
    server = AgiServerProcess(proc, port, log_path, workdir / "var", url)
    deadline = time.monotonic() + 60
    while "hotline: FastAGI on" not in server.log_text():
        if proc.poll() is not None or time.monotonic() > deadline:
            server.stop()
            pytest.fail("hotline agi serve did not start:\n" + server.log_text())
        time.sleep(0.05)
    return server


@contextlib.contextmanager
def running_server(workdir: Path, database: Path, **options: Any) -> Iterator[AgiServerProcess]:
    server = start_server(workdir, database, **options)
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture
def start_agi_server(
    tmp_path: Path, agi_database: Path
) -> Iterator[Callable[..., AgiServerProcess]]:
    """A factory: `start_agi_server("--max-calls", "2", env={...})`; stopped after the test."""
    started: list[AgiServerProcess] = []

    def start(*options: str, env: dict[str, str] | None = None) -> AgiServerProcess:
        server = start_server(tmp_path / f"agi-{len(started)}", agi_database, *options, env=env)
        started.append(server)
        return server

    yield start
    for server in started:
        server.stop()


@pytest.fixture(scope="module")
def agi_server(
    tmp_path_factory: pytest.TempPathFactory, agi_database: Path
) -> Iterator[AgiServerProcess]:
    """One server for a test module, default options."""
    with running_server(tmp_path_factory.mktemp("agi"), agi_database) as server:
        yield server


@pytest.fixture(scope="module")
def hotline_server(
    tmp_path_factory: pytest.TempPathFactory, agi_database: Path, trained_var: Path
) -> Iterator[AgiServerProcess]:
    """A server for whole hotline calls, keypad-only (no speech model)."""
    workdir = tmp_path_factory.mktemp("hotline")
    with running_server(workdir, agi_database, env=HOTLINE_ENV, nlu_from=trained_var) as server:
        yield server


@pytest.fixture(scope="module")
def speech_hotline_server(
    tmp_path_factory: pytest.TempPathFactory,
    agi_database: Path,
    trained_var: Path,
    tiny_model_dir: Path,
) -> Iterator[AgiServerProcess]:
    """A server for whole hotline calls with the synthetic speech model (VOSK_MODEL_PATH)."""
    env = {**HOTLINE_ENV, "VOSK_MODEL_PATH": str(tiny_model_dir)}
    workdir = tmp_path_factory.mktemp("hotline-speech")
    with running_server(workdir, agi_database, env=env, nlu_from=trained_var) as server:
        yield server


@pytest.fixture
def speech_audio(tmp_path: Path) -> dict[str, Path]:
    """Tones the synthetic model hears as: "một" from the main menu's phrases, "đúng" from the
    confirmation's, and "chín" (an unsure, meaningless complaint) as free speech."""
    return {
        "menu_one": tone_wav(tmp_path / "one.wav", 2800),
        "confirm_yes": tone_wav(tmp_path / "yes.wav", 1000),
        "complaint": tone_wav(tmp_path / "complaint.wav", 1000, seconds=2.0),
    }
