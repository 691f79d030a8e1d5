"""English is complete: every role's pages, rendered in English, carry no Vietnamese of their
own. What may stay Vietnamese is data (names of people, places, agencies and categories, what
residents wrote, the bot's training sentences), the proper noun Huế and the language switch
(marked lang="vi"); every other text node or label with a Vietnamese letter is an untranslated
string. The case timeline shows statuses by English name and cases show their priority by name."""

from __future__ import annotations

import re
import shutil
from datetime import date
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

import pytest
from flask import Flask, session
from flask_babel import refresh
from sqlalchemy import String, Text, select

from agents_console.web import labels
from agents_console.web.labels import CORE_SENTENCES, PRIORITY_LABELS, STATUS_LABELS, core_text
from bot.nlu.data import BOT_DIR, DATA_DIR
from bot.nlu.editing import TrainingFiles
from intake import messages_vi as msg
from intake.db import unit_of_work
from intake.models import (
    Agency,
    Base,
    CaseEvent,
    CaseStatus,
    Category,
    Channel,
    Priority,
    Ward,
)
from intake.runtime import Runtime
from intake.seed import seed_demo
from intake.services.cases import CITIZEN
from intake.services.registrations import RegistrationInput, register
from intake.validation import mask_pii
from tests.conftest import NOW
from tests.unit.console.conftest import csrf_token, login
from tests.unit.console.desk import Desk, seed_desk

VIETNAMESE = re.compile(r"[À-ỹĐđ]")
# Words the console's own pages use: none may be left on an English page.
COMMON_WORDS = [
    "Hàng đợi", "Trạng thái", "Lĩnh vực", "Đơn vị", "Phường/xã", "Người dùng", "Quản trị",
    "Đăng xuất", "Lưu", "Xóa", "Thêm", "Sửa", "Quay lại", "Huấn luyện", "Câu mẫu", "Phiên bản",
    "Ý định", "Nhãn", "Khẩn cấp", "Bình thường", "Cao", "Thấp", "Mới tiếp nhận", "Đang xử lý",
    "Đã tiếp nhận", "Đã xử lý xong", "Diễn biến", "Công khai", "Nội bộ", "Hệ thống", "Người dân",
    "Thống kê", "Đăng ký", "Hội thoại", "Giờ làm việc", "Tổng đài", "Vui lòng", "phản ánh",
]  # fmt: skip
PROPER_NOUNS = ["Huế"]
ATTRIBUTES = ("title", "alt", "aria-label", "placeholder", "data-take-label", "data-open-label")
SKIPPED = {"script", "style"}


class _Chrome(HTMLParser):
    """The page's text nodes and labelling attributes, outside elements in another language."""

    def __init__(self) -> None:
        super().__init__()
        self.texts: list[str] = []
        self._stack: list[tuple[str, bool]] = []

    def _hidden(self) -> bool:
        return any(hidden for _tag, hidden in self._stack)

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        values = dict(attrs)
        lang = values.get("lang")
        hidden = tag in SKIPPED or (lang is not None and not lang.startswith("en"))
        if tag not in {"meta", "link", "input", "br", "img", "hr", "source"}:
            self._stack.append((tag, hidden))
        if not (hidden or self._hidden()):
            self.texts += [v for k, v in attrs if k in ATTRIBUTES and v]
            if (
                tag == "input"
                and values.get("type") in {"submit", "button"}
                and values.get("value")
            ):
                self.texts.append(str(values["value"]))

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag not in {"meta", "link", "input", "br", "img", "hr", "source"}:
            self.handle_starttag(tag, attrs)
            self.handle_endtag(tag)
        else:
            self.handle_starttag(tag, attrs)

    def handle_endtag(self, tag: str) -> None:
        for index in range(len(self._stack) - 1, -1, -1):
            if self._stack[index][0] == tag:
                del self._stack[index:]
                return

    def handle_data(self, data: str) -> None:
        if data.strip() and not self._hidden():
            self.texts.append(data.strip())


def _data_strings(runtime: Runtime, data_dir: Path) -> list[str]:
    """Every string the database holds (but the core's timeline sentences, which the console
    must translate), masked as well as in full, and the bot's training sentences."""
    found: set[str] = set()
    with unit_of_work(runtime.sessions) as session:
        for table in Base.metadata.sorted_tables:
            columns = [
                c
                for c in table.columns
                if isinstance(c.type, String | Text) and c is not CaseEvent.__table__.c.public_text
            ]
            for row in session.execute(select(*columns)) if columns else []:
                found.update(v for v in row if isinstance(v, str))
        for event in session.scalars(select(CaseEvent)):
            found.update(v for v in (event.data or {}).values() if isinstance(v, str))
    for example in TrainingFiles(data_dir, data_dir.parent / "domain.yml").examples():
        found.update({example.raw, example.text})
    found.update({mask_pii(s) for s in found})
    found.update(PROPER_NOUNS)
    return sorted((s for s in found if VIETNAMESE.search(s)), key=len, reverse=True)


def untranslated(html: str, data: list[str]) -> list[str]:
    """The page's own texts that still hold Vietnamese once the data in them is taken out."""
    parser = _Chrome()
    parser.feed(html)
    left = []
    for text in parser.texts:
        rest = text
        for value in data:
            if value in rest:
                rest = rest.replace(value, " ")
        if VIETNAMESE.search(rest) or any(word in rest for word in COMMON_WORDS):
            left.append(text)
    return left


# --- the data and the clients --------------------------------------------------------------


@pytest.fixture
def data_dir(tmp_path: Path) -> Path:
    bot = tmp_path / "bot"
    shutil.copytree(DATA_DIR, bot / "data")
    shutil.copy(BOT_DIR / "domain.yml", bot / "domain.yml")
    return bot / "data"


@pytest.fixture
def world(runtime: Runtime, app: Flask, data_dir: Path) -> dict[str, Any]:
    app.config["HOTLINE_NLU_DATA_DIR"] = str(data_dir)
    desk = seed_desk(runtime)
    with unit_of_work(runtime.sessions) as session:
        seed_demo(session, NOW)
        registration = register(
            session,
            RegistrationInput(
                programme_code="covid-2021",
                full_name="Nguyễn Văn An",
                cccd="046085001234",
                date_of_birth=date(1985, 3, 1),
                phone="0905123456",
                address="12 kiệt 4 đường Nguyễn Huệ, Phú Hội",
                channel=Channel.WEB,
                ward="Phú Hội",
                reason="Mất việc do dịch",
                members=[],
            ),
            now=NOW,
            actor=CITIZEN,
            notify=False,
        ).registration
        ids = {
            "registration": registration.id,
            "category": session.scalars(select(Category.id)).first(),
            # the city's operations centre: the default agency of the category "other"
            "agency": session.scalar(select(Agency.id).where(Agency.code == "ioc")),
            "ward": session.scalars(select(Ward.id)).first(),
        }
    return {"desk": desk, "ids": ids, "data_dir": data_dir}


def english(app: Flask, username: str) -> Any:
    client = app.test_client()
    login(client, username)
    token = csrf_token(client, "/console/test/page")
    response = client.post("/language", data={"lang": "en", "next": "/", "csrf_token": token})
    assert response.status_code == 302
    return client


def act(client: Any, path: str, data: dict[str, str] | None = None) -> str:
    """Post a case action like the browser and return the page it leads to (with its flash)."""
    token = csrf_token(client, "/console/queue")
    response = client.post(path, data={"csrf_token": token, **(data or {})}, follow_redirects=True)
    assert response.status_code == 200
    return str(response.get_data(as_text=True))


def check(client: Any, path: str, data: list[str], status: int = 200) -> str:
    response = client.get(path)
    assert response.status_code == status, path
    html = str(response.get_data(as_text=True))
    assert '<html lang="en">' in html, path
    assert untranslated(html, data) == [], f"Vietnamese left on {path}"
    return html


# --- the pages of each role ----------------------------------------------------------------


def test_the_agents_pages_and_the_case_timeline_are_english(
    app: Flask, runtime: Runtime, world: dict[str, Any]
) -> None:
    desk: Desk = world["desk"]
    client = english(app, "lan.agent")
    case = f"/console/cases/{desk.env_code}"
    flashes = [
        act(client, f"{case}/acknowledge"),
        act(client, f"{case}/status", {"status": "in_progress"}),
        act(client, f"{case}/note", {"text": "Đã gọi lại cho người dân"}),
        act(client, f"{case}/extend", {"due": "2020-01-01T08:00", "reason": "Chờ vật tư"}),
        act(client, f"{case}/reopen", {"reason": ""}),
    ]
    assert "Case acknowledged." in flashes[0] and "“In progress”" in flashes[1]
    assert "The new deadline must be after the current one" in flashes[3]  # a core refusal
    data = _data_strings(runtime, world["data_dir"])
    for html in flashes:
        assert untranslated(html, data) == []

    html = check(client, case, data)
    # The timeline: status changes by English name, the core's lines translated.
    assert (
        '<span class="status-from">New</span> → <span class="status-to">Acknowledged</span>' in html
    )
    assert (
        '<span class="status-from">Acknowledged</span> → <span class="status-to">In progress</span>'
        in html
    )
    assert "The system received the complaint." in html and "Routed to " in html
    assert "The agency is working on it." in html and "Resident" in html
    assert '<dd class="priority priority-3">Normal</dd>' in html

    queue = check(client, "/console/queue", data)
    assert '<td class="priority priority-2">High</td>' in queue
    assert '<strong class="badge badge-emergency">Emergency</strong>' in queue
    assert '<td class="priority priority-3">Normal</td>' in queue
    assert ">In progress</td>" in queue and ">New</td>" in queue
    assert '<option value="in_progress">In progress</option>' in queue
    check(client, "/console/queue?status=all", data)
    fresh = check(client, f"/console/cases/{desk.fresh_code}", data)
    assert '<dd class="priority priority-1">Emergency</dd>' in fresh
    traffic = check(client, f"/console/cases/{desk.traffic_code}", data)
    assert '<dd class="priority priority-2">High</dd>' in traffic
    check(client, "/console/conversations", data)
    check(client, f"/console/conversations/{desk.conversation_id}", data)
    check(client, "/console/registrations", data)
    check(client, f"/console/registrations/{world['ids']['registration']}", data)


def test_an_agency_officers_pages_are_english(
    app: Flask, runtime: Runtime, world: dict[str, Any]
) -> None:
    desk: Desk = world["desk"]
    client = english(app, "an.hepco")
    data = _data_strings(runtime, world["data_dir"])
    check(client, "/console/queue", data)
    check(client, f"/console/cases/{desk.env_code}", data)
    check(client, "/console/admin/", data, status=403)  # the error page too


def test_the_supervisors_pages_are_english(
    app: Flask, runtime: Runtime, world: dict[str, Any]
) -> None:
    client = english(app, "hoa.supervisor")
    data = _data_strings(runtime, world["data_dir"])
    for path in [
        "/console/queue",
        f"/console/cases/{world['desk'].traffic_code}",
        "/console/dashboards",
        "/console/dashboards?start=2030-01-01&end=2020-01-01",
        "/console/registrations",
        "/console/training/",
        "/console/training/examples?q=rác",
        "/console/training/review",
        "/console/training/versions",
    ]:
        check(client, path, data)


def test_the_admin_and_training_pages_are_english(
    app: Flask, runtime: Runtime, world: dict[str, Any]
) -> None:
    ids = world["ids"]
    client = english(app, "minh.admin")
    data = _data_strings(runtime, world["data_dir"])
    example = TrainingFiles(world["data_dir"], world["data_dir"].parent / "domain.yml")
    first = example.examples()[0]
    pages = [
        "/console/admin/",
        "/console/admin/categories",
        "/console/admin/categories/new",
        f"/console/admin/categories/{ids['category']}",
        "/console/admin/agencies",
        "/console/admin/agencies/new",
        f"/console/admin/agencies/{ids['agency']}",
        "/console/admin/wards",
        "/console/admin/wards/new",
        f"/console/admin/wards/{ids['ward']}",
        "/console/admin/hours",
        "/console/admin/users",
        "/console/admin/users/new",
        "/console/admin/users/1",
        "/console/training/",
        "/console/training/examples?q=rác",
        f"/console/training/examples/{first.id}",
        "/console/training/review",
        "/console/training/versions",
        "/console/dashboards",
        "/console/registrations",
    ]
    for path in pages:
        check(client, path, data)
    # Validation messages and the core's refusals, in English too.
    token = csrf_token(client, "/console/admin/categories/new")
    response = client.post(
        "/console/admin/categories/new",
        data={"csrf_token": token, "code": "Sai Mã", "name": "", "ack_hours": "x"},
    )
    html = str(response.get_data(as_text=True))
    assert response.status_code == 400 and "Please correct the fields marked below." in html
    assert untranslated(html, data) == []
    token = csrf_token(client, "/console/admin/agencies")
    response = client.post(
        f"/console/admin/agencies/{ids['agency']}/delete",
        data={"csrf_token": token},
        follow_redirects=True,
    )
    html = str(response.get_data(as_text=True))
    assert "cannot be deleted because it is in use (" in html and "categories: 1" in html
    assert untranslated(html, data) == []


def test_the_check_finds_a_string_left_in_vietnamese(runtime: Runtime, data_dir: Path) -> None:
    data = _data_strings(runtime, data_dir)
    page = '<html lang="en"><body><h1>Case queue</h1><p>Nguyễn Thị Lan</p>{}</body></html>'
    assert untranslated(page.format(""), data) == []
    assert untranslated(page.format("<th>Ưu tiên</th>"), data) == ["Ưu tiên"]
    assert untranslated(page.format('<a title="Đăng xuất">x</a>'), data) == ["Đăng xuất"]
    switch = '<button lang="vi">Tiếng Việt</button>'
    assert untranslated(page.format(switch), data) == []


# --- the core's values by name --------------------------------------------------------------


def test_every_core_sentence_has_its_msgid_and_english(app: Flask) -> None:
    """The msgids are the core's sentences ({name} written %(name)s): Vietnamese pages show the
    core's words exactly, English pages a translation."""
    for template, msgid in CORE_SENTENCES:
        assert re.sub(r"%\((\w+)\)s", r"{\1}", msgid) == template
    with app.test_request_context():
        for status in CaseStatus:
            assert labels.status_label(status) == msg.STATUS_NAMES[status]
        assert [str(PRIORITY_LABELS[p]) for p in Priority] == [
            "Khẩn cấp",
            "Cao",
            "Bình thường",
            "Thấp",
        ]
        routed = msg.EVENT_ROUTED.format(agency="Sở Y tế")
        assert core_text(routed) == routed
        session["lang"] = "en"
        refresh()
        assert [labels.priority_label(int(p)) for p in Priority] == [
            "Emergency",
            "High",
            "Normal",
            "Low",
        ]
        assert [str(STATUS_LABELS[s]) for s in CaseStatus] == [
            "New",
            "Acknowledged",
            "In progress",
            "Resolved",
            "Closed",
            "Out of scope",
            "Duplicate of another case",
            "Reopened",
        ]
        assert core_text(routed) == "Routed to Sở Y tế."
        refused = msg.ERR_TRANSITION.format(
            code="HUE-1",
            src=msg.STATUS_NAMES[CaseStatus.CLOSED],
            dst=msg.STATUS_NAMES[CaseStatus.NEW],
        )
        assert core_text(refused) == "Case HUE-1 cannot move from “Closed” to “New”."
        assert core_text("Rác chưa được thu gom") == "Rác chưa được thu gom"  # not the core's
        for template, msgid in CORE_SENTENCES:
            values = {name: "x" for name in re.findall(r"\{(\w+)\}", template)}
            english_text = core_text(template.format(**values))
            assert not VIETNAMESE.search(english_text), english_text
