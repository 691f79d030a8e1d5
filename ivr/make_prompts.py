"""Generate the hotline's prompts as 8 kHz WAV files in Asterisk's sounds layout (`make prompts`).

    python -m ivr.make_prompts [--dir var/sounds/vi] [--force] [NAME ...]

Each prompt of `ivr.prompts.PROMPTS` becomes `<dir>/<name>.wav` (`hotline/greeting` →
`var/sounds/vi/hotline/greeting.wav`): espeak-ng's Vietnamese voice, then sox to 8 kHz mono
16-bit, what Asterisk plays without transcoding. A file that already exists is kept — it may
be a studio recording that replaced the synthetic voice — unless `--force` is given.
"""

from __future__ import annotations

import argparse
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from ivr.prompts import PROMPTS

DEFAULT_DIR = Path("var/sounds/vi")
Runner = Callable[[list[str]], object]


@dataclass
class Report:
    written: list[str] = field(default_factory=list)
    kept: list[str] = field(default_factory=list)


def _run(command: list[str]) -> object:
    return subprocess.run(command, check=True, capture_output=True)  # noqa: S603


def generate(
    directory: Path,
    prompts: Mapping[str, str] = PROMPTS,
    *,
    force: bool = False,
    run: Runner = _run,
) -> Report:
    """Write every prompt not already present (all of them with `force`)."""
    report = Report()
    with tempfile.TemporaryDirectory(prefix="hotline-prompts-") as tmp:
        voice = Path(tmp) / "voice.wav"
        for name, text in sorted(prompts.items()):
            target = directory / f"{name}.wav"
            if target.exists() and not force:
                report.kept.append(name)
                continue
            target.parent.mkdir(parents=True, exist_ok=True)
            partial = target.with_name(target.name + ".part.wav")
            run(["espeak-ng", "-v", "vi", "-w", str(voice), text])
            run(["sox", str(voice), "-r", "8000", "-c", "1", "-b", "16", str(partial)])
            partial.replace(target)  # a half-written prompt is never played
            report.written.append(name)
    return report


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n", 1)[0])
    parser.add_argument("--dir", type=Path, default=DEFAULT_DIR, help="sounds directory")
    parser.add_argument("--force", action="store_true", help="overwrite existing files too")
    parser.add_argument("names", nargs="*", help="only these prompts (e.g. hotline/greeting)")
    args = parser.parse_args(argv)
    for tool in ("espeak-ng", "sox"):
        if shutil.which(tool) is None:
            print(f"error: {tool} not found: apt-get install espeak-ng sox", file=sys.stderr)
            return 2
    unknown = [name for name in args.names if name not in PROMPTS]
    if unknown:
        print(f"error: no such prompt: {', '.join(unknown)}", file=sys.stderr)
        return 2
    chosen = {name: PROMPTS[name] for name in args.names} if args.names else PROMPTS
    try:
        report = generate(args.dir, chosen, force=args.force)
    except subprocess.CalledProcessError as exc:
        stderr = exc.stderr.decode(errors="replace") if exc.stderr else ""
        print(f"error: {exc.cmd[0]} failed: {stderr.strip()}", file=sys.stderr)
        return 1
    print(
        f"{len(report.written)} prompts written, {len(report.kept)} kept "
        f"(existing files; --force overwrites them) in {args.dir}"
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
