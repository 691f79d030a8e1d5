"""`rasa data validate` after console edits: the training files the console rewrites
(bot.nlu.editing, what the training pages call) stay files the real Rasa 3.6 accepts, and Rasa
reads from them the same examples the embedded engine does.

Runs on a copy of bot/ in tmp_path; needs only the Rasa environment, no trained model."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import unicodedata
from pathlib import Path

import pytest
import yaml

from bot.nlu.data import load_directory, parse_example
from bot.nlu.editing import TrainingFiles
from tests.rasa.conftest import BOT, IN_CI, QUIET_RASA, RASA, RASA_CMD, RASA_VENV

pytestmark = pytest.mark.rasa

# What Rasa itself makes of the data directory: one (label, text, entities) per example.
RASA_READS = """
import json, pathlib, sys
from rasa.shared.nlu.training_data.formats.rasa_yaml import RasaYAMLReader
out = []
for path in sorted(pathlib.Path(sys.argv[1]).rglob("*.yml")):
  if not RasaYAMLReader.is_yaml_nlu_file(path):
    continue
  for ex in RasaYAMLReader().read(path).intent_examples:
    label = ex.get("intent_response_key") or ex.get("intent")
    ents = sorted((e["entity"], e["value"]) for e in ex.get("entities") or [])
    out.append([label, ex.get("text"), ents])
print(json.dumps(out, ensure_ascii=False))
"""

IMPORTED = """\
# From another hotline's console export.
version: "3.1"
nlu:
- intent: complaint/education
  examples: |
    - trường tiểu học thu thêm tiền máy lạnh ngoài quy định
    - cô giáo bắt cả lớp đi học thêm ở nhà cô
- intent: goodbye
  examples: |
    - thôi em chào ad nha
- intent: complaint/noise
  examples: |
    - quán bia ở [kiệt 4](alley) [Nguyễn Du](street) mở nhạc xập xình tới khuya
- synonym: Phú Hội
  examples: |
    - phu hoi
"""


@pytest.fixture
def bot_copy(tmp_path: Path) -> Path:
    if not RASA.exists():
        message = (
            f"rasa tier needs the Rasa environment at {RASA_VENV} (bash bot/rasa-env/setup.sh)"
        )
        if IN_CI:
            pytest.fail(message)
        pytest.skip(message)
    project = tmp_path / "bot"
    shutil.copytree(BOT, project, ignore=shutil.ignore_patterns("__pycache__", "holdout"))
    return project


def _rasa(project: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [*RASA_CMD, *args],
        cwd=project,
        env={**os.environ, **QUIET_RASA, "HOME": str(project.parent)},
        capture_output=True,
        text=True,
        timeout=600,
    )


def _nfc(text: str) -> str:
    return unicodedata.normalize("NFC", text)


def _smallest_block(data_dir: Path, intent: str) -> list[str]:
    """The examples of the shortest `- intent:` item of this label in nlu.yml."""
    document = yaml.safe_load((data_dir / "nlu.yml").read_text(encoding="utf-8"))
    blocks = [item["examples"] for item in document["nlu"] if item.get("intent") == intent]
    assert len(blocks) >= 2, f"{intent} has one block: pick a label with several"
    shortest = min(blocks, key=len)
    return [line.strip()[2:] for line in shortest.splitlines() if line.strip()]


def test_rasa_data_validate_passes_after_console_edits(bot_copy: Path) -> None:
    data_dir = bot_copy / "data"
    files = TrainingFiles(data_dir, bot_copy / "domain.yml")
    before = len(files.examples())

    # Add examples, as on the examples page and from the review queue.
    files.add(
        "complaint/noise",
        "karaoke ở [kiệt 7](alley) [Bà Triệu](street) hát tới 2 giờ sáng 😡 #mấtngủ",
    )
    files.add(
        "complaint/environment",
        'cá chết trắng hồ [Tịnh Tâm]{"entity": "street", "value": "Tịnh Tâm"}, hôi: "kinh khủng"',
    )
    files.add("greeting", "alo tổng đài ơi, cho em hỏi chút")
    # Relabel: a whole block of complaint/health moves to complaint/other (its item empties).
    moved = _smallest_block(data_dir, "complaint/health")
    by_raw = {e.raw: e for e in files.examples() if e.intent == "complaint/health"}
    for raw in moved:
        files.update(by_raw[raw].id, "complaint/other", raw)
    # Relabel one example to another intent, and edit the text of another.
    deny = next(e for e in files.examples() if e.intent == "deny")
    files.update(deny.id, "out_of_scope", deny.raw)
    greeting = next(e for e in files.examples() if e.intent == "greeting")
    files.update(greeting.id, "greeting", greeting.raw + " ạ")
    # Delete one.
    files.delete(next(e for e in files.examples() if e.intent == "info_request").id)
    # Import a Rasa NLU file.
    result = files.import_yaml(IMPORTED)
    assert (result.added, result.ignored_items, result.conflicts) == (4, 1, [])

    ours = load_directory(data_dir)
    assert len(ours.examples) == before + 3 - 1 + 4
    assert len(files.examples()) == len(ours.examples)

    validate = _rasa(bot_copy, "data", "validate")
    output = validate.stdout + validate.stderr
    assert validate.returncode == 0, output[-6000:]
    # Rasa warns, without failing, about data it half-understands (an intent item with no
    # examples, a line it cannot read as an example): none of that either.
    assert "Issue found while processing" not in output, output[-6000:]
    assert "Project validation completed with errors" not in output

    # Rasa reads exactly the examples, labels and entities the embedded engine reads.
    reads = subprocess.run(
        [str(RASA_VENV / "bin" / "python"), "-c", RASA_READS, str(data_dir)],
        env={**os.environ, **QUIET_RASA, "HOME": str(bot_copy.parent)},
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert reads.returncode == 0, reads.stderr[-4000:]
    # Compared as sets in NFC: Rasa keeps a repeated example once, and reads text as written
    # while bot.nlu.data normalises it (bot/data has some examples typed in decomposed form).
    rasa_examples = {
        (label, _nfc(text), tuple((name, _nfc(value)) for name, value in entities))
        for label, text, entities in json.loads(reads.stdout.strip().splitlines()[-1])
    }
    our_examples = {
        (e.full_intent, e.text, tuple(sorted((en.entity, en.value) for en in e.entities)))
        for e in ours.examples
    }
    assert rasa_examples == our_examples
    for added in [
        (
            "complaint/noise",
            "karaoke ở kiệt 7 Bà Triệu hát tới 2 giờ sáng 😡 #mấtngủ",
            (("alley", "kiệt 7"), ("street", "Bà Triệu")),
        ),
        (
            "complaint/environment",
            'cá chết trắng hồ Tịnh Tâm, hôi: "kinh khủng"',
            (("street", "Tịnh Tâm"),),
        ),
        ("goodbye", "thôi em chào ad nha", ()),
    ]:
        assert added in rasa_examples
    moved_texts = {parse_example(raw, "complaint/other").text for raw in moved}
    assert moved_texts <= {text for label, text, _ in rasa_examples if label == "complaint/other"}
    assert "complaint/health" in {label for label, _, _ in rasa_examples}
