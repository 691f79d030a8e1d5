"""`hotline open311 key create|list|revoke`."""

from __future__ import annotations

import re

from click.testing import CliRunner
from sqlalchemy import select

from agents_console.app import create_app
from intake.cli import cli
from intake.db import unit_of_work
from intake.models import Open311ApiKey


def test_key_create_list_revoke(runtime):
    runner = CliRunner()

    def run(*args):
        return runner.invoke(cli, list(args), obj=runtime)

    created = run("open311", "key", "create", "--name", "Sở TN&MT")
    assert created.exit_code == 0, created.output
    clear = re.search(r"^(h311_\S+)$", created.stdout, re.M).group(1)
    assert "Sở TN&MT" in created.stdout and "only this once" in created.stderr
    with unit_of_work(runtime.sessions) as session:
        key = session.scalars(select(Open311ApiKey)).one()
        assert key.name == "Sở TN&MT" and key.key_hash != clear
        key_id = key.id

    listed = run("open311", "key", "list")
    assert listed.exit_code == 0 and "Sở TN&MT" in listed.stdout and "active" in listed.stdout
    assert clear not in listed.stdout

    client = create_app(runtime).test_client()
    form = {
        "api_key": clear,
        "service_code": "noise",
        "address_string": "kiệt 3 Đội Cung, phường Vĩnh Ninh",
        "description": "Karaoke quá 22 giờ",
    }
    assert client.post("/open311/v2/requests.json", data=form).status_code == 201

    revoked = run("open311", "key", "revoke", str(key_id))
    assert revoked.exit_code == 0 and "revoked" in revoked.stdout
    assert "revoked" in run("open311", "key", "list").stdout
    form["description"] = "Karaoke lại quá 22 giờ"
    assert client.post("/open311/v2/requests.json", data=form).status_code == 403

    missing = run("open311", "key", "revoke", "999")
    assert missing.exit_code == 1 and "999" in missing.stderr
    blank = run("open311", "key", "create", "--name", "  ")
    assert blank.exit_code == 1 and "--name" in blank.stderr
