"""`hotline nlu ...` and `hotline chat`."""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path
from typing import Any

import click

from bot.nlu.data import DATA_DIR, HOLDOUT_DIR, DataError, load_directory
from bot.nlu.engine import data_fingerprint, model_path, train_model
from intake.cli_settings import settings_or_exit
from intake.clock import utcnow
from intake.models import Channel

_settings = settings_or_exit


@click.group()
def nlu() -> None:
    """Vietnamese understanding: train, predict and evaluate the bot's NLU."""


@nlu.command("train")
@click.option(
    "--data",
    "data_dir",
    type=click.Path(path_type=Path),
    default=DATA_DIR,
    show_default=True,
    help="The Rasa project's data directory.",
)
def nlu_train(data_dir: Path) -> None:
    """Train the embedded engine from the Rasa training files and save it under var/models/."""
    settings = _settings()
    try:
        data = load_directory(data_dir)
    except DataError as exc:
        raise click.ClickException(str(exc)) from exc
    click.echo(
        f"training on {len(data.examples)} examples: {len(data.intents)} intents, "
        f"{len(data.categories)} complaint categories",
        err=True,
    )
    started = time.perf_counter()
    model = train_model(data, data_fingerprint(data_dir))
    elapsed = time.perf_counter() - started
    path = model_path(settings.var_dir)
    model.save(path)
    click.echo(f"trained in {elapsed:.1f} s; saved {path}")


@nlu.command("predict")
def nlu_predict() -> None:
    """Read JSON lines {"text": ...} on stdin; write one JSON line per input with text, intent,
    category (null unless the intent is complaint), confidence and entities."""
    from bot.runtime import make_nlu

    backend = make_nlu(_settings())
    out = sys.stdout
    for lineno, line in enumerate(sys.stdin, start=1):
        if not line.strip():
            continue
        try:
            item = json.loads(line)
            text = item["text"]
            if not isinstance(text, str):
                raise TypeError
        except (ValueError, KeyError, TypeError):
            click.echo(f'line {lineno}: expected a JSON object with a string "text"', err=True)
            out.write(json.dumps({"error": 'expected {"text": string}', "line": lineno}) + "\n")
            continue
        parsed = backend.parse(text)
        result: dict[str, Any] = {
            "text": text,
            "intent": parsed["intent"]["name"],
            "category": parsed.get("category"),
            "confidence": parsed["intent"]["confidence"],
            "entities": parsed.get("entities", []),
        }
        out.write(json.dumps(result, ensure_ascii=False) + "\n")
        out.flush()


@nlu.command("eval")
@click.option("--folds", default=5, show_default=True, help="Cross-validation folds.")
@click.option(
    "--out",
    "out_dir",
    type=click.Path(path_type=Path),
    default=None,
    help="Where to write nlu-eval.json and nlu-eval.png [var/reports].",
)
def nlu_eval(folds: int, out_dir: Path | None) -> None:
    """K-fold cross-validation on the training data (per-label precision, recall, F1 and
    confusion matrices) plus the score on the held-out set; writes JSON and a PNG plot."""
    from bot.nlu.evaluate import cross_validate, holdout, write_report

    settings = _settings()
    data = load_directory(DATA_DIR)
    report: dict[str, Any] = {
        "cross_validation": cross_validate(
            data, folds=folds, progress=lambda m: click.echo(m, err=True)
        )
    }
    if HOLDOUT_DIR.is_dir():
        report["holdout"] = holdout(data, load_directory(HOLDOUT_DIR))
    json_path, png_path = write_report(report, out_dir or settings.var_dir / "reports")
    for name, section in report.items():
        intent, category = section["intent"], section["category"]
        click.echo(
            f"{name}: intent accuracy {intent['accuracy']:.3f} "
            f"(macro-F1 {intent['macro_f1']:.3f}); complaint category accuracy "
            f"{category['accuracy']:.3f} (macro-F1 {category['macro_f1']:.3f})"
        )
    click.echo(f"wrote {json_path} and {png_path}")


@click.command()
@click.option(
    "--channel",
    type=click.Choice([c.value for c in Channel]),
    default="web",
    show_default=True,
    help="Which channel to pretend to write from.",
)
@click.option(
    "--sender",
    default="terminal",
    show_default=True,
    help="Your sender id on that channel (a phone number for sms).",
)
def chat(channel: str, sender: str) -> None:
    """Talk to the bot in a terminal, the way a resident would on a messenger. Ctrl-D ends."""
    from bot.runtime import make_dialogue
    from intake.db import unit_of_work
    from intake.migrate import upgrade
    from intake.runtime import Runtime
    from intake.seed import seed_reference

    settings = _settings()
    runtime = Runtime.from_settings(settings)
    upgrade(runtime.engine)
    with unit_of_work(runtime.sessions) as session:
        seed_reference(session, utcnow())
    dialogue = make_dialogue(settings)
    click.echo("Bạn đang nhắn với tổng đài (Ctrl-D để thoát).")
    while True:
        try:
            text = input("bạn> ")
        except EOFError:
            break
        with unit_of_work(runtime.sessions) as session:
            turn = dialogue.handle(session, Channel(channel), sender, text, utcnow())
        for reply in turn.replies:
            click.echo(f"bot> {reply}")
        if turn.handed_off and not turn.replies:
            click.echo("bot> (đang chờ tổng đài viên)")
    runtime.close()
