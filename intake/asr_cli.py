"""`hotline asr download` and `hotline asr transcribe`."""

from __future__ import annotations

import json
import sys
import time
from dataclasses import replace
from pathlib import Path

import click

from asr.audio import AudioFormatError
from asr.download import MODELS, DownloadError, download_model
from asr.model import LoadedModel, ModelLayoutError, ModelNotInstalled
from asr.recognizer import transcribe_file
from intake.cli_settings import settings_or_exit
from intake.config import Settings
from intake.transcription import speech_model

_settings = settings_or_exit


@click.group()
def asr() -> None:
    """Speech recognition: install the Vietnamese Vosk model, transcribe recordings."""


@asr.command("download")
@click.option(
    "--model",
    "kind",
    type=click.Choice(sorted(MODELS)),
    default="small",
    show_default=True,
    help="small: vosk-model-small-vn-0.4 (phrase lists, live calls); large: vosk-model-vn-0.4.",
)
@click.option(
    "--dest",
    type=click.Path(file_okay=False, path_type=Path),
    default=None,
    help="Directory to install into (default: next to VOSK_MODEL_PATH, else var/models).",
)
@click.option("--url", default=None, help="Fetch from this address instead (a mirror).")
@click.option(
    "--sha256", default=None, help="The zip's SHA-256, where none is pinned (or with --url)."
)
@click.option("--force", is_flag=True, help="Replace a model already installed there.")
def download(
    kind: str, dest: Path | None, url: str | None, sha256: str | None, force: bool
) -> None:
    """Fetch the vendor's model zip, check its pinned SHA-256, unpack it atomically."""
    settings = _settings()
    spec = MODELS[kind]
    if url:  # a mirror serves the pinned zip; a digest given with it names another file
        spec = replace(spec, url=url, size=None, sha256=sha256 or spec.sha256)
    if dest is None:
        configured = Path(settings.vosk_model_path) if settings.vosk_model_path else None
        dest = configured.parent if configured else settings.var_dir / "models"
    click.echo(f"downloading {spec.name} from {spec.url}", err=True)
    try:
        path = download_model(spec, dest, progress=_Progress(spec.name), sha256=sha256, force=force)
    except DownloadError as exc:
        raise click.ClickException(str(exc)) from exc
    click.echo(f"installed {path}", err=True)
    click.echo(f"set VOSK_MODEL_PATH={path.resolve()}", err=True)
    click.echo(str(path.resolve()))


class _Progress:
    """Download progress on stderr: a bar redrawn in place on a terminal, a line every 10 %
    in a log."""

    def __init__(self, label: str) -> None:
        self.label = label
        self.tty = sys.stderr.isatty()
        self.last_step = -1

    def __call__(self, done: int, total: int | None) -> None:
        mb = done / 1_000_000
        if not total:
            step = int(mb // 5)  # unknown size: a line every 5 MB
            text = f"{self.label}: {mb:.1f} MB"
        else:
            percent = min(100, done * 100 // total)
            step = percent // 10
            filled = percent // 4
            text = f"{self.label} [{'#' * filled}{'.' * (25 - filled)}] {percent:3d}% {mb:.1f} MB"
        if self.tty:
            click.echo("\r" + text, err=True, nl=bool(total and done >= total))
        elif step != self.last_step:
            click.echo(text, err=True)
        self.last_step = step


@asr.command("transcribe")
@click.option("--rate", type=int, default=None, help="Sample rate of raw files (Hz).")
@click.option(
    "--format",
    "fmt",
    type=click.Choice(["slin16", "ulaw", "alaw"]),
    default=None,
    help="Encoding of raw files (default: from the extension).",
)
@click.argument("files", nargs=-1, required=True, type=click.Path(path_type=Path))
def transcribe(rate: int | None, fmt: str | None, files: tuple[Path, ...]) -> None:
    """One JSON line per file: {"file", "text", "confidence", "audio_s", "cpu_s"}."""
    model = _model(_settings())
    failed = 0
    for path in files:
        started = time.process_time()
        try:
            result = transcribe_file(
                path,
                model.model,
                model.info.sample_rate,
                rate=rate,
                fmt=fmt,
                supports_grammar=model.info.supports_grammar,
            )
        except (AudioFormatError, OSError) as exc:
            failed += 1
            click.echo(f"error: {path}: {exc}", err=True)
            cpu_s = round(time.process_time() - started, 3)
            line = {"file": str(path), "error": str(exc), "cpu_s": cpu_s}
            click.echo(json.dumps(line, ensure_ascii=False))
            continue
        click.echo(
            json.dumps(
                {
                    "file": str(path),
                    "text": result.text,
                    "confidence": round(result.confidence, 3),
                    "audio_s": round(result.audio_s, 3),
                    "cpu_s": round(result.cpu_s, 3),
                },
                ensure_ascii=False,
            )
        )
    if failed:
        sys.exit(1)


def _model(settings: Settings) -> LoadedModel:
    try:
        return speech_model(settings)
    except (ModelNotInstalled, ModelLayoutError) as exc:
        raise click.ClickException(str(exc)) from exc
