"""Read the Rasa project's own training files, so the embedded engine and Rasa learn from one
copy of the data.

Supports what the project uses of Rasa 3's NLU YAML: `intent` blocks (with retrieval intents
`complaint/<category>`), `[text](entity)` and `[text]{"entity": ..., "value": ...}` annotations,
`lookup`, `synonym` and `regex` blocks.
"""

from __future__ import annotations

import json
import re
import unicodedata
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

import yaml

BOT_DIR = Path(__file__).resolve().parent.parent
DATA_DIR = BOT_DIR / "data"
HOLDOUT_DIR = BOT_DIR / "holdout"

# [text](entity), [text](entity:value) or [text]{"entity": "...", "value": "..."}
_ANNOTATION = re.compile(r"\[(?P<text>[^\]]+)\](?:\((?P<paren>[^)]+)\)|(?P<json>\{[^}]*\}))")


@dataclass(frozen=True)
class Entity:
    start: int
    end: int
    entity: str
    value: str


@dataclass(frozen=True)
class Example:
    text: str
    intent: str  # the base intent: "complaint" for "complaint/noise"
    category: str | None  # the retrieval sub-intent, complaints only
    entities: tuple[Entity, ...] = ()

    @property
    def full_intent(self) -> str:
        return f"{self.intent}/{self.category}" if self.category else self.intent


@dataclass
class TrainingData:
    examples: list[Example] = field(default_factory=list)
    lookups: dict[str, list[str]] = field(default_factory=dict)
    synonyms: dict[str, str] = field(default_factory=dict)
    regexes: dict[str, list[str]] = field(default_factory=dict)

    def extend(self, other: TrainingData) -> None:
        self.examples.extend(other.examples)
        for name, values in other.lookups.items():
            self.lookups.setdefault(name, []).extend(values)
        self.synonyms.update(other.synonyms)
        for name, patterns in other.regexes.items():
            self.regexes.setdefault(name, []).extend(patterns)

    @property
    def intents(self) -> list[str]:
        return sorted({e.intent for e in self.examples})

    @property
    def categories(self) -> list[str]:
        return sorted({e.category for e in self.examples if e.category})


class DataError(ValueError):
    """A training file is malformed; the message names the file and the problem."""


def parse_example(raw: str, full_intent: str) -> Example:
    """Strip annotations from one example line, keeping the entity spans in the plain text."""
    raw = unicodedata.normalize("NFC", raw)
    entities: list[Entity] = []
    plain: list[str] = []
    cursor = 0
    length = 0
    for match in _ANNOTATION.finditer(raw):
        before = raw[cursor : match.start()]
        plain.append(before)
        length += len(before)
        text = match.group("text")
        if match.group("json"):
            spec = json.loads(match.group("json"))
            name, value = spec["entity"], spec.get("value", text)
        else:
            name, _, value = match.group("paren").partition(":")
            value = value or text
        entities.append(Entity(length, length + len(text), name.strip(), value))
        plain.append(text)
        length += len(text)
        cursor = match.end()
    plain.append(raw[cursor:])
    intent, _, category = full_intent.partition("/")
    return Example("".join(plain), intent, category or None, tuple(entities))


def _examples_block(block: object, where: str) -> list[str]:
    if not isinstance(block, str):
        raise DataError(f"{where}: `examples` must be a `|` block of '- ' lines")
    lines = []
    for line in block.splitlines():
        line = line.strip()
        if not line:
            continue
        if not line.startswith("- "):
            raise DataError(f"{where}: example line must start with '- ': {line!r}")
        lines.append(line[2:].strip())
    return lines


def load_file(path: Path) -> TrainingData:
    """Load one Rasa NLU YAML file (files without an `nlu` key, like stories, give nothing)."""
    try:
        document = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    except yaml.YAMLError as exc:
        raise DataError(f"{path}: not valid YAML: {exc}") from exc
    data = TrainingData()
    for index, item in enumerate(document.get("nlu") or [], start=1):
        where = f"{path}: nlu item {index}"
        if "intent" in item:
            for line in _examples_block(item.get("examples"), where):
                data.examples.append(parse_example(line, str(item["intent"])))
        elif "lookup" in item:
            values = _examples_block(item.get("examples"), where)
            data.lookups.setdefault(str(item["lookup"]), []).extend(
                unicodedata.normalize("NFC", v) for v in values
            )
        elif "synonym" in item:
            for value in _examples_block(item.get("examples"), where):
                data.synonyms[unicodedata.normalize("NFC", value).lower()] = str(item["synonym"])
        elif "regex" in item:
            data.regexes.setdefault(str(item["regex"]), []).extend(
                _examples_block(item.get("examples"), where)
            )
        else:
            raise DataError(f"{where}: expected intent, lookup, synonym or regex")
    return data


def yaml_files(directory: Path) -> Iterable[Path]:
    return sorted(
        p for p in directory.rglob("*.y*ml") if p.suffix in {".yml", ".yaml"} and p.name[0] != "_"
    )


def load_directory(directory: Path = DATA_DIR) -> TrainingData:
    """Everything under a Rasa `data/` directory (what `rasa train` reads)."""
    if not directory.is_dir():
        raise DataError(f"{directory}: no such training data directory")
    data = TrainingData()
    for path in yaml_files(directory):
        data.extend(load_file(path))
    if not data.examples:
        raise DataError(f"{directory}: no training examples found")
    return data
