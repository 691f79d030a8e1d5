from __future__ import annotations

from pathlib import Path

import pytest

from intake.config import ConfigError, load_settings


def test_defaults_are_the_embedded_setup(tmp_path):
    s = load_settings({}, dotenv=None)
    assert s.uses_embedded_broker and s.bot_backend == "embedded"
    assert s.effective_database_url.startswith("sqlite:///")
    assert (s.http_port, s.agi_port) == (5000, 4573)


def test_environment_overrides_dotenv(tmp_path: Path):
    env_file = tmp_path / ".env"
    env_file.write_text(
        '# comment\nDATABASE_URL="postgresql+psycopg://x@h/db"\nSQL_ECHO=true\nHOTLINE_HTTP_PORT=8000\n',
        encoding="utf-8",
    )
    s = load_settings({"HOTLINE_HTTP_PORT": "9000"}, dotenv=env_file)
    assert s.database_url == "postgresql+psycopg://x@h/db"
    assert s.sql_echo is True and s.http_port == 9000


@pytest.mark.parametrize(
    ("raw", "value"),
    [("false", False), ("0", False), ("No", False), ("", False), ("TRUE", True), ("on", True)],
)
def test_booleans_parsed_properly(raw, value):
    assert load_settings({"SQL_ECHO": raw}, dotenv=None).sql_echo is value


@pytest.mark.parametrize(
    "env", [{"SQL_ECHO": "maybe"}, {"HOTLINE_HTTP_PORT": "http"}, {"BOT_BACKEND": "gpt"}]
)
def test_bad_values_say_which_variable(env):
    with pytest.raises(ConfigError) as err:
        load_settings(env, dotenv=None)
    assert next(iter(env)) in str(err.value)


def test_bad_dotenv_line_is_reported(tmp_path):
    env_file = tmp_path / ".env"
    env_file.write_text("JUSTAWORD\n", encoding="utf-8")
    with pytest.raises(ConfigError, match=r"\.env:1"):
        load_settings({}, dotenv=env_file)


def test_ivr_open_hours(tmp_path: Path) -> None:
    from datetime import time

    from intake.config import parse_open_hours

    assert load_settings({}, dotenv=None).ivr_open_hours == "07:00-21:00"
    s = load_settings({"IVR_OPEN_HOURS": "06:30-22:00"}, dotenv=None)
    assert parse_open_hours(s.ivr_open_hours) == (time(6, 30), time(22, 0))
    assert parse_open_hours("00:00-24:00") is None and parse_open_hours("always") is None
    assert parse_open_hours("22:00-06:00") == (time(22, 0), time(6, 0))
    for bad in ("7-21", "07:00-25:00", "08:00-08:00", "07:61-21:00"):
        with pytest.raises(ConfigError, match="IVR_OPEN_HOURS"):
            load_settings({"IVR_OPEN_HOURS": bad}, dotenv=None)
