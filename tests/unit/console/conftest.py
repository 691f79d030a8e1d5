"""The console on a real app and SQLite database: users of each role, test-only routes."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from flask import Flask, render_template

from agents_console.app import create_app
from agents_console.auth.access import login_required, require_role
from intake.config import Settings
from intake.db import unit_of_work
from intake.models import Base, Role
from intake.runtime import Runtime
from intake.services.users import create_user
from tests.conftest import NOW

PASSWORD = "mat-khau-dung-2026"
USERS = {
    "lan.agent": ("Nguyễn Thị Lan", Role.AGENT),
    "minh.admin": ("Trần Văn Minh", Role.ADMIN),
    "hoa.supervisor": ("Lê Thị Hoa", Role.SUPERVISOR),
}
TOKEN = re.compile(
    r'name="csrf_token" type="hidden" value="([^"]+)"|name="csrf_token" value="([^"]+)"'
)


def make_runtime(tmp_path: Path, public_base_url: str) -> Runtime:
    settings = Settings(
        var_dir=tmp_path,
        database_url=f"sqlite:///{tmp_path / 'console.sqlite3'}",
        public_base_url=public_base_url,
    )
    runtime = Runtime.from_settings(settings)
    Base.metadata.create_all(runtime.engine)
    with unit_of_work(runtime.sessions) as session:
        for username, (full_name, role) in USERS.items():
            create_user(
                session,
                username=username,
                full_name=full_name,
                role=role,
                password=PASSWORD,
                now=NOW,
            )
    return runtime


def add_test_routes(app: Flask) -> None:
    """Pages only the tests have: one per kind of access check, and a console POST."""

    @app.get("/console/test/admin-only")
    @require_role(Role.ADMIN)
    def admin_only() -> str:
        return "admin page"

    @app.get("/console/test/any")
    @login_required
    def any_user() -> str:
        return "any signed-in user"

    @app.get("/console/test/page")
    @login_required
    def page() -> str:
        return render_template("base.html")

    @app.post("/console/test/action")
    @login_required
    def action() -> str:
        return "done"


@pytest.fixture
def runtime(tmp_path: Path) -> Iterator[Runtime]:
    runtime = make_runtime(tmp_path, "https://hotline.example.vn")
    yield runtime
    runtime.close()


@pytest.fixture
def app(runtime: Runtime) -> Flask:
    app = create_app(runtime, {"TESTING": True})
    add_test_routes(app)
    return app


@pytest.fixture
def client(app: Flask) -> Any:
    return app.test_client()


def csrf_token(client: Any, path: str = "/login") -> str:
    """The CSRF token of the client's session, read from a page like a browser would."""
    html = client.get(path).get_data(as_text=True)
    match = TOKEN.search(html)
    assert match, f"no CSRF token on {path}"
    return match.group(1) or match.group(2)


def login(
    client: Any,
    username: str,
    password: str = PASSWORD,
    next_url: str | None = None,
    **kwargs: Any,
) -> Any:
    data = {"username": username, "password": password, "csrf_token": csrf_token(client)}
    if next_url is not None:
        data["next"] = next_url
    return client.post("/login", data=data, **kwargs)
