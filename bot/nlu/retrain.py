"""Train a new model version from the training files and evaluate it, without serving it.

The version (weights, a snapshot of the training files, the evaluation report and its manifest)
is written under `var/models/versions/<id>/`; publishing it is a separate step
(`bot.nlu.versions.publish`), so an admin looks at the report first.
"""

from __future__ import annotations

import shutil
import time
from datetime import datetime
from pathlib import Path
from typing import Any

from bot.nlu.data import HOLDOUT_DIR, load_directory, yaml_files
from bot.nlu.engine import data_fingerprint, train_model
from bot.nlu.evaluate import score, write_report
from bot.nlu.versions import Manifest, Version, new_version_id, save_manifest, versions_dir


def _headline(section: dict[str, Any]) -> dict[str, float]:
    return {
        "intent_accuracy": section["intent"]["accuracy"],
        "intent_macro_f1": section["intent"]["macro_f1"],
        "category_accuracy": section["category"]["accuracy"],
        "category_macro_f1": section["category"]["macro_f1"],
    }


def train_version(
    var_dir: Path,
    data_dir: Path,
    *,
    now: datetime,
    created_by: str,
    holdout_dir: Path = HOLDOUT_DIR,
    note: str = "",
) -> Version:
    """Train on `data_dir`, score on the held-out set, store everything as a new version."""
    data = load_directory(data_dir)
    fingerprint = data_fingerprint(data_dir)
    version_id = new_version_id(now)
    final = versions_dir(var_dir) / version_id
    work = final.with_name(f".{version_id}.partial")  # invisible to list_versions until done
    snapshot = work / "data"
    snapshot.mkdir(parents=True)
    for path in yaml_files(data_dir):
        target = snapshot / path.relative_to(data_dir)
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(path, target)
    started = time.perf_counter()
    model = train_model(data, fingerprint)
    train_seconds = round(time.perf_counter() - started, 2)
    model.save(work / "model.npz")
    report: dict[str, Any] = {}
    if holdout_dir.is_dir():
        report["holdout"] = score(model, load_directory(holdout_dir))
    metrics: dict[str, Any] = {}
    if report:
        json_path, png_path = write_report(report, work)
        json_path.replace(work / "report.json")
        png_path.replace(work / "report.png")
        metrics = {"holdout": _headline(report["holdout"])}
    manifest = Manifest(
        id=version_id,
        created_at=now.isoformat(),
        created_by=created_by,
        data_fingerprint=fingerprint,
        examples=len(data.examples),
        intents=data.intents,
        categories=data.categories,
        metrics=metrics,
        train_seconds=train_seconds,
        note=note,
    )
    save_manifest(work, manifest)
    work.replace(final)
    return Version(final, manifest)
