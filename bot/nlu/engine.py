"""The two NLU backends behind one interface: the embedded engine and a real Rasa server.

Both answer `parse(text)` with the shape of Rasa's `POST /model/parse`, plus `category` (the
complaint category, or None), so the rest of the system does not care which one runs.
"""

from __future__ import annotations

import fcntl
import json
import logging
import time
import urllib.request
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

from bot.nlu.data import DATA_DIR, TrainingData, load_directory, yaml_files
from bot.nlu.entities import EntityExtractor
from bot.nlu.model import NluModel, fingerprint_files, train
from bot.nlu.versions import live_version, pointer_stamp
from intake.seed import HUE_WARDS

log = logging.getLogger(__name__)

FALLBACK_INTENT = "nlu_fallback"
COMPLAINT = "complaint"
RANKING_LENGTH = 10


class NluBackend(Protocol):
    def parse(self, text: str) -> dict[str, Any]: ...


def model_path(var_dir: Path) -> Path:
    return var_dir / "models" / "nlu-embedded.npz"


def data_fingerprint(data_dir: Path = DATA_DIR) -> str:
    return fingerprint_files(list(yaml_files(data_dir)))


def train_model(data: TrainingData, fingerprint: str = "") -> NluModel:
    examples = data.examples
    return train([e.text for e in examples], [e.full_intent for e in examples], fingerprint)


@dataclass
class _Source:
    """Where a loaded engine came from, so it can follow a newly published version."""

    var_dir: Path
    data_dir: Path
    code_prefix: str
    stamp: tuple[int, int] | None
    checked_at: float
    version: str | None


class EmbeddedNLU:
    """Intent, complaint category and entities, from the Rasa project's own training files.

    When a model version is published from the console (`bot/nlu/versions.py`), that version is
    served instead; an engine made by `load_or_train` notices a newly published version (or a
    rollback) within `REFRESH_SECONDS` and switches to it without a restart."""

    REFRESH_SECONDS = 5.0

    def __init__(
        self, model: NluModel, extractor: EntityExtractor, threshold: float = 0.35
    ) -> None:
        self.model = model
        self.extractor = extractor
        self.threshold = threshold
        self._source: _Source | None = None

    @property
    def version(self) -> str | None:
        """The published version served, or None when following the training files."""
        return self._source.version if self._source else None

    @classmethod
    def load_or_train(
        cls,
        var_dir: Path,
        *,
        data_dir: Path = DATA_DIR,
        threshold: float = 0.35,
        code_prefix: str = "HUE",
    ) -> EmbeddedNLU:
        """Load the published model version if there is one; otherwise the model trained on
        `data_dir`, training (and saving) it first if the data changed since."""
        stamp = pointer_stamp(var_dir)
        model, extractor, version = _load(var_dir, data_dir, code_prefix)
        nlu = cls(model, extractor, threshold)
        nlu._source = _Source(var_dir, data_dir, code_prefix, stamp, time.monotonic(), version)
        return nlu

    def refresh(self, *, force: bool = False) -> None:
        """Switch to the published version if it changed (checked at most every few seconds)."""
        source = self._source
        if source is None:
            return
        now = time.monotonic()
        if not force and now - source.checked_at < self.REFRESH_SECONDS:
            return
        source.checked_at = now
        stamp = pointer_stamp(source.var_dir)
        if stamp == source.stamp and not force:
            return
        self.model, self.extractor, source.version = _load(
            source.var_dir, source.data_dir, source.code_prefix
        )
        source.stamp = stamp
        log.info("NLU model switched to %s", source.version or "the training files' model")

    def parse(self, text: str) -> dict[str, Any]:
        self.refresh()
        text = text if isinstance(text, str) else ""
        intents, categories = self.model.predict(text)
        ranking = [{"name": n, "confidence": round(p, 4)} for n, p in intents[:RANKING_LENGTH]]
        top_name, top_p = intents[0]
        if not text.strip() or top_p < self.threshold:
            intent = {"name": FALLBACK_INTENT, "confidence": round(self.threshold, 4)}
            ranking.insert(0, dict(intent))
        else:
            intent = {"name": top_name, "confidence": round(top_p, 4)}
        category, category_p = categories[0]
        is_complaint = intent["name"] == COMPLAINT
        result: dict[str, Any] = {
            "text": text,
            "intent": intent,
            "entities": self.extractor.extract(text),
            "intent_ranking": ranking,
            "category": category if is_complaint else None,
            "category_confidence": round(category_p, 4) if is_complaint else None,
        }
        if is_complaint:
            result["response_selector"] = {
                "all_retrieval_intents": [COMPLAINT],
                COMPLAINT: {
                    "response": {
                        "intent_response_key": f"{COMPLAINT}/{category}",
                        "confidence": round(category_p, 4),
                        "utter_action": f"utter_{COMPLAINT}/{category}",
                    },
                    "ranking": [
                        {"intent_response_key": f"{COMPLAINT}/{c}", "confidence": round(p, 4)}
                        for c, p in categories[:RANKING_LENGTH]
                    ],
                },
            }
        return result


def _load(
    var_dir: Path, data_dir: Path, code_prefix: str
) -> tuple[NluModel, EntityExtractor, str | None]:
    published = live_version(var_dir)
    if published is not None:
        lookups_dir = published.data_dir if published.data_dir.is_dir() else data_dir
        model = NluModel.load(published.model_path)
        return model, extractor_for(load_directory(lookups_dir), code_prefix), published.id
    data = load_directory(data_dir)
    fingerprint = data_fingerprint(data_dir)
    path = model_path(var_dir)
    current = _load_current(path, fingerprint)
    if current is None:
        # Several worker processes may start together: one trains, the others wait for it
        # and load what it saved.
        path.parent.mkdir(parents=True, exist_ok=True)
        with path.with_suffix(".lock").open("w") as lock:
            fcntl.flock(lock, fcntl.LOCK_EX)
            current = _load_current(path, fingerprint)
            if current is None:
                started = time.perf_counter()
                current = train_model(data, fingerprint)
                current.save(path)
                log.info("trained the embedded NLU model in %.1f s", time.perf_counter() - started)
    return current, extractor_for(data, code_prefix), None


class RasaNLU:
    """A real Rasa server (`rasa run --enable-api`): `POST /model/parse`."""

    def __init__(self, url: str, timeout: float = 10.0) -> None:
        self.url = url.rstrip("/")
        self.timeout = timeout

    def parse(self, text: str) -> dict[str, Any]:
        request = urllib.request.Request(  # noqa: S310 - the configured Rasa URL
            f"{self.url}/model/parse",
            data=json.dumps({"text": text}).encode("utf-8"),
            headers={"Content-Type": "application/json"},
            method="POST",
        )
        with urllib.request.urlopen(request, timeout=self.timeout) as response:  # noqa: S310
            result: dict[str, Any] = json.loads(response.read())
        return with_category(result)


def with_category(result: dict[str, Any]) -> dict[str, Any]:
    """Add `category` to a Rasa parse result from its response selector."""
    intent = (result.get("intent") or {}).get("name")
    category = None
    confidence = None
    if intent == COMPLAINT:
        response = ((result.get("response_selector") or {}).get(COMPLAINT) or {}).get("response")
        key = (response or {}).get("intent_response_key") or ""
        if "/" in key:
            category = key.split("/", 1)[1]
            confidence = response.get("confidence") if response else None
    result["category"] = category
    result["category_confidence"] = confidence
    return result


def extractor_for(data: TrainingData, code_prefix: str = "HUE") -> EntityExtractor:
    wards = [*HUE_WARDS, *data.lookups.get("ward", [])]
    streets = data.lookups.get("street", [])
    return EntityExtractor(wards, streets, code_prefix)


def _load_current(path: Path, fingerprint: str) -> NluModel | None:
    """The saved model if it was trained on this data, else None."""
    if not path.is_file():
        return None
    model = NluModel.load(path)
    return model if model.fingerprint == fingerprint else None
