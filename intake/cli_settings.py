"""Settings for the `hotline` subcommands: read once, a configuration error shown as one line."""

from __future__ import annotations

import click

from intake.config import ConfigError, Settings, load_settings


def settings_or_exit() -> Settings:
    """The settings from the environment and `.env`; a bad value stops the command with a
    message naming it (exit status 1), not a traceback."""
    try:
        return load_settings()
    except ConfigError as exc:
        raise click.ClickException(f"configuration: {exc}") from exc
