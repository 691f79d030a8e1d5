"""Login rate limiting, security headers, cookies over plain http, and the language switch."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from babel.messages.mofile import read_mo
from babel.messages.pofile import read_po
from flask import Flask

from agents_console.app import create_app
from agents_console.auth.ratelimit import LoginRateLimiter, MemoryStore
from agents_console.web.i18n import TRANSLATIONS_DIR
from intake.config import Settings
from tests.unit.console.conftest import csrf_token, login, make_runtime

TOO_MANY = "Bạn đã nhập sai quá nhiều lần. Vui lòng thử lại sau 15 phút."


def from_address(address: str) -> dict[str, Any]:
    return {"environ_base": {"REMOTE_ADDR": address}}


# --- rate limit ----------------------------------------------------------------------------


def test_five_failures_lock_that_username_from_that_address(app: Flask) -> None:
    client = app.test_client()
    for _ in range(5):
        assert login(client, "lan.agent", "sai-mat-khau-000").status_code == 200
    blocked = login(client, "lan.agent")  # even the right password is not tried now
    assert blocked.status_code == 429
    assert TOO_MANY in blocked.get_data(as_text=True)
    assert blocked.headers["Retry-After"] == "900"
    assert app.test_client().get("/console/test/any").status_code == 302


def test_the_lock_spares_other_users_and_other_addresses(app: Flask) -> None:
    attacker = app.test_client()
    for _ in range(6):
        login(attacker, "lan.agent", "sai-mat-khau-000")
    assert login(attacker, "lan.agent").status_code == 429
    assert login(app.test_client(), "minh.admin").status_code == 302
    other_place = app.test_client()
    response = login(other_place, "lan.agent", **from_address("203.0.113.7"))
    assert response.status_code == 302


def test_a_success_clears_the_failures(app: Flask) -> None:
    client = app.test_client()
    for _ in range(4):
        login(client, "lan.agent", "sai-mat-khau-000")
    assert login(client, "lan.agent").status_code == 302
    fresh = app.test_client()
    for _ in range(4):
        assert login(fresh, "lan.agent", "sai-mat-khau-000").status_code == 200
    assert login(fresh, "lan.agent").status_code == 302


def test_the_memory_window_slides() -> None:
    clock = [1000.0]
    limiter = LoginRateLimiter(MemoryStore(900, clock=lambda: clock[0]), max_failures=5)
    for _ in range(5):
        limiter.failed("lan.agent", "10.0.0.1")
        clock[0] += 60
    assert limiter.blocked("LAN.AGENT ", "10.0.0.1")
    assert not limiter.blocked("lan.agent", "10.0.0.2")
    clock[0] = 1000.0 + 901  # the first failure has left the window
    assert not limiter.blocked("lan.agent", "10.0.0.1")


def test_keys_hold_no_username_or_address() -> None:
    key = LoginRateLimiter.key("lan.agent", "10.0.0.1")
    assert "lan" not in key and "10.0" not in key


def test_redis_is_used_when_the_broker_is_redis() -> None:
    limiter = LoginRateLimiter.for_settings(Settings(celery_broker_url="redis://127.0.0.1:6379/15"))
    assert type(limiter.store).__name__ == "RedisStore"
    assert isinstance(LoginRateLimiter.for_settings(Settings()).store, MemoryStore)


# --- headers and cookies -------------------------------------------------------------------


@pytest.mark.parametrize("path", ["/login", "/healthz", "/console/test/any"])
def test_security_headers_on_every_response(client: Any, path: str) -> None:
    headers = client.get(path).headers
    assert headers["Content-Security-Policy"].startswith("default-src 'self'")
    assert "frame-ancestors 'none'" in headers["Content-Security-Policy"]
    assert headers["X-Content-Type-Options"] == "nosniff"
    assert headers["X-Frame-Options"] == "DENY"
    assert headers["Referrer-Policy"] == "same-origin"
    assert headers["Strict-Transport-Security"].startswith("max-age=")


def test_the_webhooks_keep_working_with_the_headers(client: Any) -> None:
    response = client.post("/webhooks/telegram", json={})
    assert response.status_code == 403 and response.is_json
    assert response.headers["X-Content-Type-Options"] == "nosniff"


@pytest.fixture
def http_app(tmp_path: Path) -> Iterator[Flask]:
    runtime = make_runtime(tmp_path, "http://127.0.0.1:5000")
    yield create_app(runtime)
    runtime.close()


def test_plain_http_has_no_secure_cookie_and_no_hsts(http_app: Flask) -> None:
    client = http_app.test_client()
    response = login(client, "lan.agent")
    assert "Secure" not in response.headers["Set-Cookie"]
    assert "HttpOnly" in response.headers["Set-Cookie"]
    assert "Strict-Transport-Security" not in response.headers


def test_static_css_is_served(client: Any) -> None:
    response = client.get("/static/console.css")
    assert response.status_code == 200 and "text/css" in response.content_type
    response.close()


# --- languages -----------------------------------------------------------------------------


def switch(client: Any, lang: str, next_url: str) -> Any:
    data = {"lang": lang, "next": next_url, "csrf_token": csrf_token(client, next_url)}
    return client.post("/language", data=data)


def test_english_switch_and_back(client: Any) -> None:
    response = switch(client, "en", "/login")
    assert response.status_code == 302 and response.headers["Location"] == "/login"
    html = client.get("/login").get_data(as_text=True)
    assert '<html lang="en">' in html and "Sign in" in html and "Username" in html
    response = login(client, "lan.agent", "sai-mat-khau-000")
    assert "Wrong username or password." in response.get_data(as_text=True)
    login(client, "lan.agent")  # the choice survives the new session
    html = client.get("/console/test/page").get_data(as_text=True)
    assert ">Queue</a>" in html and "Sign out" in html and "Agent" in html
    switch(client, "vi", "/console/test/page")
    assert ">Hàng đợi</a>" in client.get("/console/test/page").get_data(as_text=True)


def test_an_unknown_language_is_ignored(client: Any) -> None:
    switch(client, "fr", "/login")
    assert '<html lang="vi">' in client.get("/login").get_data(as_text=True)


def test_the_compiled_catalogue_matches_the_po_file() -> None:
    folder = TRANSLATIONS_DIR / "en" / "LC_MESSAGES"
    with (folder / "messages.po").open("rb") as po_file:
        po = {m.id: m.string for m in read_po(po_file) if m.id and not m.fuzzy}
    with (folder / "messages.mo").open("rb") as mo_file:
        mo = {m.id: m.string for m in read_mo(mo_file) if m.id}
    assert mo == po, "run `make translations` (or pybabel compile) after editing the .po"
    assert all(po.values()), "every console string needs its English"
