from __future__ import annotations

import re

import pytest
from click.testing import CliRunner

from intake.cli import cli
from intake.migrate import head_revision


@pytest.fixture
def run_cli(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("DATABASE_URL", raising=False)
    monkeypatch.delenv("CELERY_BROKER_URL", raising=False)
    runner = CliRunner()

    def invoke(*args, env=None, input=None):
        return runner.invoke(
            cli,
            list(args),
            env={"HOTLINE_VAR_DIR": str(tmp_path / "var"), **(env or {})},
            input=input,
        )

    return invoke


def test_help_explains_every_command(run_cli):
    result = run_cli("--help")
    assert result.exit_code == 0
    for command in ("run", "db", "seed", "user", "sla", "reports", "worker"):
        assert re.search(rf"^\s+{command}\s+\S", result.output, re.M), command
    assert "Ctrl-C" in run_cli("run", "--help").output


def test_seed_demo_prints_admin_password_once_and_is_repeatable(run_cli):
    first = run_cli("seed", "demo")
    assert first.exit_code == 0, first.output
    assert "34 wards" in first.output and "12 categories" in first.output
    password = re.search(r"admin account: admin / (\S+)", first.output).group(1)
    second = run_cli("seed", "demo")
    assert second.exit_code == 0 and "nothing new" in second.output
    assert password not in second.output


def test_user_create_and_clear_errors(run_cli):
    run_cli("db", "upgrade")
    ok = run_cli(
        "user",
        "create",
        "--username",
        "Lan",
        "--role",
        "agent",
        env={"HOTLINE_NEW_PASSWORD": "mot-hai-ba-bon"},
    )
    assert ok.exit_code == 0 and "created user lan (agent)" in ok.output
    again = run_cli(
        "user",
        "create",
        "--username",
        "lan",
        "--role",
        "agent",
        env={"HOTLINE_NEW_PASSWORD": "mot-hai-ba-bon"},
    )
    assert again.exit_code == 1 and "đã có người dùng" in again.output
    short = run_cli(
        "user", "create", "--username", "minh", "--role", "admin", input="short\nshort\n"
    )
    assert short.exit_code == 1 and "ít nhất 10 ký tự" in short.output
    officer = run_cli(
        "user",
        "create",
        "--username",
        "hai",
        "--role",
        "agency_officer",
        env={"HOTLINE_NEW_PASSWORD": "mot-hai-ba-bon"},
    )
    assert officer.exit_code == 1 and "--agency" in officer.output


def test_db_upgrade_then_current(run_cli):
    head = head_revision()
    assert f"revision {head} (was empty)" in run_cli("db", "upgrade").output
    assert f"current: {head}" in run_cli("db", "current").output


def test_bad_configuration_is_an_error_not_a_traceback(run_cli):
    result = run_cli("db", "current", env={"SQL_ECHO": "maybe"})
    assert result.exit_code != 0
    assert "SQL_ECHO" in result.output and "Traceback" not in result.output


def test_reports_refresh_builds_the_summary_with_progress(run_cli, tmp_path):
    from datetime import UTC, date, datetime, timedelta

    from intake.db import make_engine, make_session_factory, unit_of_work
    from intake.models import Case, CaseKind, Channel
    from intake.services import reports

    empty = run_cli("reports", "refresh")
    assert empty.exit_code == 0, empty.output
    assert "nothing to refresh" in empty.output
    engine = make_engine(f"sqlite:///{tmp_path / 'var' / 'hotline.sqlite3'}")
    with unit_of_work(make_session_factory(engine)) as session:
        for i, day in enumerate((1, 1, 15, 40)):
            at = datetime(2026, 10, 1, 3, tzinfo=UTC) + timedelta(days=day)
            session.add(
                Case(code=f"HUE-CLI-{i}", kind=CaseKind.COMPLAINT, channel=Channel.SMS,
                     created_at=at, updated_at=at, ack_due_at=at, resolve_due_at=at)
            )  # fmt: skip
    result = run_cli("reports", "refresh", "--until", "2026-11-20")
    assert result.exit_code == 0, result.output
    assert "[1/2] 2026-10-02 .. 2026-11-01: 3 cases, 0 calls" in result.output
    assert "[2/2] 2026-11-02 .. 2026-11-20: 1 cases, 0 calls" in result.output
    assert "summary refreshed: 50 days (2026-10-02 .. 2026-11-20), 4 cases" in result.output
    period = reports.DateRange(date(2026, 10, 2), date(2026, 11, 20))
    with unit_of_work(make_session_factory(engine)) as session:
        assert reports.covered_days(session, period) == period.days
        counts = reports.tally(session, period, reports.DIMENSIONS)
        assert counts.summary_days == 50 and counts.of("channel") == {"sms": 4}
    again = run_cli("reports", "refresh", "--since", "2026-11-10", "--until", "2026-11-10")
    assert "[1/1] 2026-11-10 .. 2026-11-10: 1 cases" in again.output
    engine.dispose()
