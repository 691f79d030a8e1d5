"""Login, logout, sessions and the role checks of the agents' console."""

from __future__ import annotations

import logging
from datetime import timedelta
from typing import Any

import pytest
from flask import Flask
from sqlalchemy import select

from agents_console.auth.access import SESSION_KEY
from intake.clock import utcnow
from intake.db import unit_of_work
from intake.models import User
from intake.runtime import Runtime
from intake.services.users import hash_password
from tests.unit.console.conftest import PASSWORD, csrf_token, login

WRONG = "Tên đăng nhập hoặc mật khẩu không đúng."


def error_of(response: Any) -> str:
    html = response.get_data(as_text=True)
    start = html.index('class="form-error"')
    return html[html.index(">", start) + 1 : html.index("</p>", start)]


def test_login_page_is_vietnamese_with_a_csrf_token(client: Any) -> None:
    response = client.get("/login")
    html = response.get_data(as_text=True)
    assert response.status_code == 200
    assert '<html lang="vi">' in html
    assert "Tên đăng nhập" in html and "Mật khẩu" in html
    assert csrf_token(client)


def test_login_then_the_console_home_leads_to_the_queue(client: Any) -> None:
    response = login(client, "lan.agent")
    assert response.status_code == 302
    assert response.headers["Location"] == "/console/"
    assert client.get("/console/").headers["Location"] == "/console/queue"
    assert client.get("/console/test/any").status_code == 200


def test_usernames_are_case_and_space_insensitive(client: Any) -> None:
    assert login(client, "  Lan.Agent ").status_code == 302


@pytest.mark.parametrize(
    ("username", "password"),
    [("lan.agent", "sai-mat-khau-123"), ("khong.ton.tai", PASSWORD), ("ghost", "x")],
)
def test_wrong_password_and_unknown_user_get_the_same_answer(
    client: Any, username: str, password: str
) -> None:
    response = login(client, username, password)
    assert response.status_code == 200
    assert error_of(response) == WRONG
    assert client.get("/console/test/any").status_code == 302


def test_an_inactive_user_gets_the_same_answer(client: Any, runtime: Runtime) -> None:
    with unit_of_work(runtime.sessions) as session:
        session.scalars(select(User).where(User.username == "lan.agent")).one().active = False
    response = login(client, "lan.agent")
    assert error_of(response) == WRONG


def test_empty_fields_are_asked_for(client: Any) -> None:
    response = client.post("/login", data={"csrf_token": csrf_token(client)})
    html = response.get_data(as_text=True)
    assert "Vui lòng nhập tên đăng nhập." in html and "Vui lòng nhập mật khẩu." in html


def test_logout_ends_the_session(client: Any) -> None:
    login(client, "lan.agent")
    token = csrf_token(client, "/console/test/page")
    response = client.post("/logout", data={"csrf_token": token})
    assert response.status_code == 302 and response.headers["Location"] == "/login"
    assert "Bạn đã đăng xuất." in client.get("/login").get_data(as_text=True)
    assert client.get("/console/test/any").status_code == 302


def test_a_logged_in_visitor_of_the_login_page_goes_on(client: Any) -> None:
    login(client, "lan.agent")
    response = client.get("/login?next=/console/test/any")
    assert response.headers["Location"] == "/console/test/any"


# --- CSRF ---------------------------------------------------------------------------------


def test_posts_without_the_csrf_token_are_refused(client: Any) -> None:
    response = client.post("/login", data={"username": "lan.agent", "password": PASSWORD})
    assert response.status_code == 400
    assert "Biểu mẫu đã hết hạn" in response.get_data(as_text=True)
    login(client, "lan.agent")
    assert client.post("/logout").status_code == 400
    assert client.post("/console/test/action").status_code == 400
    assert client.post("/console/test/action", data={"csrf_token": "forged"}).status_code == 400
    assert client.get("/console/test/any").status_code == 200  # still logged in


def test_posts_with_the_token_in_a_form_field_or_header_pass(client: Any) -> None:
    login(client, "lan.agent")
    token = csrf_token(client, "/console/test/page")
    assert client.post("/console/test/action", data={"csrf_token": token}).status_code == 200
    response = client.post("/console/test/action", headers={"X-CSRFToken": token})
    assert response.status_code == 200


def test_a_token_from_another_session_is_refused(app: Flask, client: Any) -> None:
    login(client, "lan.agent")
    other = app.test_client()
    foreign = csrf_token(other)
    assert client.post("/console/test/action", data={"csrf_token": foreign}).status_code == 400


def test_webhooks_and_open311_need_no_csrf_token(client: Any) -> None:
    # Refused for their own reasons (no signature, no API key), never by the CSRF check.
    response = client.post("/webhooks/telegram", json={"update_id": 1})
    assert response.status_code == 403 and response.is_json
    response = client.post("/open311/v2/requests.json", data={"service_code": "noise"})
    assert response.is_json
    assert "csrf" not in response.get_data(as_text=True).lower()


# --- sessions ------------------------------------------------------------------------------


def test_login_starts_a_new_session(client: Any) -> None:
    with client.session_transaction() as session:
        session["planted"] = "by an attacker"
        session[SESSION_KEY] = {"sid": "fixed-by-attacker"}
    first = login(client, "lan.agent")
    assert first.status_code == 302
    with client.session_transaction() as session:
        assert "planted" not in session
        first_sid = session[SESSION_KEY]["sid"]
    assert first_sid != "fixed-by-attacker" and len(first_sid) >= 20
    client.post("/logout", data={"csrf_token": csrf_token(client, "/console/test/page")})
    login(client, "lan.agent")
    with client.session_transaction() as session:
        assert session[SESSION_KEY]["sid"] != first_sid


def test_the_session_cookie_is_httponly_lax_and_secure_on_https(client: Any) -> None:
    response = login(client, "lan.agent")
    cookie = response.headers["Set-Cookie"]
    assert cookie.startswith("hotline_session=")
    assert "HttpOnly" in cookie and "SameSite=Lax" in cookie and "Secure" in cookie
    assert "Expires=" in cookie  # ends with the idle timeout, not only with the browser


def test_an_idle_session_ends(client: Any) -> None:
    login(client, "lan.agent")
    with client.session_transaction() as session:
        data = session[SESSION_KEY]
        data["seen"] = (utcnow() - timedelta(hours=8, minutes=1)).timestamp()
        session[SESSION_KEY] = data
    response = client.get("/console/test/any")
    assert response.status_code == 302 and response.headers["Location"].startswith("/login")
    assert "Phiên làm việc đã hết hạn" in client.get("/login").get_data(as_text=True)


def test_an_active_session_is_kept(client: Any) -> None:
    login(client, "lan.agent")
    with client.session_transaction() as session:
        data = session[SESSION_KEY]
        data["seen"] = (utcnow() - timedelta(hours=7)).timestamp()
        session[SESSION_KEY] = data
    assert client.get("/console/test/any").status_code == 200
    with client.session_transaction() as session:
        assert utcnow().timestamp() - session[SESSION_KEY]["seen"] < 60


def test_a_password_change_ends_other_sessions(client: Any, runtime: Runtime) -> None:
    login(client, "lan.agent")
    with unit_of_work(runtime.sessions) as session:
        user = session.scalars(select(User).where(User.username == "lan.agent")).one()
        user.password_hash = hash_password("mat-khau-moi-2027")
    assert client.get("/console/test/any").status_code == 302


# --- next ----------------------------------------------------------------------------------


def test_anonymous_visitors_are_sent_to_login_and_back(client: Any) -> None:
    response = client.get("/console/test/any?tab=2")
    assert response.status_code == 302
    assert response.headers["Location"] == "/login?next=/console/test/any?tab%3D2"
    response = login(client, "lan.agent", next_url="/console/test/any?tab=2")
    assert response.headers["Location"] == "/console/test/any?tab=2"


@pytest.mark.parametrize(
    "target",
    [
        "https://evil.example/",
        "//evil.example/console",
        "/\\evil.example",
        "\\\\evil.example",
        "javascript:alert(1)",
        "/console\r\nLocation: https://evil.example",
        "console/queue",
    ],
)
def test_next_never_leaves_the_site(client: Any, target: str) -> None:
    response = login(client, "lan.agent", next_url=target)
    assert response.status_code == 302
    assert response.headers["Location"] == "/console/"


# --- roles ---------------------------------------------------------------------------------


def test_an_agent_gets_403_on_an_admin_page(client: Any) -> None:
    login(client, "lan.agent")
    response = client.get("/console/test/admin-only")
    assert response.status_code == 403
    html = response.get_data(as_text=True)
    assert "Không có quyền truy cập" in html and "Nguyễn Thị Lan" in html


def test_an_admin_opens_the_admin_page(client: Any) -> None:
    login(client, "minh.admin")
    assert client.get("/console/test/admin-only").get_data(as_text=True) == "admin page"


def test_anonymous_visitors_of_an_admin_page_are_sent_to_login(client: Any) -> None:
    response = client.get("/console/test/admin-only")
    assert response.status_code == 302
    assert response.headers["Location"] == "/login?next=/console/test/admin-only"


@pytest.mark.parametrize(
    ("username", "shown", "hidden"),
    [
        ("lan.agent", ["Hàng đợi", "Hội thoại", "Đăng ký"], ["Quản trị", "Thống kê"]),
        ("hoa.supervisor", ["Hàng đợi", "Hội thoại", "Đăng ký", "Thống kê"], ["Quản trị"]),
        ("minh.admin", ["Hàng đợi", "Hội thoại", "Đăng ký", "Quản trị", "Thống kê"], []),
    ],
)
def test_the_nav_shows_the_pages_of_the_role(
    client: Any, username: str, shown: list[str], hidden: list[str]
) -> None:
    login(client, username)
    html = client.get("/console/test/page").get_data(as_text=True)
    nav = html[html.index('<nav class="mainnav"') : html.index("</nav>")]
    for label in shown:
        assert f">{label}</a>" in nav
    for label in hidden:
        assert f">{label}</a>" not in nav


# --- logs ----------------------------------------------------------------------------------


def test_logins_are_logged_with_the_username_never_the_password(
    client: Any, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO)
    login(client, "lan.agent", "mat-khau-sai-9876")
    login(client, "lan.agent")
    lines = [record.getMessage() for record in caplog.records if "login" in record.getMessage()]
    assert any("failed" in line and "lan.agent" in line for line in lines)
    assert any("console login:" in line and "lan.agent" in line for line in lines)
    text = "\n".join(record.getMessage() for record in caplog.records)
    assert "mat-khau-sai-9876" not in text and PASSWORD not in text
