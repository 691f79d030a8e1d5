"""The resident's web chat page in a real Chromium at a phone's size: what a resident sees."""

from __future__ import annotations

import json
import re
from typing import Any

import pytest
from sqlalchemy import func, select

from intake.models import Case, Channel, InboundDelivery
from intake.runtime import Runtime
from tests.browser.conftest import PHONE, screenshot_path

pytestmark = pytest.mark.browser

CASE_CODE = re.compile(r"HUE-\d{6}-\d{4}")
COMPLAINT = "Rác thải đổ trộm đầy đầu kiệt 15 Nguyễn Trãi mấy hôm nay bốc mùi"
LOCATION = "kiệt 15 Nguyễn Trãi, phường Tây Lộc"

# The resident's last message is in the conversation (no longer "đang gửi…"), the bot is not
# typing, and the conversation ends with an answer.
ANSWERED = """() => {
  const log = document.getElementById("chat-log");
  if (log.querySelector(".msg--local")) return false;
  if (!document.getElementById("chat-typing").hidden) return false;
  const last = log.lastElementChild;
  return last !== null && !last.classList.contains("msg--citizen");
}"""

TRANSCRIPT = """() => Array.from(document.querySelectorAll("#chat-log .msg")).map((node) => ({
  kind: node.classList.contains("msg--citizen") ? "citizen" : "other",
  text: node.querySelector(".msg-text").innerText,
  meta: node.querySelector(".msg-meta").innerText,
}))"""


def open_chat(page: Any, base_url: str) -> None:
    page.goto(f"{base_url}/chat")
    page.locator("#chat-app[data-ready='true']").wait_for(state="attached")


def message_box(page: Any) -> Any:
    return page.get_by_label("Nội dung tin nhắn")


def send(page: Any, text: str) -> None:
    message_box(page).fill(text)
    page.get_by_role("button", name="Gửi").click()


def transcript(page: Any) -> list[dict[str, str]]:
    result: list[dict[str, str]] = page.evaluate(TRANSCRIPT)
    return result


def answer_to_last_message(page: Any) -> list[str]:
    """Wait for the bot's answer to the resident's last message; its bubbles' texts."""
    page.wait_for_function(ANSWERED, timeout=60_000)
    lines = transcript(page)
    last_citizen = max(i for i, line in enumerate(lines) if line["kind"] == "citizen")
    return [line["text"] for line in lines[last_citizen + 1 :]]


def reply_to(question: str) -> str:
    """What a resident answers to each of the bot's questions about a complaint."""
    if "đúng chưa" in question or "“đúng”" in question:
        return "đúng"
    if "ảnh" in question:
        return "không"
    if "ở đâu" in question or "địa điểm" in question or "địa chỉ" in question:
        return LOCATION
    if "mô tả" in question:
        return COMPLAINT
    raise AssertionError(
        f"the bot asked something a resident reporting rubbish can't answer: {question!r}"
    )


def no_horizontal_scroll(page: Any) -> dict[str, int]:
    sizes: dict[str, int] = page.evaluate(
        """() => ({
          viewport: window.innerWidth,
          page: document.documentElement.scrollWidth,
          conversation: document.getElementById("chat-scroller").scrollWidth,
          conversationBox: document.getElementById("chat-scroller").clientWidth,
        })"""
    )
    assert sizes["page"] <= sizes["viewport"], sizes
    assert sizes["conversation"] <= sizes["conversationBox"], sizes
    return sizes


def test_a_resident_reports_a_complaint_on_a_phone_and_gets_a_case_code(
    page: Any, base_url: str, runtime: Runtime
) -> None:
    open_chat(page, base_url)
    assert page.title() == "Tổng đài phản ánh TP Huế — Trò chuyện"
    assert page.evaluate("window.innerWidth") == PHONE["width"]
    intro = page.locator(".intro")
    for promise in ("Phản ánh sự việc", "Đăng ký gói hỗ trợ", "Tra cứu phản ánh", "113", "115"):
        assert promise in intro.inner_text()
    assert page.get_by_role("link", name="113").get_attribute("href") == "tel:113"
    log = page.get_by_role("log")
    assert log.get_attribute("aria-live") == "polite"
    send_button = page.get_by_role("button", name="Gửi")
    for target in (send_button, message_box(page)):
        box = target.bounding_box()
        assert box is not None and box["height"] >= 44, box  # a thumb can hit it
    page.screenshot(path=str(screenshot_path("01-phone-start")))

    send(page, COMPLAINT)
    code = None
    for _turn in range(8):
        answers = answer_to_last_message(page)
        assert answers, "the bot did not answer"
        found = CASE_CODE.search(answers[-1])
        if found:
            code = found.group(0)
            break
        send(page, reply_to(answers[-1]))
    assert code is not None, transcript(page)
    page.screenshot(path=str(screenshot_path("02-phone-case-code")))

    # The resident's messages are shown once each, on their side, in the order they were sent.
    lines = transcript(page)
    sent = [line["text"] for line in lines if line["kind"] == "citizen"]
    assert sent[0] == COMPLAINT
    assert sent.count(COMPLAINT) == 1
    assert sent[-1] == "đúng"
    assert not page.get_by_text("đang gửi…").count()
    citizen_box = page.locator(".msg--citizen").first.bounding_box()
    bot_box = page.locator(".msg--bot").first.bounding_box()
    assert citizen_box is not None and bot_box is not None
    assert citizen_box["x"] > bot_box["x"]  # residents on the right, the hotline on the left

    # The tracking address in the answer is a link the resident can tap.
    last_answer = page.locator("#chat-log .msg").last
    link = last_answer.get_by_role("link", name=re.compile(re.escape(code)))
    assert link.get_attribute("href") == f"https://hotline.example.vn/track/{code}"
    assert link.get_attribute("rel") == "noopener noreferrer"
    # The newest answer is on screen without scrolling.
    assert last_answer.is_visible()
    assert page.evaluate(
        """() => {
          const box = document.getElementById("chat-scroller");
          return box.scrollHeight - box.scrollTop - box.clientHeight < 5;
        }"""
    )
    no_horizontal_scroll(page)

    with runtime.sessions() as session:
        case = session.scalar(select(Case).where(Case.code == code))
        assert case is not None
        assert case.channel == Channel.WEB
        assert "Nguyễn Trãi" in case.description


def test_reloading_the_page_keeps_the_conversation(
    context: Any, page: Any, base_url: str, runtime: Runtime
) -> None:
    open_chat(page, base_url)
    send(page, "xin chào")
    answers = answer_to_last_message(page)
    assert answers
    session_token = page.evaluate("localStorage.getItem('hotline.chat.session')")
    assert re.fullmatch(r"[A-Za-z0-9_-]{16,64}", session_token)
    before = transcript(page)

    page.reload()
    page.locator("#chat-app[data-ready='true']").wait_for(state="attached")
    page.wait_for_function(f"document.querySelectorAll('#chat-log .msg').length >= {len(before)}")
    after = transcript(page)
    assert [(line["kind"], line["text"]) for line in after] == [
        (line["kind"], line["text"]) for line in before
    ]
    assert page.evaluate("localStorage.getItem('hotline.chat.session')") == session_token
    assert page.locator("#chat-log .msg").last.is_visible()  # scrolled to the newest
    page.screenshot(path=str(screenshot_path("03-phone-after-reload")))

    # Someone else's browser (no stored session) starts an empty conversation.
    stranger = context.browser.new_context(viewport=PHONE, is_mobile=True, has_touch=True)
    other = stranger.new_page()
    with other.expect_response(lambda response: "/chat/api/messages?" in response.url):
        open_chat(other, base_url)
    other.wait_for_timeout(300)
    assert other.locator("#chat-log .msg").count() == 0
    assert other.evaluate("localStorage.getItem('hotline.chat.session')") != session_token
    stranger.close()


def test_a_message_over_4000_characters_shows_an_error_and_stays_in_the_box(
    page: Any, base_url: str, runtime: Runtime
) -> None:
    open_chat(page, base_url)
    long_text = ("Rác thải đổ trộm ở kiệt 15 Nguyễn Trãi. " * 110).strip()
    assert len(long_text) > 4000
    send(page, long_text)

    error = page.get_by_role("alert")
    error.wait_for(state="visible")
    assert "4000 ký tự" in error.inner_text()
    assert "vượt quá" in error.inner_text()
    assert message_box(page).input_value() == long_text
    assert message_box(page).get_attribute("aria-invalid") == "true"
    assert page.locator("#chat-log .msg").count() == 0
    page.screenshot(path=str(screenshot_path("04-phone-too-long")))
    with runtime.sessions() as session:
        assert session.scalar(select(func.count()).select_from(InboundDelivery)) == 0

    # Shortening it clears the error.
    message_box(page).fill(long_text[:3900])
    assert not error.is_visible()
    assert message_box(page).get_attribute("aria-invalid") is None


def test_a_message_the_server_refuses_comes_back_into_the_box(
    page: Any, base_url: str, runtime: Runtime
) -> None:
    """The server's own 400 (here: its 4000-character limit, reached by a message that grew on
    the way) gives the resident an error in Vietnamese and their text back, not a lost message."""

    def lengthen(route: Any) -> None:
        body = json.loads(route.request.post_data)
        body["text"] = body["text"] + " nữa" * 1400
        route.continue_(post_data=json.dumps(body))

    open_chat(page, base_url)
    page.route("**/chat/api/messages", lambda route: _post_only(route, lengthen))
    send(page, "Đèn đường hỏng ở đường Lê Lợi")
    error = page.get_by_role("alert")
    error.wait_for(state="visible")
    assert "quá dài" in error.inner_text()
    assert message_box(page).input_value() == "Đèn đường hỏng ở đường Lê Lợi"
    page.wait_for_timeout(300)
    assert page.locator("#chat-log .msg").count() == 0
    with runtime.sessions() as session:
        assert session.scalar(select(func.count()).select_from(InboundDelivery)) == 0


def _post_only(route: Any, handler: Any) -> None:
    if route.request.method == "POST":
        handler(route)
    else:
        route.continue_()


def test_a_message_sent_while_the_network_fails_is_retried_with_the_same_id(
    page: Any, base_url: str, runtime: Runtime
) -> None:
    attempts: list[str] = []

    def flaky(route: Any) -> None:
        attempts.append(json.loads(route.request.post_data)["id"])
        if len(attempts) == 1:
            route.abort("internetdisconnected")
        elif len(attempts) == 2:
            route.fulfill(
                status=503,
                headers={"Retry-After": "1", "Content-Type": "application/json"},
                body='{"error": "temporarily unavailable, try again"}',
            )
        else:
            route.continue_()

    open_chat(page, base_url)
    page.route("**/chat/api/messages", lambda route: _post_only(route, flaky))
    send(page, "xin chào")
    page.get_by_text("đang gửi…").wait_for(state="visible")
    assert message_box(page).input_value() == ""
    page.get_by_text("đang thử gửi lại").wait_for(state="visible")
    page.screenshot(path=str(screenshot_path("05-phone-retrying")))

    answers = answer_to_last_message(page)
    assert answers
    assert len(attempts) == 3
    assert len(set(attempts)) == 1  # one message, one id, however many tries
    sent = [line["text"] for line in transcript(page) if line["kind"] == "citizen"]
    assert sent == ["xin chào"]
    assert not page.get_by_text("đang thử gửi lại").is_visible()
    with runtime.sessions() as session:
        assert session.scalar(select(func.count()).select_from(InboundDelivery)) == 1


def test_the_page_fits_a_phone_and_shows_text_as_text(page: Any, base_url: str) -> None:
    open_chat(page, base_url)
    hostile = '<img src=x onerror="window.__injected = 1"> ' + "A" * 300
    send(page, hostile)
    answer_to_last_message(page)
    assert page.evaluate("window.__injected") is None
    assert page.locator(".msg--citizen .msg-text").first.inner_text() == hostile
    assert page.locator("#chat-log img").count() == 0
    no_horizontal_scroll(page)
    page.screenshot(path=str(screenshot_path("06-phone-long-word")))

    page.set_viewport_size({"width": 1280, "height": 800})
    page.wait_for_timeout(200)
    no_horizontal_scroll(page)
    page.screenshot(path=str(screenshot_path("07-desktop")))
