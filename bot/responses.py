"""The bot's Vietnamese replies, read from the Rasa domain's `responses`, where they live."""

from __future__ import annotations

import random
import unicodedata
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import yaml

DOMAIN_PATH = Path(__file__).resolve().parent / "domain.yml"


class _Blank(dict[str, Any]):
    def __missing__(self, key: str) -> str:
        return ""


class Responses:
    def __init__(self, templates: Mapping[str, list[str]]) -> None:
        self.templates = dict(templates)

    @classmethod
    def load(cls, domain_path: Path = DOMAIN_PATH) -> Responses:
        domain = yaml.safe_load(domain_path.read_text(encoding="utf-8"))
        templates = {
            name: [unicodedata.normalize("NFC", str(v["text"])) for v in variants if "text" in v]
            for name, variants in (domain.get("responses") or {}).items()
        }
        return cls(templates)

    def render(self, name: str, **values: Any) -> str:
        """Fill a response's `{placeholders}` like Rasa does; unknown ones become empty."""
        variants = self.templates.get(name)
        if not variants:
            raise KeyError(f"no response {name!r} in the domain")
        template = variants[0] if len(variants) == 1 else random.choice(variants)
        return template.format_map(_Blank(values))
