"""`hotline nlu train|predict|eval` and `hotline chat`, as a user runs them."""

from __future__ import annotations

import json

import pytest
from click.testing import CliRunner

from intake.cli import cli


@pytest.fixture
def run(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    for name in ("DATABASE_URL", "CELERY_BROKER_URL", "BOT_BACKEND"):
        monkeypatch.delenv(name, raising=False)
    runner = CliRunner()

    def invoke(*args, input=None):
        return runner.invoke(
            cli, list(args), input=input, env={"HOTLINE_VAR_DIR": str(tmp_path / "var")}
        )

    return invoke


def test_predict_reads_and_writes_json_lines(run):
    lines = [
        {"text": "karaoke ồn quá 12 giờ đêm rồi ở kiệt 7 Bà Triệu"},
        {"text": "xin chào"},
        {"txt": "wrong key"},
    ]
    result = run("nlu", "predict", input="\n".join(json.dumps(x) for x in lines) + "\n")
    assert result.exit_code == 0, result.output
    out = [json.loads(line) for line in result.stdout.splitlines()]
    assert out[0]["intent"] == "complaint" and out[0]["category"] == "noise"
    assert set(out[0]) >= {"text", "intent", "category", "confidence"}
    assert out[1]["intent"] == "greeting" and out[1]["category"] is None
    assert out[2]["error"] and out[2]["line"] == 3


def test_train_then_eval_writes_json_and_png(run, tmp_path):
    trained = run("nlu", "train")
    assert trained.exit_code == 0 and "trained in" in trained.output
    assert (tmp_path / "var" / "models" / "nlu-embedded.npz").is_file()
    evaluated = run("nlu", "eval", "--folds", "2", "--out", str(tmp_path / "report"))
    assert evaluated.exit_code == 0, evaluated.output
    report = json.loads((tmp_path / "report" / "nlu-eval.json").read_text())
    cv = report["cross_validation"]
    assert cv["folds"] == 2 and set(cv["intent"]["labels"]["complaint"]) >= {
        "precision",
        "recall",
        "f1",
    }
    assert cv["category"]["confusion_matrix"]["labels"][0] == "education"
    assert "holdout" in report
    assert (tmp_path / "report" / "nlu-eval.png").read_bytes()[:4] == b"\x89PNG"


def test_chat_in_a_terminal(run):
    result = run("chat", input="alo\ncho tôi gặp tổng đài viên\ncòn ai không\n")
    assert result.exit_code == 0, result.output
    assert "bot> Dạ, Tổng đài phản ánh TP Huế xin chào" in result.output
    assert "(đang chờ tổng đài viên)" in result.output
