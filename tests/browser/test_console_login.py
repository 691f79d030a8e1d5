"""The agents' console in a real Chromium: an agent signs in, sees their pages, signs out."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from flask import render_template
from werkzeug.serving import make_server

from agents_console.app import create_app
from agents_console.auth.access import require_role
from intake.config import Settings
from intake.db import unit_of_work
from intake.models import Base, Role
from intake.runtime import Runtime
from intake.services.users import create_user
from tests.browser.conftest import screenshot_path
from tests.conftest import NOW

pytestmark = pytest.mark.browser

PASSWORD = "mat-khau-dung-2026"
DESKTOP = {"width": 1280, "height": 800}


@pytest.fixture
def console_url(tmp_path: Path) -> Iterator[str]:
    """The app as `hotline run` serves it (plain http on loopback), with one agent and a
    stand-in queue page (the real queue is another feature)."""
    settings = Settings(
        var_dir=tmp_path,
        database_url=f"sqlite:///{tmp_path / 'console.sqlite3'}",
        public_base_url="http://127.0.0.1:5000",
    )
    runtime = Runtime.from_settings(settings)
    Base.metadata.create_all(runtime.engine)
    with unit_of_work(runtime.sessions) as session:
        create_user(
            session,
            username="lan.agent",
            full_name="Nguyễn Thị Lan",
            role=Role.AGENT,
            password=PASSWORD,
            now=NOW,
        )
    app = create_app(runtime)

    @app.get("/console/queue")
    @require_role(Role.AGENT, Role.SUPERVISOR, Role.ADMIN, Role.AGENCY_OFFICER)
    def queue() -> str:
        return render_template("base.html")

    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, name="console-http", daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.port}"
    server.shutdown()
    server.server_close()
    thread.join(timeout=10)
    runtime.close()


def watch_csp(page: Any) -> list[str]:
    """Collect Content-Security-Policy violations the page reports on its console."""
    violations: list[str] = []
    page.on(
        "console",
        lambda msg: violations.append(msg.text) if "Content Security Policy" in msg.text else None,
    )
    return violations


def sign_in_and_out(page: Any, console_url: str, name: str) -> None:
    violations = watch_csp(page)
    page.goto(f"{console_url}/console/queue")
    assert "/login?next=" in page.url
    page.get_by_label("Tên đăng nhập").fill("lan.agent")
    page.get_by_label("Mật khẩu").fill(PASSWORD)
    page.get_by_role("button", name="Đăng nhập").click()
    page.wait_for_url(f"{console_url}/console/queue")

    nav = page.get_by_role("navigation", name="Trang")
    assert nav.get_by_role("link").all_inner_texts() == ["Hàng đợi", "Hội thoại", "Đăng ký"]
    assert nav.get_by_role("link", name="Hàng đợi").get_attribute("aria-current") == "page"
    assert page.get_by_role("banner").get_by_text("Nguyễn Thị Lan").is_visible()
    assert page.get_by_text("Tổng đài viên").first.is_visible()
    assert page.get_by_role("button", name="Đăng xuất").is_visible()
    page.screenshot(path=str(screenshot_path(f"console-{name}-signed-in")), full_page=True)

    page.get_by_role("button", name="Đăng xuất").click()
    page.wait_for_url(f"{console_url}/login")
    assert page.get_by_text("Bạn đã đăng xuất.").is_visible()
    page.screenshot(path=str(screenshot_path(f"console-{name}-signed-out")), full_page=True)
    page.goto(f"{console_url}/console/queue")
    assert "/login?next=" in page.url
    assert not violations, violations


def test_an_agent_signs_in_sees_the_nav_and_signs_out_on_a_phone(
    page: Any, console_url: str
) -> None:
    sign_in_and_out(page, console_url, "phone")


def test_the_same_on_a_desk_screen(browser: Any, console_url: str) -> None:
    context = browser.new_context(viewport=DESKTOP, locale="vi-VN")
    try:
        sign_in_and_out(context.new_page(), console_url, "desktop")
    finally:
        context.close()
