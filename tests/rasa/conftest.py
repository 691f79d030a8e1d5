"""Rasa tier: a real Rasa 3.6 server (its own Python environment) and the action server.

`make test` builds the environment with `bot/rasa-env/setup.sh`. Here the project is validated
and trained, `rasa run --enable-api` and the action server are started on 127.0.0.1, and the
conversation tests run through them against a SQLite database both sides share.
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest

from intake.clock import utcnow
from intake.config import Settings
from intake.db import unit_of_work
from intake.migrate import upgrade
from intake.runtime import Runtime, set_runtime
from intake.seed import seed_demo

ROOT = Path(__file__).resolve().parents[2]
BOT = ROOT / "bot"
RASA_VENV = Path(os.environ.get("RASA_VENV", ROOT / ".rasa-venv"))
RASA = RASA_VENV / "bin" / "rasa"
# Importing skops before TensorFlow saves ~15 s per command (it scans loaded modules).
RASA_CMD = [
    str(RASA_VENV / "bin" / "python"),
    "-c",
    "import skops.io, sys; from rasa.__main__ import main; sys.argv[0] = 'rasa'; sys.exit(main())",
]
IN_CI = os.environ.get("CI", "").lower() in {"1", "true", "yes"}
QUIET_RASA = {
    "RASA_TELEMETRY_ENABLED": "false",
    "TF_CPP_MIN_LOG_LEVEL": "3",
    "SANIC_HOST": "127.0.0.1",
}


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _wait_http(url: str, proc: subprocess.Popen[bytes], log: Path, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            pytest.fail(f"{url} process exited:\n{log.read_text(errors='replace')[-4000:]}")
        try:
            with urllib.request.urlopen(url, timeout=2):
                return
        except OSError:
            time.sleep(0.5)
    pytest.fail(f"{url} did not answer in {timeout} s:\n{log.read_text(errors='replace')[-4000:]}")


def _stop(proc: subprocess.Popen[bytes]) -> None:
    proc.terminate()
    try:
        proc.wait(timeout=20)
    except subprocess.TimeoutExpired:
        proc.kill()


@pytest.fixture(scope="session")
def rasa_project(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A copy of bot/ with the action endpoint of this run, validated and trained."""
    if not RASA.exists():
        message = (
            f"rasa tier needs the Rasa environment at {RASA_VENV} (bash bot/rasa-env/setup.sh)"
        )
        if IN_CI:
            pytest.fail(message)
        pytest.skip(message)
    work = tmp_path_factory.mktemp("rasa")
    project = work / "bot"
    shutil.copytree(BOT, project, ignore=shutil.ignore_patterns("__pycache__", "holdout"))
    env = {**os.environ, **QUIET_RASA, "HOME": str(work)}
    validate = subprocess.run(
        [*RASA_CMD, "data", "validate"],
        cwd=project,
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert validate.returncode == 0, validate.stdout[-4000:] + validate.stderr[-4000:]
    train = subprocess.run(
        [*RASA_CMD, "train", "--fixed-model-name", "hotline", "--out", "models"],
        cwd=project,
        env=env,
        capture_output=True,
        text=True,
        timeout=1800,
    )
    assert train.returncode == 0, train.stdout[-4000:] + train.stderr[-4000:]
    return project


@pytest.fixture(scope="session")
def shared_db(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Runtime]:
    var = tmp_path_factory.mktemp("var")
    runtime = Runtime.from_settings(Settings(var_dir=var))
    upgrade(runtime.engine)
    with unit_of_work(runtime.sessions) as session:
        seed_demo(session, utcnow())
    set_runtime(runtime)
    yield runtime
    set_runtime(None)
    runtime.close()


class RasaServer:
    """`rasa run --enable-api` on 127.0.0.1, which a test may restart."""

    def __init__(self, project: Path, port: int, log: Path) -> None:
        self.project, self.port, self.log = project, port, log
        self.url = f"http://127.0.0.1:{port}"
        self.proc: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        env = {**os.environ, **QUIET_RASA, "HOME": str(self.project.parent)}
        with self.log.open("ab") as log:
            self.proc = subprocess.Popen(
                [
                    *RASA_CMD,
                    "run",
                    "--enable-api",
                    "-m",
                    "models/hotline.tar.gz",
                    "-i",
                    "127.0.0.1",
                    "-p",
                    str(self.port),
                    "--endpoints",
                    "endpoints.yml",
                    "--credentials",
                    "credentials.yml",
                ],
                cwd=self.project,
                env=env,
                stdout=log,
                stderr=subprocess.STDOUT,
            )
        _wait_http(f"{self.url}/status", self.proc, self.log, 300)

    def stop(self) -> None:
        if self.proc is not None:
            _stop(self.proc)
            self.proc = None

    def restart(self) -> None:
        self.stop()
        self.start()


@pytest.fixture(scope="session")
def rasa_service(rasa_project: Path, shared_db: Runtime) -> Iterator[RasaServer]:
    """The action server (the application's environment) and the Rasa server. Trackers are
    kept in a SQL tracker store, so conversations survive a restart of the Rasa server."""
    action_port = _free_port()
    (rasa_project / "endpoints.yml").write_text(
        f'action_endpoint:\n  url: "http://127.0.0.1:{action_port}/webhook"\n'
        'tracker_store:\n  type: SQL\n  dialect: "sqlite"\n  db: "trackers.sqlite3"\n',
        encoding="utf-8",
    )
    logs = rasa_project.parent
    app_env = {
        **os.environ,
        **QUIET_RASA,
        "HOTLINE_VAR_DIR": str(shared_db.settings.var_dir),
        "PYTHONPATH": str(ROOT),
    }
    with (logs / "actions.log").open("wb") as log:
        actions = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "rasa_sdk",
                "--actions",
                "bot.actions",
                "--port",
                str(action_port),
            ],
            cwd=ROOT,
            env=app_env,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
    server = RasaServer(rasa_project, _free_port(), logs / "rasa.log")
    try:
        _wait_http(f"http://127.0.0.1:{action_port}/health", actions, logs / "actions.log", 60)
        server.start()
        yield server
    finally:
        server.stop()
        _stop(actions)


@pytest.fixture(scope="session")
def rasa_server(rasa_service: RasaServer) -> str:
    return rasa_service.url
