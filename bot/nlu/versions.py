"""Trained model versions kept side by side, and the pointer to the one the bot serves.

    var/models/versions/<id>/model.npz       the embedded engine's weights
    var/models/versions/<id>/manifest.json   data fingerprint, metrics, created_at, created_by
    var/models/versions/<id>/data/           the training files it was trained on (lookups too)
    var/models/versions/<id>/report.json|png the evaluation report
    var/models/live.json                     {"version": "<id>"}: the published version

Without `live.json` the bot follows the training files (retraining when they change, the
behaviour of `hotline nlu train`). With it, every process serves that version until another one
is published or it is rolled back; the pointer is replaced atomically (write, then rename), so a
reader sees the old version or the new one, never half of a switch.
"""

from __future__ import annotations

import json
import os
import re
import uuid
from dataclasses import asdict, dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

_VERSION_ID = re.compile(r"^[0-9]{8}-[0-9]{6}-[0-9a-f]{6}$")


def models_dir(var_dir: Path) -> Path:
    return var_dir / "models"


def versions_dir(var_dir: Path) -> Path:
    return models_dir(var_dir) / "versions"


def pointer_path(var_dir: Path) -> Path:
    return models_dir(var_dir) / "live.json"


def new_version_id(now: datetime) -> str:
    return f"{now:%Y%m%d-%H%M%S}-{uuid.uuid4().hex[:6]}"


def is_version_id(value: str) -> bool:
    return bool(_VERSION_ID.fullmatch(value))


@dataclass
class Manifest:
    """What one trained version is: enough to decide whether to publish it."""

    id: str
    created_at: str  # ISO 8601, UTC
    created_by: str
    data_fingerprint: str
    examples: int
    intents: list[str]
    categories: list[str]
    metrics: dict[str, Any] = field(default_factory=dict)  # accuracy and macro-F1 by part
    train_seconds: float = 0.0
    published_at: str | None = None  # first publication
    note: str = ""

    def to_json(self) -> str:
        return json.dumps(asdict(self), ensure_ascii=False, indent=2) + "\n"

    @classmethod
    def from_json(cls, text: str) -> Manifest:
        raw = json.loads(text)
        known = set(cls.__dataclass_fields__)
        return cls(**{k: v for k, v in raw.items() if k in known})


@dataclass(frozen=True)
class Version:
    """A stored version on disk."""

    directory: Path
    manifest: Manifest

    @property
    def id(self) -> str:
        return self.manifest.id

    @property
    def model_path(self) -> Path:
        return self.directory / "model.npz"

    @property
    def data_dir(self) -> Path:
        return self.directory / "data"

    @property
    def report_json(self) -> Path:
        return self.directory / "report.json"

    @property
    def report_png(self) -> Path:
        return self.directory / "report.png"


class VersionError(ValueError):
    """No such version, or it is incomplete."""


def _write_atomically(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.{uuid.uuid4().hex[:8]}.tmp")
    tmp.write_text(text, encoding="utf-8")
    tmp.replace(path)


def save_manifest(directory: Path, manifest: Manifest) -> None:
    _write_atomically(directory / "manifest.json", manifest.to_json())


def get_version(var_dir: Path, version_id: str) -> Version:
    if not is_version_id(version_id):
        raise VersionError(f"{version_id!r} is not a model version id")
    directory = versions_dir(var_dir) / version_id
    manifest_file = directory / "manifest.json"
    if not manifest_file.is_file() or not (directory / "model.npz").is_file():
        raise VersionError(f"model version {version_id} does not exist")
    return Version(directory, Manifest.from_json(manifest_file.read_text(encoding="utf-8")))


def list_versions(var_dir: Path) -> list[Version]:
    """Every complete stored version, newest first."""
    root = versions_dir(var_dir)
    if not root.is_dir():
        return []
    found = []
    for child in root.iterdir():
        if child.is_dir() and is_version_id(child.name):
            try:
                found.append(get_version(var_dir, child.name))
            except (VersionError, ValueError):
                continue  # being written, or damaged: not offered
    return sorted(found, key=lambda v: v.id, reverse=True)


def pointer_stamp(var_dir: Path) -> tuple[int, int] | None:
    """A cheap change marker for the pointer (mtime, inode), None when there is none."""
    try:
        stat = pointer_path(var_dir).stat()
    except FileNotFoundError:
        return None
    return stat.st_mtime_ns, stat.st_ino


def live_version_id(var_dir: Path) -> str | None:
    try:
        raw = json.loads(pointer_path(var_dir).read_text(encoding="utf-8"))
    except FileNotFoundError:
        return None
    except ValueError:
        return None
    value = raw.get("version") if isinstance(raw, dict) else None
    return value if isinstance(value, str) and is_version_id(value) else None


def live_version(var_dir: Path) -> Version | None:
    """The published version, or None when the bot follows the training files."""
    version_id = live_version_id(var_dir)
    if version_id is None:
        return None
    try:
        return get_version(var_dir, version_id)
    except VersionError:
        return None


def publish(var_dir: Path, version_id: str, *, now: datetime, by: str) -> Version:
    """Make `version_id` the one every process serves (also used to roll back)."""
    version = get_version(var_dir, version_id)
    if version.manifest.published_at is None:
        version.manifest.published_at = now.isoformat()
        save_manifest(version.directory, version.manifest)
    pointer = {"version": version_id, "published_at": now.isoformat(), "published_by": by}
    _write_atomically(pointer_path(var_dir), json.dumps(pointer, ensure_ascii=False) + "\n")
    return version


def unpublish(var_dir: Path) -> None:
    """Serve a model trained on the current training files again (no pinned version)."""
    pointer_path(var_dir).unlink(missing_ok=True)
