"""Settings read once from the environment (and an optional `.env` file) at start-up.

Handlers never read `os.environ`; they receive a `Settings` built here by the composition root.
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from dataclasses import dataclass, field, fields, replace
from datetime import time
from pathlib import Path
from typing import Any

_TRUE = {"1", "true", "yes", "on", "y", "t"}
_FALSE = {"0", "false", "no", "off", "n", "f", ""}
_HOURS_RE = re.compile(r"(\d{1,2}):(\d{2})\s*-\s*(\d{1,2}):(\d{2})")


class ConfigError(ValueError):
    """A configuration value is present but unusable; the message says which and why."""


def parse_bool(name: str, raw: str) -> bool:
    """Parse a boolean the way people write it: "false", "0", "no" and "" are false."""
    value = raw.strip().lower()
    if value in _TRUE:
        return True
    if value in _FALSE:
        return False
    raise ConfigError(f"{name}={raw!r} is not a boolean: use true/false, 1/0, yes/no or on/off")


def _parse_int(name: str, raw: str) -> int:
    try:
        return int(raw.strip())
    except ValueError as exc:
        raise ConfigError(f"{name}={raw!r} is not a whole number") from exc


def read_dotenv(path: Path) -> dict[str, str]:
    """Read KEY=VALUE lines; `#` comments, blank lines and optional quotes are allowed."""
    values: dict[str, str] = {}
    if not path.is_file():
        return values
    for lineno, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
        stripped = line.strip()
        if not stripped or stripped.startswith("#"):
            continue
        if stripped.startswith("export "):
            stripped = stripped[len("export ") :]
        key, sep, value = stripped.partition("=")
        if not sep or not key.strip():
            raise ConfigError(f"{path}:{lineno}: expected KEY=VALUE, got {line!r}")
        value = value.strip()
        if len(value) >= 2 and value[0] == value[-1] and value[0] in "\"'":
            value = value[1:-1]
        values[key.strip()] = value
    return values


def parse_open_hours(raw: str) -> tuple[time, time] | None:
    """`IVR_OPEN_HOURS` such as "07:00-21:00" (local time in Huế): (opens, closes), or None for
    a hotline open around the clock ("", "always", "00:00-24:00"). A range may run past
    midnight ("18:00-06:00")."""
    value = raw.strip().lower()
    if value in {"", "always", "24/7", "00:00-24:00"}:
        return None
    match = _HOURS_RE.fullmatch(value)
    if match is None:
        raise ConfigError(
            f"IVR_OPEN_HOURS={raw!r} is not an opening-hours range: write it like 07:00-21:00"
        )
    opens_h, opens_m, closes_h, closes_m = (int(group) for group in match.groups())
    if opens_h > 23 or opens_m > 59 or closes_m > 59 or (closes_h, closes_m) > (24, 0):
        raise ConfigError(f"IVR_OPEN_HOURS={raw!r} has an hour or minute out of range")
    # "…-24:00" closes at midnight: open until the last moment of the day.
    closes = time.max if closes_h == 24 else time(closes_h, closes_m)
    opens = time(opens_h, opens_m)
    if opens == closes:
        raise ConfigError(f"IVR_OPEN_HOURS={raw!r} opens and closes at the same time")
    return opens, closes


def _parse_float(name: str, raw: str) -> float:
    try:
        return float(raw.strip())
    except ValueError as exc:
        raise ConfigError(f"{name}={raw!r} is not a number") from exc


@dataclass(frozen=True)
class Settings:
    """Everything configurable, with the embedded defaults of `hotline run`."""

    var_dir: Path = Path("var")
    database_url: str = ""
    celery_broker_url: str = ""
    celery_result_backend: str = ""
    celery_always_eager: bool = False
    bot_backend: str = "embedded"
    rasa_url: str = "http://127.0.0.1:5005"
    nlu_fallback_threshold: float = 0.35
    vosk_model_path: str = ""
    twilio_account_sid: str = ""
    twilio_auth_token: str = ""
    twilio_from_number: str = ""
    zalo_app_id: str = ""
    zalo_oa_secret_key: str = ""
    zalo_access_token: str = ""
    messenger_app_secret: str = ""
    messenger_verify_token: str = ""
    messenger_page_token: str = ""
    telegram_bot_token: str = ""
    telegram_secret_token: str = ""
    twilio_api_base_url: str = "https://api.twilio.com"
    zalo_api_base_url: str = "https://openapi.zalo.me"
    messenger_api_base_url: str = "https://graph.facebook.com"
    telegram_api_base_url: str = "https://api.telegram.org"
    inbox_relay: bool = False
    # A stored delivery still unanswered after this long is queued again by beat's sweep.
    inbox_requeue_seconds: float = 60.0
    secret_key: str = ""
    public_base_url: str = "http://127.0.0.1:5000"
    http_host: str = "127.0.0.1"
    http_port: int = 5000
    agi_host: str = "127.0.0.1"
    agi_port: int = 4573
    case_code_prefix: str = "HUE"
    ivr_open_hours: str = "07:00-21:00"
    ivr_recordings_dir: str = ""
    sql_echo: bool = False
    extra: Mapping[str, str] = field(default_factory=dict)

    @property
    def effective_database_url(self) -> str:
        return self.database_url or f"sqlite:///{(self.var_dir / 'hotline.sqlite3').resolve()}"

    @property
    def effective_recordings_dir(self) -> Path:
        """Where the IVR asks Asterisk to write recordings (storage the speech workers share)."""
        return (
            Path(self.ivr_recordings_dir)
            if self.ivr_recordings_dir
            else self.var_dir / "recordings"
        )

    @property
    def uses_embedded_broker(self) -> bool:
        return not self.celery_broker_url

    def with_overrides(self, **changes: Any) -> Settings:
        return replace(self, **changes)


# Environment variable -> (field name, parser). Strings are taken as they are.
_ENV: dict[str, str] = {
    "HOTLINE_VAR_DIR": "var_dir",
    "DATABASE_URL": "database_url",
    "CELERY_BROKER_URL": "celery_broker_url",
    "CELERY_RESULT_BACKEND": "celery_result_backend",
    "CELERY_ALWAYS_EAGER": "celery_always_eager",
    "BOT_BACKEND": "bot_backend",
    "RASA_URL": "rasa_url",
    "NLU_FALLBACK_THRESHOLD": "nlu_fallback_threshold",
    "INBOX_REQUEUE_SECONDS": "inbox_requeue_seconds",
    "VOSK_MODEL_PATH": "vosk_model_path",
    "TWILIO_ACCOUNT_SID": "twilio_account_sid",
    "TWILIO_AUTH_TOKEN": "twilio_auth_token",
    "TWILIO_FROM_NUMBER": "twilio_from_number",
    "ZALO_APP_ID": "zalo_app_id",
    "ZALO_OA_SECRET_KEY": "zalo_oa_secret_key",
    "ZALO_ACCESS_TOKEN": "zalo_access_token",
    "MESSENGER_APP_SECRET": "messenger_app_secret",
    "MESSENGER_VERIFY_TOKEN": "messenger_verify_token",
    "MESSENGER_PAGE_TOKEN": "messenger_page_token",
    "TELEGRAM_BOT_TOKEN": "telegram_bot_token",
    "TELEGRAM_SECRET_TOKEN": "telegram_secret_token",
    "TWILIO_API_BASE_URL": "twilio_api_base_url",
    "ZALO_API_BASE_URL": "zalo_api_base_url",
    "MESSENGER_API_BASE_URL": "messenger_api_base_url",
    "TELEGRAM_API_BASE_URL": "telegram_api_base_url",
    "INBOX_RELAY": "inbox_relay",
    "SECRET_KEY": "secret_key",
    "PUBLIC_BASE_URL": "public_base_url",
    "HOTLINE_HTTP_HOST": "http_host",
    "HOTLINE_HTTP_PORT": "http_port",
    "HOTLINE_AGI_HOST": "agi_host",
    "HOTLINE_AGI_PORT": "agi_port",
    "HOTLINE_CASE_PREFIX": "case_code_prefix",
    "IVR_OPEN_HOURS": "ivr_open_hours",
    "IVR_RECORDINGS_DIR": "ivr_recordings_dir",
    "SQL_ECHO": "sql_echo",
}

ENV_VARS: tuple[str, ...] = tuple(_ENV)


def load_settings(
    environ: Mapping[str, str] | None = None, dotenv: Path | None = Path(".env")
) -> Settings:
    """Build settings from `.env` (if present) overlaid by the real environment."""
    merged: dict[str, str] = {}
    if dotenv is not None:
        merged.update(read_dotenv(dotenv))
    merged.update(os.environ if environ is None else environ)
    types = {f.name: f.type for f in fields(Settings)}
    values: dict[str, Any] = {}
    for env_name, attr in _ENV.items():
        if env_name not in merged:
            continue
        raw = merged[env_name]
        kind = types[attr]
        if kind == "bool":
            values[attr] = parse_bool(env_name, raw)
        elif kind == "int":
            values[attr] = _parse_int(env_name, raw)
        elif kind == "float":
            values[attr] = _parse_float(env_name, raw)
        elif kind == "Path":
            values[attr] = Path(raw)
        else:
            values[attr] = raw.strip()
    settings = Settings(**values)
    if not 0.0 <= settings.nlu_fallback_threshold < 1.0:
        raise ConfigError("NLU_FALLBACK_THRESHOLD must be between 0 and 1, e.g. 0.35")
    if settings.inbox_relay and not settings.effective_database_url.startswith("postgresql"):
        raise ConfigError("INBOX_RELAY=true needs PostgreSQL (DATABASE_URL=postgresql+psycopg://…)")
    parse_open_hours(settings.ivr_open_hours)
    if settings.bot_backend not in {"embedded", "rasa"}:
        raise ConfigError(f"BOT_BACKEND={settings.bot_backend!r}: use 'embedded' or 'rasa'")
    return settings
