"""`hotline agi serve`, `hotline agi script NAME` and `hotline agi eagi NAME`."""

from __future__ import annotations

import importlib
import sys

import click

from intake.cli_settings import settings_or_exit
from intake.pii import configure_logging
from intake.runtime import Runtime, set_runtime

LOG_LEVELS = click.Choice(["DEBUG", "INFO", "WARNING", "ERROR"], case_sensitive=False)


def _runtime() -> Runtime:
    runtime = Runtime.from_settings(settings_or_exit())
    set_runtime(runtime)
    return runtime


_flows_module_option = click.option(
    "--flows-module",
    "flow_modules",
    multiple=True,
    metavar="MODULE",
    help="Also load the flows of this Python module (diagnostics, tests); repeatable.",
)


def _import_flows(modules: tuple[str, ...]) -> None:
    for module in modules:
        try:
            importlib.import_module(module)
        except ImportError as exc:
            raise click.ClickException(f"--flows-module {module}: {exc}") from exc


@click.group()
def agi() -> None:
    """The telephone line: the FastAGI server Asterisk calls, and AGI/EAGI scripts."""


@agi.command("serve")
@click.option("--host", default=None, help="Address to listen on [HOTLINE_AGI_HOST, 127.0.0.1].")
@click.option("--port", type=int, default=None, help="Port [HOTLINE_AGI_PORT, 4573].")
@click.option(
    "--max-calls",
    type=click.IntRange(min=1),
    default=200,
    show_default=True,
    help="Calls served at once; a few more hear 'all lines busy' and go to the agents.",
)
@click.option(
    "--shutdown-timeout",
    type=float,
    default=30.0,
    show_default=True,
    help="Seconds to let calls finish after SIGTERM before ending them.",
)
@click.option("--log-level", type=LOG_LEVELS, default="INFO", show_default=True)
@_flows_module_option
def serve(
    host: str | None,
    port: int | None,
    max_calls: int,
    shutdown_timeout: float,
    log_level: str,
    flow_modules: tuple[str, ...],
) -> None:
    """Serve FastAGI: Asterisk's AGI(agi://HOST:PORT/NAME) runs the call flow NAME, one
    process per call. Stops on SIGTERM or Ctrl-C once the calls in progress have ended."""
    from ivr.registry import load_flows
    from ivr.server import AgiServer, ServerConfig
    from ivr.speech import preload

    configure_logging(log_level.upper())
    runtime = _runtime()
    settings = runtime.settings
    config = ServerConfig(
        host=host or settings.agi_host,
        port=port if port is not None else settings.agi_port,
        max_calls=max_calls,
        shutdown_timeout_s=shutdown_timeout,
    )
    _import_flows(flow_modules)
    flows = load_flows()
    server = AgiServer(runtime, config)
    try:
        bound_host, bound_port = server.bind()
    except OSError as exc:
        raise click.ClickException(
            f"cannot listen on {config.host}:{config.port}: {exc.strerror or exc}; "
            "choose another --port or stop what is using it"
        ) from exc
    click.echo(
        f"hotline: FastAGI on agi://{bound_host}:{bound_port}/ flows: {', '.join(flows) or '-'}"
        f" (max {max_calls} calls)",
        err=True,
    )
    # Listening already: calls arriving while the models load wait in the backlog.
    preload(settings)
    try:
        server.serve_forever()
    finally:
        runtime.close()
        click.echo("hotline: FastAGI stopped", err=True)


@agi.command("script")
@click.argument("name", required=False)
@click.option("--log-level", type=LOG_LEVELS, default="WARNING", show_default=True)
@_flows_module_option
def script(name: str | None, log_level: str, flow_modules: tuple[str, ...]) -> None:
    """Run one call as a plain AGI script on stdin/stdout with the flow NAME (default: the
    script name Asterisk sends)."""
    from ivr.agi_main import run_script

    configure_logging(log_level.upper())
    _import_flows(flow_modules)
    sys.exit(run_script(_runtime(), name))


@agi.command("eagi")
@click.argument("name", required=False)
@click.option("--log-level", type=LOG_LEVELS, default="WARNING", show_default=True)
@_flows_module_option
def eagi(name: str | None, log_level: str, flow_modules: tuple[str, ...]) -> None:
    """Run one call as an EAGI script: AGI on stdin/stdout, the caller's audio on fd 3."""
    from ivr.agi_main import run_eagi

    configure_logging(log_level.upper())
    _import_flows(flow_modules)
    sys.exit(run_eagi(_runtime(), name))
