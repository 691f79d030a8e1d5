"""An agent's day in a real Chromium: sign in, take a case from the queue, answer the resident,
resolve the case. Screenshots go to test-artifacts/browser/."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select
from werkzeug.serving import make_server

from agents_console.app import create_app
from intake.db import unit_of_work
from intake.models import Case, Channel, Conversation, ConversationState, OutboxMessage
from intake.runtime import Runtime
from tests.browser.conftest import screenshot_path, watched_page
from tests.unit.console.conftest import PASSWORD, make_runtime
from tests.unit.console.desk import Desk, seed_desk

pytestmark = pytest.mark.browser

DESKTOP = {"width": 1366, "height": 900}


@pytest.fixture
def served(tmp_path: Path) -> Iterator[tuple[str, Runtime, Desk]]:
    runtime = make_runtime(tmp_path, "http://127.0.0.1:5000")
    desk = seed_desk(runtime)
    server = make_server("127.0.0.1", 0, create_app(runtime), threaded=True)
    thread = threading.Thread(target=server.serve_forever, name="console-http", daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.port}", runtime, desk
    server.shutdown()
    server.server_close()
    thread.join(timeout=10)
    runtime.close()


@pytest.fixture
def desk_page(browser: Any) -> Iterator[Any]:
    page = watched_page(browser, DESKTOP)
    yield page
    page.context.close()
    assert not page.problems, page.problems


def test_an_agent_takes_a_case_answers_and_resolves_it(
    desk_page: Any, served: tuple[str, Runtime, Desk]
) -> None:
    base, runtime, desk = served
    page = desk_page
    page.goto(f"{base}/console/queue")
    page.get_by_label("Tên đăng nhập").fill("lan.agent")
    page.get_by_label("Mật khẩu").fill(PASSWORD)
    page.get_by_role("button", name="Đăng nhập").click()
    page.wait_for_url(f"{base}/console/queue")
    assert page.locator("tbody tr").count() == 4
    assert page.locator("tr.row-overdue").count() == 3
    page.wait_for_function(  # the countdown script ran (it rewrites the server's text)
        "document.querySelectorAll('time.clock[data-due]').length > 0"
    )
    assert "090*****56" in page.content()
    page.screenshot(path=str(screenshot_path("console-case-1-queue")), full_page=True)

    page.get_by_role("link", name=desk.env_code).click()
    page.wait_for_url(f"{base}/console/cases/{desk.env_code}")
    page.get_by_role("button", name="Xác nhận").click()
    assert page.locator(".flashes").get_by_text("Đã xác nhận phản ánh.").is_visible()
    page.get_by_label("Giao cho").select_option("me")
    page.get_by_role("button", name="Giao việc").click()
    assert page.locator(".flashes").get_by_text("Đã giao cho Nguyễn Thị Lan.").is_visible()

    reply = "Chào anh, đội thu gom rác sẽ đến kiệt 12 trong chiều nay."
    page.get_by_label("Trả lời người dân").fill(reply)
    page.get_by_role("button", name="Gửi trả lời").click()
    assert page.locator(".flashes").get_by_text("Đã gửi trả lời đến người dân.").is_visible()
    assert page.locator(".timeline").get_by_text(reply).is_visible()
    page.screenshot(path=str(screenshot_path("console-case-2-replied")), full_page=True)

    page.get_by_label("Trạng thái mới").select_option("resolved")
    page.get_by_role("button", name="Cập nhật trạng thái").click()
    assert (
        page.locator(".flashes").get_by_text("Vui lòng ghi kết quả xử lý").is_visible()
    )  # refused, in Vietnamese
    page.get_by_label("Trạng thái mới").select_option("resolved")
    page.get_by_label("Kết quả xử lý (khi đã xử lý xong)").fill("Đã thu gom toàn bộ rác.")
    page.get_by_role("button", name="Cập nhật trạng thái").click()
    assert page.locator(".flashes").get_by_text("Đã chuyển sang “Đã xử lý xong”.").is_visible()
    assert "Đã xử lý xong" in page.locator("h1").inner_text()
    page.screenshot(path=str(screenshot_path("console-case-3-resolved")), full_page=True)

    with unit_of_work(runtime.sessions) as session:
        case = session.scalar(select(Case).where(Case.code == desk.env_code))
        assert case is not None and case.status == "resolved"
        assert case.resolution == "Đã thu gom toàn bộ rác."
        sent = session.scalars(select(OutboxMessage.body).where(OutboxMessage.body == reply))
        assert list(sent) == [reply]


def test_a_handed_off_conversation_appears_live_and_an_agent_takes_it(
    desk_page: Any, served: tuple[str, Runtime, Desk]
) -> None:
    from intake.clock import utcnow
    from intake.services import conversations as conversation_service

    base, runtime, _desk = served
    page = desk_page
    page.goto(f"{base}/login?next=/console/conversations")
    page.get_by_label("Tên đăng nhập").fill("lan.agent")
    page.get_by_label("Mật khẩu").fill(PASSWORD)
    page.get_by_role("button", name="Đăng nhập").click()
    page.wait_for_url(f"{base}/console/conversations")
    assert page.locator("#waiting li").count() == 1  # the web chat of the seed
    # The bot hands a Zalo conversation off while the page is open: it appears by polling.
    with unit_of_work(runtime.sessions) as session:
        conversation = conversation_service.open_conversation(
            session, Channel.ZALO, "8801234567890123456", utcnow()
        )
        conversation_service.record_inbound(session, conversation, "Cho gặp người thật", utcnow())
        conversation_service.hand_off(session, conversation, utcnow(), "request_agent")
        new_id = conversation.id
    item = page.locator(f'#waiting li[data-id="{new_id}"]')
    item.wait_for(timeout=10_000)
    assert "Cho gặp người thật" in item.inner_text()
    page.screenshot(path=str(screenshot_path("console-takeover-1-waiting")), full_page=True)

    item.get_by_role("button", name="Nhận").click()
    page.wait_for_url(f"{base}/console/conversations/{new_id}")
    page.get_by_label("Trả lời").fill("Chào anh, em là Lan ở tổng đài.")
    page.get_by_role("button", name="Gửi", exact=True).click()
    page.locator("#messages li.from-agent").wait_for()
    # The resident writes again: the open conversation shows it without a reload.
    with unit_of_work(runtime.sessions) as session:
        stored = session.get(Conversation, new_id)
        assert stored is not None
        conversation_service.record_inbound(session, stored, "Dạ cảm ơn em", utcnow())
    page.locator("#messages li.from-citizen", has_text="Dạ cảm ơn em").wait_for(timeout=10_000)
    page.screenshot(path=str(screenshot_path("console-takeover-2-chat")), full_page=True)

    page.get_by_role("button", name="Trả lại cho trợ lý tự động").click()
    page.wait_for_url(f"{base}/console/conversations")
    with unit_of_work(runtime.sessions) as session:
        stored = session.get(Conversation, new_id)
        assert stored is not None and stored.state == ConversationState.BOT
        sent = session.scalars(
            select(OutboxMessage.recipient).where(OutboxMessage.conversation_id == new_id)
        )
        assert list(sent) == ["8801234567890123456"]
