"""`hotline open311 key create|revoke|list`: API keys for partner systems posting requests."""

from __future__ import annotations

import click

from intake.clock import utcnow
from intake.db import unit_of_work
from intake.migrate import upgrade
from intake.runtime import Runtime
from intake.services import open311 as service
from intake.services.errors import DomainError


def _runtime(ctx: click.Context) -> Runtime:
    from intake.cli import _runtime as cli_runtime  # the one `hotline` builds (or a test's)

    runtime = cli_runtime(ctx)
    upgrade(runtime.engine)
    return runtime


@click.group()
def open311() -> None:
    """Open311 GeoReport v2 (/open311/v2/): partner systems and their API keys."""


@open311.group()
def key() -> None:
    """API keys for POST /open311/v2/requests.json (only their SHA-256 is stored)."""


@key.command("create")
@click.option("--name", required=True, help='The partner system, e.g. "Sở TN&MT".')
@click.pass_context
def key_create(ctx: click.Context, name: str) -> None:
    """Create a key and print it once: it cannot be shown again, only revoked."""
    runtime = _runtime(ctx)
    try:
        with unit_of_work(runtime.sessions) as session:
            created, clear = service.create_key(session, name, now=utcnow())
            key_id, key_name = created.id, created.name
    except DomainError as exc:
        raise click.ClickException(exc.message_vi) from exc
    click.echo(f"created Open311 key {key_id} for {key_name}:")
    click.echo(clear)
    click.echo("(shown only this once: give it to the partner over a safe channel)", err=True)


@key.command("revoke")
@click.argument("key_id", type=int)
@click.pass_context
def key_revoke(ctx: click.Context, key_id: int) -> None:
    """Refuse the key KEY_ID from now on (see `hotline open311 key list`)."""
    runtime = _runtime(ctx)
    try:
        with unit_of_work(runtime.sessions) as session:
            revoked = service.revoke_key(session, key_id, now=utcnow())
            name = revoked.name
    except DomainError as exc:
        raise click.ClickException(exc.message_vi) from exc
    click.echo(f"revoked Open311 key {key_id} ({name})")


@key.command("list")
@click.pass_context
def key_list(ctx: click.Context) -> None:
    """The keys, their systems and whether they are revoked (never the keys themselves)."""
    runtime = _runtime(ctx)
    with unit_of_work(runtime.sessions) as session:
        rows = [(k.id, k.name, k.created_at, k.revoked_at) for k in service.list_keys(session)]
    if not rows:
        click.echo("no Open311 keys: create one with `hotline open311 key create --name ...`")
    for key_id, name, created_at, revoked_at in rows:
        state = f"revoked {revoked_at:%Y-%m-%d %H:%M}Z" if revoked_at else "active"
        click.echo(f"{key_id}\t{name}\tcreated {created_at:%Y-%m-%d %H:%M}Z\t{state}")
