"""docker-compose.yml checked as far as a parser can (Docker cannot run on these machines):
every service, image, command, port, volume and variable agrees with the code."""

from __future__ import annotations

import importlib
import re
import shlex
from pathlib import Path
from typing import Any

import click
import pytest
import yaml

from intake.cli import cli
from intake.config import _ENV, Settings, load_settings

ROOT = Path(__file__).resolve().parents[2]
COMPOSE = yaml.safe_load((ROOT / "docker-compose.yml").read_text())
SERVICES: dict[str, Any] = COMPOSE["services"]
EXAMPLE = dict(
    line.split("=", 1)
    for line in (ROOT / ".env.example").read_text().splitlines()
    if line.strip() and not line.startswith("#")
)
SECRETS = {
    "POSTGRES_PASSWORD",
    "SECRET_KEY",
    "TWILIO_AUTH_TOKEN",
    "ZALO_OA_SECRET_KEY",
    "ZALO_ACCESS_TOKEN",
    "MESSENGER_APP_SECRET",
    "MESSENGER_PAGE_TOKEN",
    "TELEGRAM_BOT_TOKEN",
    "TELEGRAM_SECRET_TOKEN",
}
COMPOSE_ONLY = {"POSTGRES_PASSWORD", "POSTGRES_USER", "POSTGRES_DB", "HOTLINE_AGI_URL"}
INSTALLER = {"PIP_ROOT_USER_ACTION", "PIP_DISABLE_PIP_VERSION_CHECK"}


def command_text(service: dict[str, Any]) -> str:
    command = service.get("command", "")
    return " ".join(command) if isinstance(command, list) else str(command)


def test_the_whole_system_is_there() -> None:
    assert set(SERVICES) >= {
        "postgres",
        "redis",
        "web",
        "worker",
        "asr-worker",
        "beat",
        "relay",
        "agi",
        "asterisk",
        "rasa",
        "actions",
    }
    assert SERVICES["rasa"]["image"] == "rasa/rasa:3.6.21"
    for name, service in SERVICES.items():
        assert service.get("image"), f"{name} has no image"
        for dependency in service.get("depends_on", {}):
            assert dependency in SERVICES, f"{name} depends on unknown {dependency}"
        for volume in service.get("volumes", []):
            source = volume.split(":")[0]
            if source.startswith("."):
                if "var/sounds" not in source:  # made by `make prompts`
                    assert (ROOT / source).exists(), f"{name} mounts missing {source}"
            else:
                assert source in COMPOSE["volumes"], f"{name} uses undeclared volume {source}"
    for name in ("postgres", "redis", "web", "agi", "asterisk", "rasa", "actions"):
        assert "healthcheck" in SERVICES[name], f"{name} has no health check"


def _hotline_commands() -> list[list[str]]:
    """The arguments of every `hotline …` a service runs (as a command, not a word in one)."""
    found = []
    for service in SERVICES.values():
        for part in re.split(r"&&|;", command_text(service).replace('"', " ")):
            words = shlex.split(part)
            if words and words[0] in ("sh", "-c"):
                words = words[2:] if words[:2] == ["sh", "-c"] else words[1:]
            if words[:1] == ["exec"]:
                words = words[1:]
            if words[:1] == ["hotline"]:
                found.append(words[1:])
    return found


def test_every_hotline_command_exists_with_its_options() -> None:
    commands = _hotline_commands()
    assert len(commands) >= 6
    for words in commands:
        group: click.Command = cli
        ctx = click.Context(cli)
        args = list(words)
        while isinstance(group, click.Group) and args and not args[0].startswith("-"):
            sub = group.get_command(ctx, args.pop(0))
            assert sub is not None, f"`hotline {' '.join(words)}`: no such command"
            group = sub
        known = {opt for param in group.params for opt in getattr(param, "opts", [])}
        if group.context_settings.get("ignore_unknown_options"):
            continue  # `hotline worker` passes its options on to celery
        for arg in args:
            if arg.startswith("--"):
                assert arg.split("=")[0] in known, f"`hotline {' '.join(words)}`: {arg}?"


def test_python_entry_points_in_commands_import() -> None:
    text = " ".join(command_text(service) for service in SERVICES.values())
    assert "agents_console.wsgi:app" in text
    module, attr = "agents_console.wsgi", "app"
    assert getattr(importlib.import_module(module), attr) is not None
    assert "celery -A intake.worker beat" in text
    assert importlib.import_module("intake.worker").app is not None
    assert "python -m rasa_sdk --actions bot.actions" in text
    assert importlib.import_module("bot.actions") is not None


def test_ports_agree_with_the_settings() -> None:
    defaults = Settings()
    assert f"{defaults.http_port}:{defaults.http_port}" in SERVICES["web"]["ports"]
    assert any(str(defaults.agi_port) in port for port in SERVICES["agi"]["ports"])
    assert f"--port {defaults.agi_port}" in command_text(SERVICES["agi"])
    assert SERVICES["asterisk"]["environment"]["HOTLINE_AGI_URL"] == (
        f"agi://agi:{defaults.agi_port}"
    )
    dialplan = (ROOT / "ivr/asterisk/extensions.conf").read_text()
    assert "ENV(HOTLINE_AGI_URL)" in dialplan
    assert "5005" in command_text(SERVICES["rasa"])
    assert SERVICES["web"]["environment"]["RASA_URL"] == "http://rasa:5005"
    endpoints = yaml.safe_load((ROOT / "bot/endpoints.docker.yml").read_text())
    assert endpoints["action_endpoint"]["url"] == "http://actions:5055/webhook"
    assert "--port 5055" in command_text(SERVICES["actions"])


def _variables_used() -> set[str]:
    text = (ROOT / "docker-compose.yml").read_text()
    return set(re.findall(r"\$\{([A-Z_][A-Z0-9_]*)", text))


def test_every_variable_is_a_setting_and_in_env_example() -> None:
    app_env = SERVICES["web"]["environment"]
    for key in app_env:
        assert key in _ENV or key in COMPOSE_ONLY | INSTALLER, f"{key} is not read by the code"
    for key in _variables_used():
        assert key in EXAMPLE, f"${{{key}}} is not in .env.example"
    for key in EXAMPLE:
        assert key in _ENV or key in COMPOSE_ONLY, f".env.example has unknown {key}"
    assert set(_ENV) <= set(EXAMPLE), f"missing from .env.example: {set(_ENV) - set(EXAMPLE)}"


def test_no_secret_has_a_value_anywhere() -> None:
    for key in SECRETS:
        assert EXAMPLE.get(key, "") == "", f".env.example gives {key} a value"
    text = (ROOT / "docker-compose.yml").read_text()
    for key in SECRETS:
        for match in re.finditer(rf"{key}: (.+)", text):
            assert match.group(1).strip().startswith("${"), f"{key} has a literal value"
    endpoints = (ROOT / "bot/endpoints.docker.yml").read_text()
    assert "${POSTGRES_PASSWORD}" in endpoints


def test_env_example_loads_as_settings(tmp_path: Path) -> None:
    (tmp_path / ".env").write_text((ROOT / ".env.example").read_text())
    settings = load_settings(environ={}, dotenv=tmp_path / ".env")
    assert settings.agi_port == 4573 and settings.inbox_relay is False
    assert settings.uses_embedded_broker


@pytest.mark.parametrize("name", ["worker", "asr-worker"])
def test_workers_serve_their_own_queues(name: str) -> None:
    queue = {"worker": "celery", "asr-worker": "asr"}[name]
    assert f"-Q {queue}" in command_text(SERVICES[name])
