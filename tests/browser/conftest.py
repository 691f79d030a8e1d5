"""Browser tier: the real web chat page in a real headless Chromium, driven by Playwright.

The app is the real one (webhooks, bot, database) on SQLite, served by werkzeug on 127.0.0.1 in
a thread, with Celery tasks run eagerly inside the request that queues them (the bot answers
before the POST returns). Chromium is Debian's (`apt-get install chromium`): Playwright's own
browser download is never used. Screenshots go to test-artifacts/browser/ at the repo root.
"""

from __future__ import annotations

import os
import re
import shutil
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from werkzeug.serving import make_server

from agents_console.app import create_app
from intake.runtime import Runtime

IN_CI = os.environ.get("CI", "").lower() in {"1", "true", "yes"}
ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts" / "browser"
PHONE = {"width": 390, "height": 844}
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking"]


def _unavailable(message: str) -> None:
    if IN_CI:
        pytest.fail(message)  # .ci/run installs Chromium: its absence there is a failure
    pytest.skip(message)


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]) -> Any:
    """Keep each phase's report on the test, so fixtures can tell a failed test."""
    report = yield
    setattr(item, f"rep_{report.when}", report)
    return report


@pytest.fixture(scope="session")
def chromium_executable() -> str:
    path = shutil.which("chromium")
    if path is None:
        _unavailable(
            "browser tier needs Debian's Chromium on PATH: apt-get install chromium "
            "(.ci/run installs it when it runs as root)"
        )
    assert path is not None
    return path


@pytest.fixture(scope="session")
def browser(chromium_executable: str) -> Iterator[Any]:
    try:
        from playwright.sync_api import sync_playwright
    except ImportError as exc:
        _unavailable(f"browser tier needs Playwright: pip install -e '.[dev]' ({exc})")
    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(
            executable_path=chromium_executable, args=CHROMIUM_ARGS
        )
        yield chromium
        chromium.close()


@pytest.fixture
def runtime(channel_runtime: Runtime) -> Runtime:
    """The app on SQLite with eager tasks and fake providers (tests/conftest.py)."""
    return channel_runtime


@pytest.fixture
def base_url(runtime: Runtime) -> Iterator[str]:
    """The app served over real HTTP on a free loopback port."""
    server = make_server("127.0.0.1", 0, create_app(runtime), threaded=True)
    thread = threading.Thread(target=server.serve_forever, name="browser-tier-http", daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.port}"
    server.shutdown()
    server.server_close()
    thread.join(timeout=10)


@pytest.fixture
def context(browser: Any, request: pytest.FixtureRequest) -> Iterator[Any]:
    """A fresh browser profile (empty localStorage) the size of a phone."""
    ctx = browser.new_context(
        viewport=PHONE,
        device_scale_factor=2,
        is_mobile=True,
        has_touch=True,
        locale="vi-VN",
        timezone_id="Asia/Ho_Chi_Minh",
    )
    ctx.set_default_timeout(30_000)
    yield ctx
    report = getattr(request.node, "rep_call", None)
    if report is not None and report.failed:
        for index, page in enumerate(ctx.pages):
            name = re.sub(r"[^A-Za-z0-9_-]+", "_", request.node.name)
            page.screenshot(path=str(screenshot_path(f"FAILED-{name}-{index}")), full_page=True)
    ctx.close()


@pytest.fixture
def page(context: Any) -> Iterator[Any]:
    """A tab of that profile; a script error on the page fails the test."""
    tab = context.new_page()
    errors: list[str] = []
    tab.on("pageerror", lambda error: errors.append(str(error)))
    yield tab
    assert not errors, f"JavaScript errors on the page: {errors}"


def watched_page(
    browser: Any, viewport: dict[str, int], timeout_ms: int = 30_000, **options: Any
) -> Any:
    """A tab in a fresh Vietnamese profile whose script errors and CSP refusals are collected
    in `page.problems` (the test asserts it is empty at the end)."""
    context = browser.new_context(viewport=viewport, locale="vi-VN", **options)
    context.set_default_timeout(timeout_ms)
    page = context.new_page()
    problems: list[str] = []
    page.on("pageerror", lambda error: problems.append(str(error)))
    page.on(
        "console",
        lambda msg: problems.append(msg.text) if "Content Security Policy" in msg.text else None,
    )
    page.problems = problems
    return page


def screenshot_path(name: str) -> Path:
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    return ARTIFACTS / f"{name}.png"
