"""The `hotline` command: run the system, migrate, seed, manage users."""

from __future__ import annotations

import logging
import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from datetime import date
from functools import wraps
from typing import Any, TypeVar

import click
from sqlalchemy import select

from intake.cli_settings import settings_or_exit
from intake.clock import local_date, utcnow
from intake.config import Settings
from intake.db import unit_of_work
from intake.migrate import current_revision, head_revision, upgrade
from intake.models import Category, Role
from intake.pii import configure_logging
from intake.runtime import Runtime, set_runtime
from intake.seed import seed_demo
from intake.services import reports
from intake.services.errors import DomainError
from intake.services.sla import sweep_overdue
from intake.services.users import create_user

log = logging.getLogger("hotline")
F = TypeVar("F", bound=Callable[..., Any])


def _runtime(ctx: click.Context) -> Runtime:
    runtime: Runtime | None = ctx.obj
    if runtime is None:
        runtime = Runtime.from_settings(settings_or_exit())
        set_runtime(runtime)
        ctx.obj = runtime
        ctx.call_on_close(runtime.close)
    return runtime


def domain_errors(func: F) -> F:
    """Show a refused request as a message on stderr with exit status 1, not a traceback."""

    @wraps(func)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return func(*args, **kwargs)
        except DomainError as exc:
            errors = getattr(exc, "errors", None) or {"error": exc.message_vi}
            for field, message in errors.items():
                click.echo(f"error: {field}: {message}", err=True)
            sys.exit(1)

    return wrapper  # type: ignore[return-value]


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="hotline")
def cli() -> None:
    """Citizen hotline and chatbot intake for Huế (1900 hotline, SMS, Zalo, Messenger,
    Telegram, web chat).

    Configuration comes from environment variables or a `.env` file in the current
    directory; with none set, everything runs on this machine with SQLite under var/.
    """


@cli.command()
@click.option("--host", default=None, help="Address for console + webhooks [127.0.0.1].")
@click.option("--port", type=int, default=None, help="Port for console + webhooks [5000].")
@click.option("--no-worker", is_flag=True, help="Do not start the background worker.")
@click.option("--agi-port", type=int, default=None, help="Port for FastAGI [4573].")
@click.option("--no-agi", is_flag=True, help="Do not start the FastAGI server.")
@click.pass_context
def run(
    ctx: click.Context,
    host: str | None,
    port: int | None,
    no_worker: bool,
    agi_port: int | None,
    no_agi: bool,
) -> None:
    """Run everything on one machine: migrate the database, seed demo data on first run,
    start the background worker (Celery with beat) and the FastAGI server for Asterisk, and
    serve the console and webhooks. Stops cleanly on Ctrl-C."""
    from werkzeug.serving import make_server

    from agents_console.app import create_app

    configure_logging()
    runtime = _runtime(ctx)
    settings = runtime.settings
    settings.var_dir.mkdir(parents=True, exist_ok=True)
    upgrade(runtime.engine)
    _seed_if_empty(runtime)
    worker = None if no_worker else _start_worker(settings)
    agi = None if no_agi else _start_agi(settings, agi_port)
    stop = threading.Event()
    if settings.inbox_relay:
        threading.Thread(target=_relay(runtime).run, args=(stop,), daemon=True).start()
    server = make_server(
        host or settings.http_host, port or settings.http_port, create_app(runtime), threaded=True
    )

    def _shutdown(signum: int, _frame: Any) -> None:
        if not stop.is_set():
            stop.set()
            threading.Thread(target=server.shutdown, daemon=True).start()

    signal.signal(signal.SIGTERM, _shutdown)
    signal.signal(signal.SIGINT, _shutdown)
    click.echo(f"hotline: console and webhooks on http://{server.host}:{server.port}/")
    if settings.uses_embedded_broker:
        broker_dir = (settings.var_dir / "celery").resolve()
        click.echo(f"hotline: background tasks use the embedded broker under {broker_dir}")
    try:
        server.serve_forever()
    finally:
        server.server_close()
        for child in (agi, worker):
            if child is not None:
                _stop_child(child)
        click.echo("hotline: stopped")


def _start_worker(settings: Settings) -> subprocess.Popen[bytes]:
    schedule = (settings.var_dir / "celerybeat-schedule").resolve()
    from intake.worker import worker_command

    command = worker_command(
        "--beat",
        "--schedule",
        str(schedule),
        "--pool",
        "solo",
        "--loglevel",
        "INFO",
        "--without-mingle",
        "--without-gossip",
        "--without-heartbeat",
    )
    # Its own process group, so Ctrl-C reaches it only through us and shutdown is ordered.
    return subprocess.Popen(command, start_new_session=True, env=os.environ.copy())  # noqa: S603


def _start_agi(settings: Settings, port: int | None) -> subprocess.Popen[bytes]:
    """`hotline agi serve` as a child: it forks a process per call, which a threaded web
    server must not do itself."""
    command = [sys.executable, "-m", "intake", "agi", "serve", "--host", settings.agi_host]
    command += ["--port", str(port if port is not None else settings.agi_port)]
    return subprocess.Popen(command, start_new_session=True, env=os.environ.copy())  # noqa: S603


def _stop_child(worker: subprocess.Popen[bytes]) -> None:
    if worker.poll() is not None:
        return
    worker.terminate()  # Celery's warm shutdown: finish the current task, then exit
    try:
        worker.wait(timeout=20)
    except subprocess.TimeoutExpired:
        worker.kill()
        worker.wait()


def _seed_if_empty(runtime: Runtime) -> None:
    with unit_of_work(runtime.sessions) as session:
        if session.scalar(select(Category.id).limit(1)) is not None:
            return
        report = seed_demo(session, utcnow())
    _print_seed(report.created, report.admin_username, report.admin_password)


def _print_seed(created: dict[str, int], username: str | None, password: str | None) -> None:
    summary = ", ".join(f"{n} {what}" for what, n in sorted(created.items())) or "nothing new"
    click.echo(f"seeded: {summary}")
    if username and password:
        click.echo(
            f"admin account: {username} / {password}\n"
            "  (shown only this once: write it down, or create another admin with "
            "`hotline user create`)"
        )


@cli.group()
def db() -> None:
    """Database schema: migrations with Alembic."""


@db.command("upgrade")
@click.option("--revision", default="head", show_default=True, help="Target revision.")
@click.pass_context
def db_upgrade(ctx: click.Context, revision: str) -> None:
    """Create or migrate the database named by DATABASE_URL to the latest schema."""
    runtime = _runtime(ctx)
    before = current_revision(runtime.engine)
    upgrade(runtime.engine, revision)
    after = current_revision(runtime.engine)
    click.echo(f"database at revision {after} (was {before or 'empty'})")


@db.command("current")
@click.pass_context
def db_current(ctx: click.Context) -> None:
    """Show the database's schema revision and the latest one."""
    runtime = _runtime(ctx)
    click.echo(f"current: {current_revision(runtime.engine) or 'empty'}  head: {head_revision()}")


@cli.group()
def seed() -> None:
    """Load reference and demo data."""


@seed.command("demo")
@click.pass_context
@domain_errors
def seed_demo_command(ctx: click.Context) -> None:
    """Add Huế's wards, agencies, complaint categories, a support programme and an admin
    (its password is printed once). Safe to run again: existing rows are kept."""
    runtime = _runtime(ctx)
    upgrade(runtime.engine)
    with unit_of_work(runtime.sessions) as session:
        report = seed_demo(session, utcnow())
    _print_seed(report.created, report.admin_username, report.admin_password)


@cli.group()
def user() -> None:
    """Console users and their roles."""


@user.command("create")
@click.option("--username", required=True, help="Login name (letters, digits, . _ -).")
@click.option(
    "--role",
    type=click.Choice([r.value for r in Role]),
    required=True,
    help="agent: works cases; supervisor: sees personal data, reports; admin: everything; "
    "agency_officer: cases routed to one agency.",
)
@click.option("--full-name", default="", help="Name shown in the console and timeline.")
@click.option("--agency", "agency_code", default=None, help="Agency code (agency officers).")
@click.option(
    "--password",
    prompt=True,
    hide_input=True,
    confirmation_prompt=True,
    envvar="HOTLINE_NEW_PASSWORD",
    help="At least 10 characters; asked for when not given (or set HOTLINE_NEW_PASSWORD).",
)
@click.pass_context
@domain_errors
def user_create(
    ctx: click.Context,
    username: str,
    role: str,
    full_name: str,
    agency_code: str | None,
    password: str,
) -> None:
    """Create a console user."""
    runtime = _runtime(ctx)
    with unit_of_work(runtime.sessions) as session:
        created = create_user(
            session,
            username=username,
            full_name=full_name,
            role=Role(role),
            password=password,
            now=utcnow(),
            agency_code=agency_code,
        )
        name, role_name = created.username, created.role.value
    click.echo(f"created user {name} ({role_name})")


@cli.group()
def sla() -> None:
    """Service-level clocks (acknowledge within 1 hour, resolve within 7 days)."""


@sla.command("sweep")
@click.pass_context
def sla_sweep(ctx: click.Context) -> None:
    """Mark overdue cases now (the worker's beat does this every minute)."""
    runtime = _runtime(ctx)
    with unit_of_work(runtime.sessions) as session:
        result = sweep_overdue(session, utcnow())
    click.echo(
        f"overdue: {len(result.ack_overdue)} not acknowledged in time, "
        f"{len(result.resolve_overdue)} not resolved in time"
    )


@cli.group("reports")
def reports_group() -> None:
    """The dashboards' daily summary (the worker's beat keeps it up to date)."""


@reports_group.command("refresh")
@click.option(
    "--since",
    type=click.DateTime(["%Y-%m-%d"]),
    default=None,
    help="First day (YYYY-MM-DD, Huế) [the first case or call].",
)
@click.option(
    "--until",
    type=click.DateTime(["%Y-%m-%d"]),
    default=None,
    help="Last day (YYYY-MM-DD) [today].",
)
@click.pass_context
def reports_refresh(ctx: click.Context, since: Any, until: Any) -> None:
    """Recompute the summary of every day in a range from the cases and calls, a month per
    transaction, showing progress. Builds it on an existing database after an upgrade;
    safe to run again, and while the system runs (the dashboards stay exact meanwhile)."""
    runtime = _runtime(ctx)
    upgrade(runtime.engine)
    last: date = until.date() if until else local_date(utcnow())
    first: date | None = since.date() if since else None
    if first is None:
        with unit_of_work(runtime.sessions) as session:
            first = reports.first_day(session)
    if first is None or first > last:
        click.echo("nothing to refresh: no cases or calls in that range")
        return
    days = reports.DateRange(first, last).days
    parts = reports.batches(days)
    started = time.monotonic()
    cases = calls = 0
    for number, batch in enumerate(parts, 1):
        with unit_of_work(runtime.sessions) as session:
            done = reports.refresh_days(session, batch, utcnow())
        cases, calls = cases + done.cases, calls + done.calls
        click.echo(
            f"[{number}/{len(parts)}] {batch[0]} .. {batch[-1]}: {done.cases} cases, "
            f"{done.calls} calls ({time.monotonic() - started:.1f} s)"
        )
    click.echo(
        f"summary refreshed: {len(days)} days ({first} .. {last}), {cases} cases, "
        f"{calls} calls in {time.monotonic() - started:.1f} s"
    )


@cli.command(context_settings={"ignore_unknown_options": True, "allow_extra_args": True})
@click.option("--beat", is_flag=True, help="Also run the periodic schedule (one per site).")
@click.pass_context
def worker(ctx: click.Context, beat: bool) -> None:
    """Run a background worker (Celery); extra arguments go to `celery worker`.

    It serves every queue unless given `-Q`: `hotline worker -Q asr` is a speech worker."""
    from intake.worker import worker_command

    command = worker_command(*(["--beat"] if beat else []), "--loglevel", "INFO", *ctx.args)
    os.execv(sys.executable, command)  # noqa: S606 - replaces this process


def _relay(runtime: Runtime) -> Any:
    from intake.channels.relay import Relay
    from intake.channels.tasks import publish_batch

    return Relay(runtime, publish_batch)


@cli.command()
@click.pass_context
def relay(ctx: click.Context) -> None:
    """Run the inbox relay (PostgreSQL): queue the bot's work for every stored delivery.

    Used with INBOX_RELAY=true, so that webhooks only write to the database."""
    configure_logging()
    runtime = _runtime(ctx)
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    signal.signal(signal.SIGINT, lambda *_: stop.set())
    click.echo("hotline: inbox relay running; Ctrl-C stops it")
    _relay(runtime).run(stop)
    click.echo("hotline: inbox relay stopped")


def _register_bot_commands() -> None:
    from bot.cli import chat, nlu
    from intake.asr_cli import asr
    from intake.open311_cli import open311
    from ivr.cli import agi

    cli.add_command(nlu)
    cli.add_command(chat)
    cli.add_command(asr)
    cli.add_command(open311)
    cli.add_command(agi)


_register_bot_commands()


def main() -> None:
    cli(prog_name="hotline")
