"""`hotline asr transcribe` and `hotline asr download`, through the real command."""

from __future__ import annotations

import hashlib
import io
import json
import subprocess
import threading
import wave
import zipfile
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
from click.testing import CliRunner

from asr.model import reset_cache
from intake.cli import cli
from tests.fixtures import make_tiny_vosk_model as tiny
from tests.fixtures.speech import say


@pytest.fixture(autouse=True)
def _fresh_models() -> Iterator[None]:
    reset_cache()
    yield
    reset_cache()


@pytest.fixture
def run(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    monkeypatch.chdir(tmp_path)
    for name in ("DATABASE_URL", "CELERY_BROKER_URL", "VOSK_MODEL_PATH"):
        monkeypatch.delenv(name, raising=False)

    def invoke(*args: str, model: Path | None = None):
        env = {"HOTLINE_VAR_DIR": str(tmp_path / "var")}
        if model is not None:
            env["VOSK_MODEL_PATH"] = str(model)
        return CliRunner().invoke(cli, list(args), env=env)

    return invoke


def duration(path: Path) -> float:
    """The length of an audio file in seconds, as sox reads it."""
    return float(subprocess.run(["soxi", "-D", str(path)], capture_output=True, check=True).stdout)


def test_transcribe_prints_one_json_line_per_file(run, tiny_model_dir, tmp_path):
    first = say("xin chào, đường Lê Lợi có rác", tmp_path / "voicemail.wav")
    second = say("một hai ba", tmp_path / "menu.wav", encoding="a-law")
    result = run("asr", "transcribe", str(first), str(second), model=tiny_model_dir)
    assert result.exit_code == 0, result.output
    lines = [json.loads(line) for line in result.stdout.splitlines()]
    assert [line["file"] for line in lines] == [str(first), str(second)]
    for line, path in zip(lines, (first, second), strict=True):
        assert set(line) == {"file", "text", "confidence", "audio_s", "cpu_s"}
        assert line["audio_s"] == pytest.approx(duration(path), abs=0.01)
        assert line["text"], "the synthetic model hears loud speech as some of its words"
        assert 0 <= line["confidence"] <= 1
        assert line["cpu_s"] > 0


def test_transcribe_reads_raw_telephone_audio_at_the_given_rate(run, tiny_model_dir, tmp_path):
    wav = say("một hai ba", tmp_path / "menu.wav", encoding="slin16")
    raw = tmp_path / "menu.sln"
    with wave.open(str(wav)) as w:
        raw.write_bytes(w.readframes(w.getnframes()))
    result = run("asr", "transcribe", "--rate", "8000", str(raw), model=tiny_model_dir)
    assert result.exit_code == 0, result.output
    line = json.loads(result.stdout)
    assert line["audio_s"] == pytest.approx(raw.stat().st_size / 2 / 8000, abs=0.01)


def test_a_bad_file_is_reported_and_the_others_still_transcribed(run, tiny_model_dir, tmp_path):
    good = say("một", tmp_path / "good.wav")
    bad = tmp_path / "bad.wav"
    bad.write_bytes(b"RIFF not really audio")
    result = run("asr", "transcribe", str(bad), str(good), model=tiny_model_dir)
    assert result.exit_code == 1
    lines = [json.loads(line) for line in result.stdout.splitlines()]
    assert lines[0]["file"] == str(bad) and "error" in lines[0]
    assert lines[1]["file"] == str(good) and "text" in lines[1]
    assert f"error: {bad}" in result.stderr


def test_without_a_model_the_error_says_how_to_install_one(run, tmp_path):
    result = run("asr", "transcribe", str(tmp_path / "x.wav"))
    assert result.exit_code == 1
    assert "VOSK_MODEL_PATH" in result.stderr and "hotline asr download" in result.stderr
    missing = tmp_path / "nowhere"
    result = run("asr", "transcribe", str(tmp_path / "x.wav"), model=missing)
    assert result.exit_code == 1 and str(missing) in result.stderr


@pytest.fixture
def mirror(tmp_path: Path) -> Iterator[tuple[str, bytes]]:
    """A local server standing in for the vendor, serving a model zip the test built."""
    model = tmp_path / "src" / "vosk-model-small-vn-0.4"
    tiny.write_model(str(model), ["một", "hai"], sample_rate=16000)
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for file in sorted(model.rglob("*")):
            archive.write(file, file.relative_to(model.parent).as_posix())
    body = buffer.getvalue()

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            self.send_response(200)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}/model.zip", body
    server.shutdown()
    server.server_close()


def test_download_installs_a_model_the_transcriber_then_uses(run, mirror, tmp_path):
    url, body = mirror
    digest = hashlib.sha256(body).hexdigest()
    dest = tmp_path / "models"
    result = run("asr", "download", "--url", url, "--sha256", digest, "--dest", str(dest))
    assert result.exit_code == 0, result.output
    installed = dest / "vosk-model-small-vn-0.4"
    assert result.stdout.strip() == str(installed.resolve())
    assert "VOSK_MODEL_PATH=" in result.stderr and "100%" in result.stderr
    assert (installed / "am" / "final.mdl").is_file()
    speech = say("hai", tmp_path / "hai.wav")
    result = run("asr", "transcribe", str(speech), model=installed)
    assert result.exit_code == 0, result.output
    assert set(json.loads(result.stdout)["text"].split()) <= {"một", "hai"}


def test_download_with_a_wrong_checksum_installs_nothing(run, mirror, tmp_path):
    url, _ = mirror
    dest = tmp_path / "models"
    result = run("asr", "download", "--url", url, "--sha256", "0" * 64, "--dest", str(dest))
    assert result.exit_code == 1
    assert "checksum mismatch" in result.stderr
    assert not dest.exists() or list(dest.iterdir()) == []
