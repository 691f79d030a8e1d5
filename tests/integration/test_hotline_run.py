"""`hotline run` as a user starts it: migrates, seeds, serves, works tasks, stops on Ctrl-C."""

from __future__ import annotations

import json
import os
import signal
import socket
import sqlite3
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

from intake.config import Settings
from intake.worker import make_celery
from tests.ivr.agi_peer import AgiPeer, Press

pytestmark = pytest.mark.integration


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _get(url: str) -> tuple[int, dict]:
    with urllib.request.urlopen(url, timeout=5) as response:
        return response.status, json.loads(response.read())


def test_run_serves_healthz_works_tasks_and_stops_cleanly_on_ctrl_c(tmp_path: Path):
    var = tmp_path / "var"
    port = _free_port()
    agi_port = _free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith(("DATABASE_", "CELERY_"))}
    env["HOTLINE_VAR_DIR"] = str(var)
    log_path = tmp_path / "run.log"
    with log_path.open("wb") as log:
        proc = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "intake",
                "run",
                "--port",
                str(port),
                "--agi-port",
                str(agi_port),
            ],
            cwd=tmp_path,
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                status, body = _get(f"http://127.0.0.1:{port}/healthz")
                break
            except OSError:
                if proc.poll() is not None or time.monotonic() > deadline:
                    pytest.fail("hotline run did not answer:\n" + log_path.read_text())
                time.sleep(0.3)
        assert status == 200 and body["status"] == "ok"
        assert body["checks"]["broker"] == "embedded"
        output = log_path.read_text()
        assert "admin account: admin / " in output and "34 wards" in output

        # A task through the embedded (filesystem) broker reaches the worker `run` started.
        app = make_celery(Settings(var_dir=var))
        app.send_task(
            "intake.open_case",
            args=[
                {
                    "channel": "web",
                    "description": "Đèn đường hỏng",
                    "category": "roads_infrastructure",
                }
            ],
        )
        database = var / "hotline.sqlite3"
        deadline = time.monotonic() + 60
        codes: list[tuple[str]] = []
        while not codes and time.monotonic() < deadline:
            with sqlite3.connect(database) as conn:
                codes = conn.execute("SELECT code FROM cases").fetchall()
            time.sleep(0.5)
        assert len(codes) == 1 and codes[0][0].startswith("HUE-")

        # Asterisk reaches the FastAGI server `run` started: the line-test flow answers.
        deadline = time.monotonic() + 60
        while True:
            try:
                socket.create_connection(("127.0.0.1", agi_port), timeout=2).close()
                break
            except OSError:
                if time.monotonic() > deadline:
                    pytest.fail("no FastAGI server:\n" + log_path.read_text())
                time.sleep(0.3)
        call = AgiPeer(agi_port).call("echo", [Press("123")], args=("1",))
        assert "SAY DIGITS" in call.names and call.silence_problems() == []
        assert any(e.name == "SAY DIGITS" and e.args[0] == "123" for e in call.exchanges)
    finally:
        proc.send_signal(signal.SIGINT)
        try:
            exit_code = proc.wait(timeout=40)
        except subprocess.TimeoutExpired:
            proc.kill()
            raise
    assert exit_code == 0, log_path.read_text()
    assert "hotline: stopped" in log_path.read_text()
    # The worker went down with it: nothing of ours is left running.
    left = subprocess.run(["pgrep", "-f", str(var)], capture_output=True, text=True).stdout
    assert left.strip() == ""
