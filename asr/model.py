"""Find, check and load the Vosk model: one `vosk.Model` per directory per process.

Loading a real model reads tens of megabytes and takes seconds, and a `vosk.Model` is read-only
once built, so every recognizer in the process shares one instance per model directory.

Only Vosk's "v2" layout is accepted (`am/`, `conf/`, `graph/`), which is what both Vietnamese
models (`vosk-model-small-vn-0.4`, `vosk-model-vn-0.4`) ship:

    am/final.mdl                       acoustic model (required)
    conf/mfcc.conf, conf/model.conf    feature and decoder settings (required)
    graph/HCLG.fst                     static graph (large models: no runtime phrase lists)
    or graph/HCLr.fst + graph/Gr.fst   lookahead graph (small models: runtime phrase lists work)
       + graph/disambig_tid.int
    graph/phones/word_boundary.int     optional: word times
    ivector/final.ie + companions      optional: speaker adaptation

Fork safety (Celery prefork, forking AGI servers): a model loaded in a parent process may be
used by the forked children. The model's memory is inherited copy-on-write and never written
after loading, and the cache lock is replaced in the child so a fork taken while another thread
was loading cannot leave the child deadlocked. Loading in the parent before forking means the
children share those pages instead of each reading the model again.
"""

from __future__ import annotations

import os
import threading
from dataclasses import dataclass
from pathlib import Path

import vosk

DEFAULT_SAMPLE_RATE = 16000

_REQUIRED_FILES = ("am/final.mdl", "conf/mfcc.conf", "conf/model.conf")
_STATIC_GRAPH = "graph/HCLG.fst"
_LOOKAHEAD_GRAPH = ("graph/HCLr.fst", "graph/Gr.fst", "graph/disambig_tid.int")
# Kaldi loads these as soon as ivector/final.ie exists and aborts if one is missing.
_IVECTOR_FILES = (
    "ivector/final.dubm",
    "ivector/final.mat",
    "ivector/global_cmvn.stats",
    "ivector/online_cmvn.conf",
    "ivector/splice.conf",
)


class ModelNotInstalled(Exception):
    """There is no model at the configured path: speech must fall back to the keypad."""

    def __init__(self, path: str | Path) -> None:
        self.path = str(path)
        super().__init__(
            f"no Vosk model at {self.path or '(empty path)'}: run `hotline asr download` "
            "or set VOSK_MODEL_PATH to an unpacked model"
        )


class ModelLayoutError(Exception):
    """The directory exists but is not a usable Vosk model."""

    def __init__(self, path: str | Path, problem: str) -> None:
        self.path = str(path)
        self.problem = problem
        super().__init__(
            f"{self.path} is not a usable Vosk model: {problem}; "
            "re-download it with `hotline asr download --force` or point VOSK_MODEL_PATH "
            "at an unpacked model directory"
        )


@dataclass(frozen=True)
class ModelInfo:
    """What a model directory offers, read from its files without loading it."""

    path: Path
    name: str
    sample_rate: int
    supports_grammar: bool


@dataclass(frozen=True)
class LoadedModel:
    """A loaded model, shared by every recognizer in the process."""

    info: ModelInfo
    model: vosk.Model


def check_layout(path: Path) -> ModelInfo:
    """Validate a Vosk model directory and describe it.

    Raises ModelNotInstalled when there is nothing at `path` (missing or empty directory) and
    ModelLayoutError, naming the first missing file, when the directory is not a Vosk model.
    """
    if not path.is_dir() or not any(path.iterdir()):
        raise ModelNotInstalled(path)
    path = path.resolve()

    def missing(relative: str) -> bool:
        return not (path / relative).is_file()

    for relative in _REQUIRED_FILES:
        if missing(relative):
            raise ModelLayoutError(path, f"{relative} is missing")

    # Vosk prefers HCLG.fst when both graphs are present, and then ignores phrase lists.
    if not missing(_STATIC_GRAPH):
        supports_grammar = False
    elif missing(_LOOKAHEAD_GRAPH[0]):
        hcl, gr = _LOOKAHEAD_GRAPH[:2]
        raise ModelLayoutError(path, f"{_STATIC_GRAPH} (or {hcl} with {gr}) is missing")
    else:
        for relative in _LOOKAHEAD_GRAPH[1:]:
            if missing(relative):
                raise ModelLayoutError(path, f"{relative} is missing")
        supports_grammar = True

    if not missing("ivector/final.ie"):
        for relative in _IVECTOR_FILES:
            if missing(relative):
                raise ModelLayoutError(path, f"{relative} is missing")

    return ModelInfo(
        path=path,
        name=path.name,
        sample_rate=_read_sample_rate(path),
        supports_grammar=supports_grammar,
    )


def _read_sample_rate(model_dir: Path) -> int:
    """`--sample-frequency` from conf/mfcc.conf; Kaldi's default is 16000."""
    conf = model_dir / "conf" / "mfcc.conf"
    try:
        lines = conf.read_text(encoding="utf-8").splitlines()
    except (OSError, UnicodeDecodeError) as exc:
        raise ModelLayoutError(model_dir, f"conf/mfcc.conf cannot be read ({exc})") from exc
    rate = DEFAULT_SAMPLE_RATE
    for line in lines:
        option = line.split("#", 1)[0].strip()
        key, sep, value = option.partition("=")
        if not sep:
            key, _, value = option.partition(" ")
        if key.strip() != "--sample-frequency":
            continue
        try:
            rate = int(float(value.strip()))
        except ValueError:
            rate = 0
        if rate <= 0:
            raise ModelLayoutError(
                model_dir, f"conf/mfcc.conf has a bad --sample-frequency {value.strip()!r}"
            )
    return rate


_cache: dict[str, LoadedModel] = {}
_lock = threading.Lock()
_log_level_set = False


def _reset_lock_after_fork() -> None:
    # A fork taken while another thread held the lock would leave it held forever in the child.
    global _lock
    _lock = threading.Lock()


os.register_at_fork(after_in_child=_reset_lock_after_fork)


def load_model(path: str | Path) -> LoadedModel:
    """The process-wide loaded model for `path`, loading it on first use.

    Thread-safe: concurrent first calls load the model once and all get the same instance.
    Raises ModelNotInstalled for a missing or empty path and ModelLayoutError for a directory
    that is not a Vosk model (or that Vosk cannot load).
    """
    if isinstance(path, str) and not path.strip():
        raise ModelNotInstalled(path)
    key = os.path.realpath(path)
    loaded = _cache.get(key)
    if loaded is not None:
        return loaded
    with _lock:
        loaded = _cache.get(key)
        if loaded is None:
            info = check_layout(Path(key))
            _quiet_kaldi()
            try:
                model = vosk.Model(str(info.path))
            except Exception as exc:  # vosk raises a bare Exception("Failed to create a model")
                raise ModelLayoutError(info.path, f"Vosk could not load it ({exc})") from exc
            loaded = LoadedModel(info=info, model=model)
            _cache[key] = loaded
        return loaded


def _quiet_kaldi() -> None:
    """Silence Kaldi's per-load chatter on stderr, once per process. Call with _lock held."""
    global _log_level_set
    if not _log_level_set:
        vosk.SetLogLevel(-1)
        _log_level_set = True


def reset_cache() -> None:
    """Forget every loaded model (tests). Recognizers already built keep their model alive."""
    with _lock:
        _cache.clear()
