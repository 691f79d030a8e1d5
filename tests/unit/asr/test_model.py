"""asr.model: checking a model directory and loading one shared vosk.Model per path."""

from __future__ import annotations

import json
import os
import shutil
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import vosk

from asr import model as asr_model
from asr.model import (
    LoadedModel,
    ModelInfo,
    ModelLayoutError,
    ModelNotInstalled,
    check_layout,
    load_model,
    reset_cache,
)
from tests.fixtures import make_tiny_vosk_model as tiny
from tests.unit.asr.conftest import WORDS, silence, tone


@pytest.fixture(autouse=True)
def _fresh_cache() -> Iterator[None]:
    reset_cache()
    yield
    reset_cache()


@pytest.fixture
def model_copy(tiny_model_dir: Path, tmp_path: Path) -> Path:
    """A private copy of the lookahead model that a test may break."""
    return Path(shutil.copytree(tiny_model_dir, tmp_path / "vosk-model-copy"))


# --- check_layout -------------------------------------------------------------------------------


def test_lookahead_model_supports_grammar(tiny_model_dir: Path) -> None:
    info = check_layout(tiny_model_dir)
    assert info == ModelInfo(
        path=tiny_model_dir.resolve(), name="tiny-small", sample_rate=16000, supports_grammar=True
    )


def test_static_model_does_not_support_grammar(tiny_static_model_dir: Path) -> None:
    info = check_layout(tiny_static_model_dir)
    assert info.supports_grammar is False
    assert info.sample_rate == 16000
    assert info.name == "tiny-large"


def test_sample_rate_is_read_from_mfcc_conf(tmp_path: Path) -> None:
    path = tmp_path / "tiny-8k"
    tiny.write_model(str(path), WORDS, sample_rate=8000, graph="lookahead")
    assert check_layout(path).sample_rate == 8000


def test_sample_rate_defaults_to_16000_when_conf_does_not_say(model_copy: Path) -> None:
    conf = model_copy / "conf" / "mfcc.conf"
    lines = conf.read_text().splitlines()
    conf.write_text("\n".join(x for x in lines if "sample-frequency" not in x) + "\n")
    assert check_layout(model_copy).sample_rate == 16000


def test_bad_sample_rate_is_a_layout_error(model_copy: Path) -> None:
    (model_copy / "conf" / "mfcc.conf").write_text("--sample-frequency=fast\n")
    with pytest.raises(ModelLayoutError, match="sample-frequency"):
        check_layout(model_copy)


def test_static_graph_wins_when_both_graphs_exist(model_copy: Path) -> None:
    # Vosk loads HCLG.fst first and then ignores phrase lists, so we must say so.
    (model_copy / "graph" / "HCLG.fst").write_bytes(b"")
    assert check_layout(model_copy).supports_grammar is False


@pytest.mark.parametrize(
    "remove, named",
    [
        ("am/final.mdl", "am/final.mdl"),
        ("conf/mfcc.conf", "conf/mfcc.conf"),
        ("conf/model.conf", "conf/model.conf"),
        ("graph/Gr.fst", "graph/Gr.fst"),
        ("graph/disambig_tid.int", "graph/disambig_tid.int"),
        ("graph/HCLr.fst", "graph/HCLG.fst"),
    ],
)
def test_missing_file_is_named(model_copy: Path, remove: str, named: str) -> None:
    (model_copy / remove).unlink()
    with pytest.raises(ModelLayoutError) as caught:
        check_layout(model_copy)
    assert f"{named} (" in str(caught.value) or f"{named} is missing" in str(caught.value)
    assert str(model_copy.resolve()) in str(caught.value)


def test_incomplete_ivector_directory_is_named(model_copy: Path) -> None:
    (model_copy / "ivector").mkdir()
    (model_copy / "ivector" / "final.ie").write_bytes(b"")
    with pytest.raises(ModelLayoutError, match=r"ivector/final.dubm is missing"):
        check_layout(model_copy)


@pytest.mark.parametrize("kind", ["missing", "empty-dir", "file"])
def test_nothing_there_is_not_installed(tmp_path: Path, kind: str) -> None:
    path = tmp_path / "models" / "vosk-model-small-vn-0.4"
    if kind == "empty-dir":
        path.mkdir(parents=True)
    elif kind == "file":
        path.parent.mkdir()
        path.write_text("not a model")
    with pytest.raises(ModelNotInstalled) as caught:
        check_layout(path)
    assert caught.value.path == str(path)


# --- load_model ---------------------------------------------------------------------------------


def test_not_installed_message_names_the_path_and_the_fix(tmp_path: Path) -> None:
    path = tmp_path / "no-such-model"
    with pytest.raises(ModelNotInstalled) as caught:
        load_model(path)
    message = str(caught.value)
    assert message.startswith(f"no Vosk model at {path}:")
    assert "`hotline asr download`" in message
    assert "VOSK_MODEL_PATH" in message


def test_empty_path_is_not_installed_not_the_current_directory() -> None:
    # An empty VOSK_MODEL_PATH must not quietly mean "the working directory".
    with pytest.raises(ModelNotInstalled, match="empty path"):
        load_model("")


def test_bad_layout_is_reported_before_vosk_sees_it(model_copy: Path) -> None:
    (model_copy / "am" / "final.mdl").unlink()
    with pytest.raises(ModelLayoutError, match=r"am/final.mdl is missing"):
        load_model(model_copy)


def test_model_vosk_cannot_read_is_a_layout_error(model_copy: Path) -> None:
    (model_copy / "am" / "final.mdl").write_text("this is not a Kaldi model\n")
    with pytest.raises(ModelLayoutError, match="Vosk could not load it"):
        load_model(model_copy)


def test_loaded_model_decodes_silence_to_empty_text(tiny_model_dir: Path) -> None:
    loaded = load_model(tiny_model_dir)
    assert isinstance(loaded, LoadedModel)
    assert loaded.info == check_layout(tiny_model_dir)
    rec = vosk.KaldiRecognizer(loaded.model, loaded.info.sample_rate)
    rec.AcceptWaveform(silence(16000, 1.0))
    assert json.loads(rec.FinalResult())["text"] == ""


def test_loaded_lookahead_model_takes_a_phrase_list(tiny_model_dir: Path) -> None:
    loaded = load_model(tiny_model_dir)
    rec = vosk.KaldiRecognizer(loaded.model, 16000, json.dumps(["ba"]))
    rec.AcceptWaveform(tone(16000, 1.0, 300))
    assert json.loads(rec.FinalResult())["text"] == "ba"


def test_same_path_gives_the_same_instance(tiny_model_dir: Path) -> None:
    first = load_model(tiny_model_dir)
    assert load_model(str(tiny_model_dir)) is first
    assert load_model(tiny_model_dir / ".." / tiny_model_dir.name) is first


def test_different_paths_give_different_models(
    tiny_model_dir: Path, tiny_static_model_dir: Path
) -> None:
    small = load_model(tiny_model_dir)
    large = load_model(tiny_static_model_dir)
    assert small.model is not large.model
    assert (small.info.supports_grammar, large.info.supports_grammar) == (True, False)


def test_reset_cache_forgets_loaded_models(tiny_model_dir: Path) -> None:
    first = load_model(tiny_model_dir)
    reset_cache()
    assert load_model(tiny_model_dir) is not first


def test_concurrent_first_calls_load_once(
    tiny_model_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    real_model = vosk.Model
    loads: list[str] = []

    def slow_model(path: str) -> Any:
        loads.append(path)
        time.sleep(0.05)  # widen the window in which a second load could start
        return real_model(path)

    monkeypatch.setattr(vosk, "Model", slow_model)
    start = threading.Barrier(8)
    results: list[LoadedModel] = []
    errors: list[BaseException] = []

    def worker() -> None:
        start.wait()
        try:
            results.append(load_model(tiny_model_dir))
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=worker) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)

    assert errors == []
    assert len(results) == 8
    assert loads == [str(tiny_model_dir.resolve())]
    assert all(result is results[0] for result in results)


def test_kaldi_logging_is_silenced_once(
    tiny_model_dir: Path, tiny_static_model_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    levels: list[int] = []
    monkeypatch.setattr(asr_model, "_log_level_set", False)
    monkeypatch.setattr(vosk, "SetLogLevel", levels.append)
    load_model(tiny_model_dir)
    load_model(tiny_static_model_dir)
    assert levels == [-1]


@pytest.mark.skipif(not hasattr(os, "fork"), reason="needs os.fork (POSIX)")
def test_model_loaded_before_fork_works_in_the_child(tiny_model_dir: Path) -> None:
    loaded = load_model(tiny_model_dir)
    pid = os.fork()
    if pid == 0:  # child: never return into pytest
        code = 1
        try:
            again = load_model(tiny_model_dir)
            rec = vosk.KaldiRecognizer(again.model, 16000, '["ba"]')
            rec.AcceptWaveform(tone(16000, 1.0, 300))
            if again is loaded and json.loads(rec.FinalResult())["text"] == "ba":
                code = 0
        finally:
            os._exit(code)
    _, status = os.waitpid(pid, 0)
    assert os.waitstatus_to_exitcode(status) == 0
