"""A resident follows their case on a phone: /track/<code> in a real Chromium."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from intake.db import unit_of_work
from intake.models import CaseEvent, Channel
from intake.runtime import Runtime
from intake.services.cases import CITIZEN, Actor, NewCase, acknowledge, open_case, start_work
from tests.browser.conftest import PHONE, screenshot_path

pytestmark = pytest.mark.browser

AGENT = Actor("agent.lan")
DESCRIPTION = (
    "Tôi là Lê Văn Tám, số 0905 123 456, CCCD 046085001234. Cống trước nhà số 8 kiệt 14 "
    "Trần Phú bị tắc, nước tràn ra đường."
)


def _open_case(runtime: Runtime) -> str:
    at = datetime.now(UTC) - timedelta(hours=2)
    with unit_of_work(runtime.sessions) as session:
        case = open_case(
            session,
            NewCase(
                channel=Channel.VOICE,
                description=DESCRIPTION,
                category_code="roads_infrastructure",
                ward_code="phuoc-vinh",
                location_text="số 8 kiệt 14 Trần Phú",
            ),
            now=at,
            actor=CITIZEN,
            settings=runtime.case_settings,
        )
        case.events.append(
            CaseEvent(
                at=at,
                actor=AGENT.name,
                action="note",
                data={"text": "Anh Tám gọi lại 0905123456"},
                public=False,
            )
        )
        acknowledge(session, case, now=at + timedelta(minutes=20), actor=AGENT)
        start_work(session, case, now=at + timedelta(minutes=50), actor=AGENT)
        return case.code


def test_resident_follows_a_case_on_a_phone(page: Any, base_url: str, runtime: Runtime) -> None:
    code = _open_case(runtime)
    digits = "".join(ch for ch in code if ch.isdigit())

    page.goto(f"{base_url}/track")
    page.get_by_label("Mã phản ánh").fill(digits)  # what a caller heard read out
    page.get_by_role("button", name="Tra cứu").click()
    page.wait_for_url(f"**/track/{digits}")

    assert page.get_by_role("heading", level=1).inner_text() == code
    assert page.locator("#case-status").inner_text() == "Đang xử lý"
    assert "Trong thời hạn xử lý" in page.locator("#case-sla").inner_text()
    timeline = page.locator("#case-timeline li").all_inner_texts()
    assert len(timeline) == 4  # received, routed, acknowledged, in progress; newest first
    assert "Đơn vị đang xử lý." in timeline[0]
    assert "Phước Vĩnh" in page.locator(".facts").inner_text()

    # Fits the phone: nothing wider than the screen.
    width = page.evaluate("document.documentElement.scrollWidth")
    assert width <= PHONE["width"]
    text = page.locator("body").inner_text()
    for secret in ("Lê Văn Tám", "0905", "046085001234", "kiệt 14", "agent.lan", "Anh Tám"):
        assert secret not in text
    page.screenshot(path=str(screenshot_path("track-case-phone")), full_page=True)

    page.get_by_label("Mã phản ánh").fill("HUE-991231-0001")
    page.get_by_role("button", name="Tra cứu").click()
    page.wait_for_url("**/track/HUE-991231-0001")
    assert "Không tìm thấy phản ánh" in page.get_by_role("heading", level=1).inner_text()
    page.screenshot(path=str(screenshot_path("track-not-found-phone")), full_page=True)
