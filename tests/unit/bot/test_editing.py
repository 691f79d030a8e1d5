"""Console edits of the Rasa NLU files (bot.nlu.editing) keep files Rasa reads without
complaint: no intent item is left with an empty `examples: |` block, and no line break of any
kind gets inside an example."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
import yaml

from bot.nlu.data import BOT_DIR, load_directory
from bot.nlu.editing import EditError, StoredExample, TrainingFiles

NLU = """\
# Hand-written header comment.
version: "3.1"
nlu:
- intent: greeting
  examples: |
    - chào ad
- intent: goodbye
  examples: |
    - tạm biệt
    - bye nha
- intent: greeting
  examples: |
    - xin chào tổng đài
    - alo alo
"""


@pytest.fixture
def files(tmp_path: Path) -> TrainingFiles:
    (tmp_path / "data").mkdir()
    (tmp_path / "data" / "nlu.yml").write_text(NLU, encoding="utf-8")
    shutil.copy(BOT_DIR / "domain.yml", tmp_path / "domain.yml")
    return TrainingFiles(tmp_path / "data", tmp_path / "domain.yml")


def _items(files: TrainingFiles) -> list[tuple[str, list[str]]]:
    document = yaml.safe_load((files.data_dir / "nlu.yml").read_text(encoding="utf-8"))
    return [(item["intent"], item["examples"].splitlines()) for item in document["nlu"]]


def _example(files: TrainingFiles, text: str) -> StoredExample:
    return next(e for e in files.examples() if e.text == text)


def test_relabelling_the_only_example_of_a_block_removes_the_block(files: TrainingFiles) -> None:
    files.update(_example(files, "chào ad").id, "goodbye", "chào ad")
    assert _items(files) == [
        ("goodbye", ["- tạm biệt", "- bye nha", "- chào ad"]),
        ("greeting", ["- xin chào tổng đài", "- alo alo"]),
    ]
    text = (files.data_dir / "nlu.yml").read_text(encoding="utf-8")
    assert text.startswith("# Hand-written header comment.\n")
    assert "examples: |\n- intent" not in text


def test_deleting_the_only_example_of_a_block_removes_the_block(files: TrainingFiles) -> None:
    files.delete(_example(files, "chào ad").id)
    assert [intent for intent, _ in _items(files)] == ["goodbye", "greeting"]
    files.delete(_example(files, "alo alo").id)
    assert _items(files)[-1] == ("greeting", ["- xin chào tổng đài"])
    with pytest.raises(EditError, match="cuối cùng"):
        files.delete(_example(files, "xin chào tổng đài").id)


@pytest.mark.parametrize("separator", ["\n", "\r", "\u2028", "\u2029", "\x85", "\x0c", "\x1e"])
def test_no_line_break_of_any_kind_inside_an_example(files: TrainingFiles, separator: str) -> None:
    before = (files.data_dir / "nlu.yml").read_text(encoding="utf-8")
    with pytest.raises(EditError, match="một dòng"):
        files.add("greeting", f"chào{separator}ad ơi")
    with pytest.raises(EditError, match="một dòng"):
        files.update(_example(files, "alo alo").id, "greeting", f"alo{separator}alo")
    assert (files.data_dir / "nlu.yml").read_text(encoding="utf-8") == before
    assert len(load_directory(files.data_dir).examples) == 5
