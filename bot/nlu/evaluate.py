"""How good the embedded engine is: k-fold cross-validation on the training data, and the score on
the held-out set it never trains on. Reports per-label precision, recall, F1 and the confusion
matrices as JSON and a PNG."""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from bot.nlu.data import Example, TrainingData
from bot.nlu.engine import train_model
from bot.nlu.model import NluModel


def _report(truth: Sequence[str], predicted: Sequence[str]) -> dict[str, Any]:
    from sklearn.metrics import accuracy_score, confusion_matrix, precision_recall_fscore_support

    labels = sorted(set(truth) | set(predicted))
    precision, recall, f1, support = precision_recall_fscore_support(
        truth, predicted, labels=labels, zero_division=0
    )
    per_label = {
        label: {
            "precision": round(float(p), 4),
            "recall": round(float(r), 4),
            "f1": round(float(f), 4),
            "support": int(s),
        }
        for label, p, r, f, s in zip(labels, precision, recall, f1, support, strict=True)
    }
    present = [lab for lab in labels if per_label[lab]["support"] > 0]
    return {
        "accuracy": round(float(accuracy_score(truth, predicted)), 4),
        "macro_f1": round(float(np.mean([per_label[lab]["f1"] for lab in present])), 4),
        "labels": per_label,
        "confusion_matrix": {
            "labels": labels,
            "matrix": confusion_matrix(truth, predicted, labels=labels).tolist(),
        },
    }


def _predict_all(
    train_examples: Sequence[Example], test_examples: Sequence[Example]
) -> tuple[list[str], list[str], list[str], list[str]]:
    model = train_model(TrainingData(examples=list(train_examples)))
    return _predict_with(model, test_examples)


def _predict_with(
    model: NluModel, test_examples: Sequence[Example]
) -> tuple[list[str], list[str], list[str], list[str]]:
    intents_true, intents_pred, cats_true, cats_pred = [], [], [], []
    for example in test_examples:
        intent_ranking, category_ranking = model.predict(example.text)
        intents_true.append(example.intent)
        intents_pred.append(intent_ranking[0][0])
        if example.category:
            cats_true.append(example.category)
            cats_pred.append(category_ranking[0][0])
    return intents_true, intents_pred, cats_true, cats_pred


def cross_validate(
    data: TrainingData,
    folds: int = 5,
    seed: int = 13,
    progress: Callable[[str], None] | None = None,
) -> dict[str, Any]:
    from sklearn.model_selection import StratifiedKFold

    examples = data.examples
    labels = [e.full_intent for e in examples]
    splitter = StratifiedKFold(n_splits=folds, shuffle=True, random_state=seed)
    all_true: list[str] = []
    all_pred: list[str] = []
    cat_true: list[str] = []
    cat_pred: list[str] = []
    for fold_no, (train_idx, test_idx) in enumerate(splitter.split(examples, labels), start=1):
        started = time.perf_counter()
        t, p, ct, cp = _predict_all(
            [examples[i] for i in train_idx], [examples[i] for i in test_idx]
        )
        all_true += t
        all_pred += p
        cat_true += ct
        cat_pred += cp
        if progress:
            progress(f"fold {fold_no}/{folds}: {time.perf_counter() - started:.1f} s")
    return {
        "folds": folds,
        "examples": len(examples),
        "intent": _report(all_true, all_pred),
        "category": _report(cat_true, cat_pred),
    }


def holdout(data: TrainingData, test: TrainingData) -> dict[str, Any]:
    t, p, ct, cp = _predict_all(data.examples, test.examples)
    return {
        "examples": len(test.examples),
        "intent": _report(t, p),
        "category": _report(ct, cp),
    }


def score(model: NluModel, test: TrainingData) -> dict[str, Any]:
    """The held-out report for an already trained model (no retraining)."""
    t, p, ct, cp = _predict_with(model, test.examples)
    return {
        "examples": len(test.examples),
        "intent": _report(t, p),
        "category": _report(ct, cp),
    }


def write_report(report: dict[str, Any], out_dir: Path) -> tuple[Path, Path]:
    out_dir.mkdir(parents=True, exist_ok=True)
    json_path = out_dir / "nlu-eval.json"
    json_path.write_text(json.dumps(report, indent=2, ensure_ascii=False) + "\n", "utf-8")
    png_path = out_dir / "nlu-eval.png"
    _plot(report, png_path)
    return json_path, png_path


def _plot(report: dict[str, Any], path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    sections = [(k, report[k]) for k in ("cross_validation", "holdout") if k in report]
    fig, axes = plt.subplots(len(sections), 2, figsize=(16, 7.5 * len(sections)), squeeze=False)
    for row, (name, section) in enumerate(sections):
        for col, part in enumerate(("intent", "category")):
            ax = axes[row][col]
            cm = section[part]["confusion_matrix"]
            matrix = np.array(cm["matrix"], dtype=float)
            sums = matrix.sum(axis=1, keepdims=True)
            normalised = np.divide(matrix, sums, out=np.zeros_like(matrix), where=sums > 0)
            ax.imshow(normalised, cmap="Blues", vmin=0, vmax=1)
            ticks = range(len(cm["labels"]))
            ax.set_xticks(ticks, cm["labels"], rotation=60, ha="right", fontsize=8)
            ax.set_yticks(ticks, cm["labels"], fontsize=8)
            for i in ticks:
                for j in ticks:
                    if matrix[i, j]:
                        colour = "white" if normalised[i, j] > 0.5 else "black"
                        ax.text(
                            j,
                            i,
                            int(matrix[i, j]),
                            ha="center",
                            va="center",
                            fontsize=7,
                            color=colour,
                        )
            ax.set_xlabel("predicted")
            ax.set_ylabel("true")
            ax.set_title(
                f"{name} · {part}: accuracy {section[part]['accuracy']:.3f}, "
                f"macro-F1 {section[part]['macro_f1']:.3f}"
            )
    fig.tight_layout()
    fig.savefig(path, dpi=90)
    plt.close(fig)
