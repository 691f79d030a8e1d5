"""The embedded classifier: sparse word and character n-gram features on accent-folded text,
TF-IDF weighted, and multinomial logistic regression for the intent and, for complaints, the
category.

Training uses scikit-learn; prediction is a few NumPy operations on the learned weights, so one
message costs a fraction of a millisecond on one core.
"""

from __future__ import annotations

import hashlib
import itertools
import json
import os
import re
import unicodedata
import uuid
import zlib
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from scipy import sparse

from bot.nlu.text import canonical_words_folded, fold, words

MAX_CHARS = 1000  # beyond this a message adds nothing to its intent, only cost
BUCKETS = 1 << 18  # hashed feature space; collisions are rare at this size
_ACCENTED = re.compile(r"\w+")
_DIGIT = re.compile(r"\d")
_MAX_NGRAM = 5
COMPLAINT_PREFIX = "complaint/"
# SVM margins to pseudo-probabilities: softmax(margin * scale). With this scale a confident
# answer scores above 0.8 and a message unlike the training data falls under the fallback
# threshold (see `hotline nlu eval`).
SCORE_SCALE = 3.0
_RADIX = 40
# Folded text as small integers: a-z 1..26, any digit 27, space 28, anything else 29.
_CODES = np.full(256, 29, dtype=np.int64)
_CODES[ord("a") : ord("z") + 1] = np.arange(1, 27)
_CODES[ord("0") : ord("9") + 1] = 27
_CODES[ord(" ")] = 28


def _bucket_of_string(feature: str) -> int:
    return zlib.crc32(feature.encode("utf-8")) & (BUCKETS - 1)


def features(text: str) -> np.ndarray:
    """The hashed feature ids of one message.

    Character 2- to 5-grams of the accent-folded words (typos and missing diacritics still
    share most n-grams), computed with NumPy; folded words after teencode expansion and word
    pairs; and words written with diacritics, which carry meaning when present.
    """
    nfc = unicodedata.normalize("NFC", text[:MAX_CHARS]).lower()
    folded = fold(nfc)
    canon = canonical_words_folded(folded)
    strings = ["w:" + t for t in canon]
    strings += ["b:" + a + "_" + b for a, b in itertools.pairwise(canon)]
    if not nfc.isascii():
        strings += ["a:" + t for t in _ACCENTED.findall(nfc) if not t.isascii()]
    if not canon:
        strings.append("<empty>")
    ids = [_bucket_of_string(f) for f in strings]
    padded = " " + " ".join(words(folded)) + " "
    codes = _CODES[np.frombuffer(padded.encode("ascii", "replace"), dtype=np.uint8)]
    # n-gram codes in base 40 built one from the other; codes are never 0, so n-grams of
    # different lengths fall in disjoint ranges and cannot collide before hashing.
    grams = [codes[:-1] * _RADIX + codes[1:]]
    for n in range(3, _MAX_NGRAM + 1):
        previous = grams[-1]
        if len(previous) < 2:
            break
        grams.append(previous[:-1] * _RADIX + codes[n - 1 :])
    hashed = ((np.concatenate(grams) * 2654435761) >> 7) & (BUCKETS - 1)
    # Repeats are kept: they count like term frequency, the same way in training and use.
    return np.concatenate([np.asarray(ids, dtype=np.int64), hashed])


@dataclass
class Vectorizer:
    """IDF weights per hashed feature; features never seen in training weigh nothing."""

    idf: np.ndarray  # BUCKETS long, 0 for buckets unseen in training

    @classmethod
    def fit(cls, docs: Sequence[np.ndarray]) -> Vectorizer:
        df = np.bincount(np.concatenate([np.unique(d) for d in docs]), minlength=BUCKETS).astype(
            np.float64
        )
        n = len(docs)
        idf = np.where(df > 0, np.log((1 + n) / (1 + df)) + 1.0, 0.0)
        return cls(idf)

    def indices_values(self, ids: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Known feature ids and their L2-normalised IDF weights."""
        values = self.idf[ids]
        known = values > 0
        idx, values = ids[known], values[known]
        if len(values):
            values = values / np.sqrt(values @ values)
        return idx, values

    def matrix(self, docs: Sequence[np.ndarray]) -> sparse.csr_matrix:
        rows = [self.indices_values(ids) for ids in docs]
        indptr = np.cumsum([0] + [len(idx) for idx, _ in rows])
        return sparse.csr_matrix(
            (
                np.concatenate([v for _, v in rows]),
                np.concatenate([i for i, _ in rows]),
                indptr,
            ),
            shape=(len(docs), BUCKETS),
        )


@dataclass
class LinearModel:
    classes: list[str]
    weights: np.ndarray  # features x classes
    bias: np.ndarray

    @classmethod
    def fit(cls, x: sparse.csr_matrix, labels: Sequence[str], c: float = 2.0) -> LinearModel:
        """A linear SVM (one-vs-rest), classes weighted by their size so the many complaint
        examples do not drown out emergencies; trains in about a second."""
        from sklearn.svm import LinearSVC

        # Train on the columns in use only, then scatter back into the hashed space.
        used = np.unique(x.indices)
        classifier = LinearSVC(C=c, class_weight="balanced", max_iter=5000)
        classifier.fit(x[:, used], list(labels))
        weights = np.zeros((x.shape[1], len(classifier.classes_)), dtype=np.float32)
        weights[used] = classifier.coef_.T
        return cls(
            classes=[str(c) for c in classifier.classes_],
            weights=weights,
            bias=classifier.intercept_.astype(np.float64),
        )


@dataclass
class NluModel:
    """One classifier over full labels (`complaint/noise`, `greeting`, ...) and the IDF weights,
    saved as one `.npz` file. The complaint category comes from the complaint labels alone."""

    vectorizer: Vectorizer
    labels: LinearModel
    fingerprint: str

    def __post_init__(self) -> None:
        classes = self.labels.classes
        self.intent_names = sorted({c.split("/", 1)[0] for c in classes})
        intent_index = {name: i for i, name in enumerate(self.intent_names)}
        self._intent_of = np.array([intent_index[c.split("/", 1)[0]] for c in classes])
        self._complaint = np.array(
            [i for i, c in enumerate(classes) if c.startswith(COMPLAINT_PREFIX)]
        )
        self.category_names = [classes[i].split("/", 1)[1] for i in self._complaint]

    def predict(self, text: str) -> tuple[list[tuple[str, float]], list[tuple[str, float]]]:
        """Intent ranking and complaint-category ranking, best first."""
        idx, values = self.vectorizer.indices_values(features(text))
        weights = self.labels.weights
        scores = (
            values @ weights[idx] if len(idx) else np.zeros(weights.shape[1])
        ) + self.labels.bias
        p = _softmax(scores * SCORE_SCALE)
        # An intent scores its best label (summing would let twelve complaint labels outvote
        # one emergency label); renormalised over intents.
        intent_p = np.zeros(len(self.intent_names))
        np.maximum.at(intent_p, self._intent_of, p)
        intent_p /= intent_p.sum()
        category_p = p[self._complaint] if len(self._complaint) else np.zeros(0)
        if category_p.sum() > 0:
            category_p = category_p / category_p.sum()
        return _ranked(self.intent_names, intent_p), _ranked(self.category_names, category_p)

    def save(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        meta = {"fingerprint": self.fingerprint, "classes": self.labels.classes, "buckets": BUCKETS}
        # A name of its own, so processes saving at once never write into each other's file.
        tmp = path.with_name(f"{path.stem}.{os.getpid()}.{uuid.uuid4().hex[:8]}.tmp.npz")
        np.savez_compressed(
            tmp,
            meta=np.frombuffer(json.dumps(meta, ensure_ascii=False).encode("utf-8"), np.uint8),
            idf=self.vectorizer.idf,
            weights=self.labels.weights,
            bias=self.labels.bias,
        )
        tmp.replace(path)  # readers never see a half-written model

    @classmethod
    def load(cls, path: Path) -> NluModel:
        with np.load(path) as archive:
            meta = json.loads(archive["meta"].tobytes().decode("utf-8"))
            if meta.get("buckets") != BUCKETS or "classes" not in meta:
                raise ValueError(f"{path}: made by another version of the engine; retrain")
            return cls(
                vectorizer=Vectorizer(archive["idf"]),
                labels=LinearModel(meta["classes"], archive["weights"], archive["bias"]),
                fingerprint=meta["fingerprint"],
            )


def train(texts: Sequence[str], labels: Sequence[str], fingerprint: str = "") -> NluModel:
    """Train on messages and their full labels (`complaint/<category>` or an intent)."""
    docs = [features(t) for t in texts]
    vectorizer = Vectorizer.fit(docs)
    return NluModel(vectorizer, LinearModel.fit(vectorizer.matrix(docs), labels), fingerprint)


def fingerprint_files(paths: Sequence[Path]) -> str:
    digest = hashlib.sha256()
    for path in sorted(paths):
        digest.update(path.name.encode())
        digest.update(path.read_bytes())
    return digest.hexdigest()[:16]


def _softmax(scores: np.ndarray) -> np.ndarray:
    exp = np.exp(scores - scores.max())
    result: np.ndarray = exp / exp.sum()
    return result


def _ranked(classes: list[str], probabilities: np.ndarray) -> list[tuple[str, float]]:
    order = np.argsort(-probabilities)
    return [(classes[i], float(probabilities[i])) for i in order]
