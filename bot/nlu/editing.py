"""Edit the Rasa NLU training files in place: add, change and delete examples of an intent,
import and export Rasa NLU YAML.

The files are edited line by line, not re-dumped, so their layout, comments and order stay as
people wrote them: an example is one `    - text` line inside an intent's `examples: |` block.
Every change is checked before it is written: the label must be one of the domain's intents (a
complaint needs a category that has an `utter_complaint/<category>` response), entity
annotations must name domain entities, the same text may not be labelled twice, and the
rewritten file must load with `bot.nlu.data.load_file` (what `rasa data validate` also needs).
Files are replaced atomically. Messages meant for the console are in Vietnamese.
"""

from __future__ import annotations

import fcntl
import hashlib
import os
import re
import tempfile
import unicodedata
import uuid
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

import yaml

from bot.nlu.data import DataError, load_file, parse_example, yaml_files
from bot.nlu.text import fold

COMPLAINT = "complaint"
_ITEM = re.compile(r"^- intent:\s*(?P<intent>\S+)\s*$")
_EXAMPLES_KEY = re.compile(r"^(?P<indent>\s+)examples:\s*\|[-+]?\s*$")
_EXAMPLE = re.compile(r"^(?P<indent>\s+)- (?P<raw>.*\S)\s*$")
# Not offered as labels: Rasa's own fallback is what the model says when it is unsure.
_NOT_LABELS = {"nlu_fallback"}
_PREFERRED_FILE = "nlu.yml"


class EditError(ValueError):
    """The change was refused; the message says why, in Vietnamese."""


@dataclass(frozen=True)
class StoredExample:
    id: str
    file: str  # path relative to the data directory
    line: int  # 1-based
    intent: str  # the full label: "greeting" or "complaint/noise"
    raw: str  # as written, with entity annotations
    text: str  # plain text

    @property
    def base_intent(self) -> str:
        return self.intent.partition("/")[0]

    @property
    def category(self) -> str | None:
        return self.intent.partition("/")[2] or None


@dataclass(frozen=True)
class Labels:
    intents: list[str]  # "complaint" stands for the retrieval intent
    categories: list[str]
    entities: list[str]

    def full_intent(self, intent: str, category: str | None) -> str:
        """Check a label against the domain and give the full Rasa label."""
        intent = intent.strip()
        category = (category or "").strip() or None
        if intent not in self.intents:
            raise EditError(f"Ý định “{intent}” không có trong domain.yml của bot.")
        if intent == COMPLAINT:
            if category is None:
                raise EditError("Phản ánh (complaint) cần chọn một lĩnh vực.")
            if category not in self.categories:
                raise EditError(f"Lĩnh vực “{category}” không có trong domain.yml của bot.")
            return f"{COMPLAINT}/{category}"
        return intent

    def check_full_intent(self, full: str) -> str:
        intent, _, category = full.partition("/")
        if intent != COMPLAINT and category:
            raise EditError(f"Nhãn “{full}” không hợp lệ: chỉ complaint có lĩnh vực.")
        return self.full_intent(intent, category or None)


def domain_labels(domain_path: Path) -> Labels:
    """The intents, complaint categories and entities declared in the bot's domain.yml."""
    domain = yaml.safe_load(domain_path.read_text(encoding="utf-8")) or {}
    intents: list[str] = []
    for item in domain.get("intents") or []:
        name = next(iter(item)) if isinstance(item, dict) else str(item)
        if name not in _NOT_LABELS:
            intents.append(str(name))
    prefix = f"utter_{COMPLAINT}/"
    categories = [
        str(key)[len(prefix) :]
        for key in (domain.get("responses") or {})
        if str(key).startswith(prefix)
    ]
    entities = [str(e if not isinstance(e, dict) else next(iter(e))) for e in domain["entities"]]
    return Labels(intents, categories, entities)


@dataclass
class ImportResult:
    added: int = 0
    already_present: int = 0
    conflicts: list[str] = field(default_factory=list)  # texts labelled otherwise already
    ignored_items: int = 0  # lookups, synonyms, regexes: not examples


def _example_id(file: str, intent: str, raw: str) -> str:
    return hashlib.sha1(f"{file}\0{intent}\0{raw}".encode()).hexdigest()[:12]  # noqa: S324


def _clean_raw(raw: str) -> str:
    raw = unicodedata.normalize("NFC", raw).strip()
    if not raw:
        raise EditError("Câu mẫu không được để trống.")
    # Every line break YAML or str.splitlines knows (U+2028, NEL, form feed, ...), not just \n:
    # one inside a line would split the example when the file is next read.
    if len(raw.splitlines()) > 1:
        raise EditError("Mỗi câu mẫu chỉ được viết trên một dòng.")
    if len(raw) > 2000:
        raise EditError("Câu mẫu dài quá 2.000 ký tự.")
    return raw


def _remove_example(lines: list[str], index: int) -> None:
    """Delete one example line; an intent item left without examples goes with it (Rasa
    warns “Intent '…' has no examples” about an empty `examples: |` block)."""
    del lines[index]
    start = index - 1
    while start >= 0 and not _ITEM.match(lines[start]):
        if lines[start].strip() and not lines[start][0].isspace():
            return  # not inside an intent item
        start -= 1
    if start < 0:
        return
    end = start + 1
    while end < len(lines) and (not lines[end].strip() or lines[end][0].isspace()):
        end += 1
    if not any(_EXAMPLE.match(line) for line in lines[start + 1 : end]):
        del lines[start:end]


def _same_text_key(text: str) -> str:
    return unicodedata.normalize("NFC", text).strip()


class TrainingFiles:
    """The NLU files under a Rasa `data/` directory, edited in place."""

    def __init__(self, data_dir: Path, domain_path: Path) -> None:
        self.data_dir = data_dir
        self.domain_path = domain_path

    @property
    def labels(self) -> Labels:
        return domain_labels(self.domain_path)

    # Reading ----------------------------------------------------------------------------

    def _files(self) -> list[Path]:
        return list(yaml_files(self.data_dir))

    def _scan(self, path: Path, lines: Sequence[str]) -> Iterator[tuple[int, str, str, str]]:
        """(line index, full intent, indentation, raw) of every example line in a file."""
        intent: str | None = None
        key_indent: int | None = None
        for index, line in enumerate(lines):
            if not line.strip():
                continue
            item = _ITEM.match(line)
            if item:
                intent, key_indent = item.group("intent"), None
                continue
            if not line[0].isspace():
                intent, key_indent = None, None
                continue
            if intent is None:
                continue
            key = _EXAMPLES_KEY.match(line)
            if key:
                key_indent = len(key.group("indent"))
                continue
            example = _EXAMPLE.match(line)
            if key_indent is not None and example and len(example.group("indent")) > key_indent:
                yield index, intent, example.group("indent"), example.group("raw").strip()

    def examples(self) -> list[StoredExample]:
        found = []
        for path in self._files():
            name = path.relative_to(self.data_dir).as_posix()
            lines = path.read_text(encoding="utf-8").splitlines()
            for index, intent, _indent, raw in self._scan(path, lines):
                text = parse_example(raw, intent).text
                found.append(
                    StoredExample(
                        _example_id(name, intent, raw), name, index + 1, intent, raw, text
                    )
                )
        return found

    def search(self, query: str = "", intent: str = "", category: str = "") -> list[StoredExample]:
        """Examples whose text contains `query` (without regard to accents or case)."""
        needle = fold(query).strip() if query.strip() else ""
        result = []
        for example in self.examples():
            if intent and example.base_intent != intent:
                continue
            if category and example.category != category:
                continue
            if needle and needle not in fold(example.text):
                continue
            result.append(example)
        return result

    def get(self, example_id: str) -> StoredExample:
        for example in self.examples():
            if example.id == example_id:
                return example
        raise EditError("Không tìm thấy câu mẫu này (có thể đã được sửa hoặc xóa).")

    # Writing ----------------------------------------------------------------------------

    @contextmanager
    def _locked(self) -> Iterator[None]:
        """One writer at a time, across processes (gunicorn workers)."""
        key = hashlib.sha1(str(self.data_dir.resolve()).encode()).hexdigest()[:16]  # noqa: S324
        lock_path = Path(tempfile.gettempdir()) / f"hotline-nlu-edit-{key}.lock"
        with lock_path.open("w") as lock:
            fcntl.flock(lock, fcntl.LOCK_EX)
            yield

    def _check(self, full_intent: str, raw: str, labels: Labels | None = None) -> tuple[str, str]:
        labels = labels or self.labels
        full_intent = labels.check_full_intent(full_intent)
        raw = _clean_raw(raw)
        try:
            example = parse_example(raw, full_intent)
        except (ValueError, KeyError) as exc:
            raise EditError("Chú thích thực thể không đúng cú pháp [chữ](tên_thực_thể).") from exc
        for entity in example.entities:
            if entity.entity not in labels.entities:
                raise EditError(f"Thực thể “{entity.entity}” không có trong domain.yml của bot.")
        if not example.text.strip():
            raise EditError("Câu mẫu không được để trống.")
        return full_intent, raw

    def _taken(self, text: str, ignore_id: str | None = None) -> StoredExample | None:
        key = _same_text_key(text)
        for example in self.examples():
            if example.id != ignore_id and _same_text_key(example.text) == key:
                return example
        return None

    def _write(self, path: Path, lines: list[str]) -> None:
        content = "\n".join(lines) + "\n"
        tmp = path.with_name(f".{path.name}.{os.getpid()}.{uuid.uuid4().hex[:8]}.tmp")
        tmp.write_text(content, encoding="utf-8")
        try:
            load_file(tmp)  # the loader (and so Rasa) must still read it
        except DataError as exc:
            tmp.unlink(missing_ok=True)
            raise EditError(f"Thay đổi làm hỏng tệp {path.name}: {exc}") from exc
        tmp.replace(path)

    def _insert_many(self, additions: Sequence[tuple[str, str]]) -> None:
        """Append each (full intent, raw) to the last block of its intent, preferring nlu.yml;
        an intent with no block yet gets a new one at the end of nlu.yml."""
        files = self._files()
        contents = {p: p.read_text(encoding="utf-8").splitlines() for p in files}
        # The place after which an intent's next example goes, per intent.
        anchors: dict[str, tuple[Path, int, str]] = {}
        ordered = sorted(files, key=lambda p: p.name == _PREFERRED_FILE)
        for path in ordered:
            for index, intent, indent, _raw in self._scan(path, contents[path]):
                anchors[intent] = (path, index, indent)
        target_new = self.data_dir / _PREFERRED_FILE
        inserts: dict[Path, dict[int, list[str]]] = {}
        appended: dict[str, list[str]] = {}
        for intent, raw in additions:
            if intent in anchors:
                path, index, indent = anchors[intent]
                inserts.setdefault(path, {}).setdefault(index, []).append(f"{indent}- {raw}")
            else:
                appended.setdefault(intent, []).append(f"    - {raw}")
        changed: set[Path] = set(inserts)
        for path, at in inserts.items():
            lines = contents[path]
            for index in sorted(at, reverse=True):
                lines[index + 1 : index + 1] = at[index]
        if appended:
            if target_new not in contents:
                contents[target_new] = ['version: "3.1"', "nlu:"]
            lines = contents[target_new]
            while lines and not lines[-1].strip():
                lines.pop()
            for intent, new_lines in appended.items():
                lines += [f"- intent: {intent}", "  examples: |", *new_lines]
            changed.add(target_new)
        for path in changed:
            self._write(path, contents[path])

    def add(self, full_intent: str, raw: str) -> StoredExample:
        """Add one example to an intent."""
        with self._locked():
            full_intent, raw = self._check(full_intent, raw)
            existing = self._taken(parse_example(raw, full_intent).text)
            if existing is not None:
                raise EditError(
                    f"Câu này đã có trong dữ liệu huấn luyện (nhãn “{existing.intent}”)."
                )
            self._insert_many([(full_intent, raw)])
        return self._find(full_intent, raw)

    def update(self, example_id: str, full_intent: str, raw: str) -> StoredExample:
        """Change an example's text and/or label (a new label moves it to that intent)."""
        with self._locked():
            current = self.get(example_id)
            full_intent, raw = self._check(full_intent, raw)
            existing = self._taken(parse_example(raw, full_intent).text, ignore_id=current.id)
            if existing is not None:
                raise EditError(
                    f"Câu này đã có trong dữ liệu huấn luyện (nhãn “{existing.intent}”)."
                )
            path = self.data_dir / current.file
            lines = path.read_text(encoding="utf-8").splitlines()
            if full_intent == current.intent:
                indent = lines[current.line - 1][: -len(lines[current.line - 1].lstrip())]
                lines[current.line - 1] = f"{indent}- {raw}"
                self._write(path, lines)
            else:
                _remove_example(lines, current.line - 1)
                self._write(path, lines)
                self._insert_many([(full_intent, raw)])
        return self._find(full_intent, raw)

    def delete(self, example_id: str) -> StoredExample:
        with self._locked():
            current = self.get(example_id)
            same_intent = [e for e in self.examples() if e.intent == current.intent]
            if len(same_intent) <= 1:
                raise EditError("Không thể xóa câu mẫu cuối cùng của một ý định.")
            path = self.data_dir / current.file
            lines = path.read_text(encoding="utf-8").splitlines()
            _remove_example(lines, current.line - 1)
            self._write(path, lines)
        return current

    def _find(self, full_intent: str, raw: str) -> StoredExample:
        for example in self.examples():
            if example.intent == full_intent and example.raw == raw:
                return example
        raise EditError("Câu mẫu vừa lưu không đọc lại được.")  # pragma: no cover

    # Import and export --------------------------------------------------------------------

    def export_yaml(self, now: datetime | None = None) -> str:
        """Every example as one Rasa 3 NLU YAML document, grouped by label."""
        grouped: dict[str, list[str]] = {}
        for example in self.examples():
            grouped.setdefault(example.intent, []).append(example.raw)
        stamp = f" on {now:%Y-%m-%d %H:%M} UTC" if now else ""
        lines = [
            f"# Exported from the hotline console{stamp}: the NLU training examples.",
            'version: "3.1"',
            "nlu:",
        ]
        for intent, raws in grouped.items():
            lines += [f"- intent: {intent}", "  examples: |", *(f"    - {r}" for r in raws)]
        return "\n".join(lines) + "\n"

    def import_yaml(self, content: str) -> ImportResult:
        """Add the examples of a Rasa NLU YAML document that are not in the data yet. An
        example whose text is already labelled otherwise is reported, not changed."""
        try:
            document = yaml.safe_load(content)
        except yaml.YAMLError as exc:
            raise EditError(f"Tệp không phải YAML hợp lệ: {exc}") from exc
        if not isinstance(document, dict) or not isinstance(document.get("nlu"), list):
            raise EditError("Tệp không có mục “nlu” theo định dạng Rasa NLU YAML.")
        result = ImportResult()
        labels = self.labels
        known = {_same_text_key(e.text): e.intent for e in self.examples()}
        additions: list[tuple[str, str]] = []
        for number, item in enumerate(document["nlu"], start=1):
            if not isinstance(item, dict):
                raise EditError(f"Mục thứ {number} trong “nlu” không đúng định dạng.")
            if "intent" not in item:
                result.ignored_items += 1
                continue
            block = item.get("examples")
            if not isinstance(block, str):
                raise EditError(f"Mục thứ {number}: “examples” phải là khối “|” gồm các dòng “- ”.")
            for line in block.splitlines():
                line = line.strip()
                if not line:
                    continue
                if not line.startswith("- "):
                    raise EditError(f"Mục thứ {number}: dòng phải bắt đầu bằng “- ”: {line!r}")
                try:
                    full, raw = self._check(str(item["intent"]), line[2:], labels)
                except EditError as exc:
                    raise EditError(f"Mục thứ {number} ({item['intent']}): {exc}") from exc
                key = _same_text_key(parse_example(raw, full).text)
                if key in known:
                    if known[key] == full:
                        result.already_present += 1
                    else:
                        result.conflicts.append(raw)
                    continue
                known[key] = full
                additions.append((full, raw))
        if additions:
            with self._locked():
                self._insert_many(additions)
        result.added = len(additions)
        return result


def summary(examples: Sequence[StoredExample]) -> dict[str, int]:
    """How many examples each label has."""
    counts: dict[str, int] = {}
    for example in examples:
        counts[example.intent] = counts.get(example.intent, 0) + 1
    return dict(sorted(counts.items()))
