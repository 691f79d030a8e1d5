"""The case page and its actions, for each role: scoping, masking, CSRF, the timeline."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from sqlalchemy import select

from intake.db import unit_of_work
from intake.models import Case, Message, OutboxMessage
from intake.runtime import Runtime
from tests.unit.console.conftest import login
from tests.unit.console.desk import WEB_SESSION, Desk, case_by_code, post, seed_desk


@pytest.fixture
def desk(runtime: Runtime) -> Desk:
    return seed_desk(runtime)


def signed_in(app: Flask, username: str = "lan.agent") -> Any:
    client = app.test_client()
    assert login(client, username).status_code == 302
    return client


def page(client: Any, code: str) -> str:
    response = client.get(f"/console/cases/{code}")
    assert response.status_code == 200
    return str(response.get_data(as_text=True))


def flashes(client: Any, code: str) -> str:
    return page(client, code)


# --- who may see what ------------------------------------------------------------------------


def test_anonymous_visitors_go_to_login_and_posts_need_a_session(app: Flask, desk: Desk) -> None:
    client = app.test_client()
    response = client.get(f"/console/cases/{desk.env_code}")
    assert response.status_code == 302 and "/login?next=" in response.headers["Location"]
    response = client.post(f"/console/cases/{desk.env_code}/note", data={"text": "x"})
    assert response.status_code == 400  # no CSRF token: refused before anything else


@pytest.mark.parametrize("username", ["lan.agent", "hoa.supervisor", "minh.admin"])
def test_desk_roles_open_any_case(app: Flask, desk: Desk, username: str) -> None:
    client = signed_in(app, username)
    for code in (desk.env_code, desk.traffic_code, desk.web_code):
        assert code in page(client, code)


def test_the_code_digits_lead_to_the_case_and_unknown_codes_are_404(app: Flask, desk: Desk) -> None:
    client = signed_in(app)
    digits = "".join(ch for ch in desk.env_code if ch.isdigit())
    response = client.get(f"/console/cases/{digits}")
    assert response.status_code == 302
    assert response.headers["Location"].endswith(f"/console/cases/{desk.env_code}")
    assert client.get("/console/cases/HUE-991231-9999").status_code == 404


def test_an_agency_officer_is_kept_to_their_agencys_cases(
    app: Flask, runtime: Runtime, desk: Desk
) -> None:
    client = signed_in(app, "an.hepco")
    html = page(client, desk.env_code)
    assert 'action="/console/cases/' + desk.env_code + '/assign"' not in html  # desk-only
    for code in (desk.traffic_code, desk.web_code):
        assert client.get(f"/console/cases/{code}").status_code == 404
        assert post(client, f"/console/cases/{code}/note", {"text": "xem"}).status_code == 404
        assert post(client, f"/console/cases/{code}/acknowledge").status_code == 404
        assert client.get(f"/console/cases/{code}/recording").status_code == 404
    # Centre-only actions are refused even on their own case.
    assert (
        post(client, f"/console/cases/{desk.env_code}/assign", {"assignee": "me"}).status_code
        == 403
    )
    assert (
        post(client, f"/console/cases/{desk.env_code}/route", {"agency": "ioc"}).status_code == 403
    )
    response = post(client, f"/console/cases/{desk.env_code}/duplicate", {"master": desk.web_code})
    assert response.status_code == 403
    # Their own work is allowed.
    assert post(client, f"/console/cases/{desk.env_code}/acknowledge").status_code == 302
    assert (
        post(client, f"/console/cases/{desk.env_code}/note", {"text": "Đã cử xe"}).status_code
        == 302
    )
    case = case_by_code(runtime, desk.env_code)
    assert case.status == "acknowledged"
    assert [e.actor for e in case.events][-2:] == ["an.hepco", "an.hepco"]


def test_personal_data_is_masked_unless_the_role_may_see_it(
    app: Flask, runtime: Runtime, desk: Desk
) -> None:
    for username in ("lan.agent", "an.hepco"):
        html = page(signed_in(app, username), desk.env_code)
        assert "+84905123456" not in html and "0905 123 456" not in html
        assert "+84*******56" in html and "090*****56" in html
    for username in ("hoa.supervisor", "minh.admin"):
        html = page(signed_in(app, username), desk.env_code)
        assert "+84905123456" in html and "0905 123 456" in html
    with unit_of_work(runtime.sessions) as session:
        case = session.scalar(select(Case).where(Case.code == desk.env_code))
        assert case is not None
        case.anonymous = True
    html = page(signed_in(app, "an.hepco"), desk.env_code)
    assert "Ẩn danh" in html and "+84*******56" not in html
    assert "+84*******56" in page(signed_in(app, "lan.agent"), desk.env_code)


def test_csrf_token_is_required_on_every_action(app: Flask, desk: Desk) -> None:
    client = signed_in(app)
    for action in ("acknowledge", "assign", "route", "status", "note", "reply", "extend"):
        response = client.post(f"/console/cases/{desk.env_code}/{action}", data={"text": "x"})
        assert response.status_code == 400, action


# --- actions --------------------------------------------------------------------------------


def test_acknowledge_assign_route_and_status_changes_are_events_with_their_actor(
    app: Flask, runtime: Runtime, desk: Desk
) -> None:
    client = signed_in(app)
    url = f"/console/cases/{desk.env_code}"
    assert post(client, f"{url}/acknowledge").status_code == 302
    assert post(client, f"{url}/assign", {"assignee": "me"}).status_code == 302
    assert post(client, f"{url}/assign", {"assignee": "hoa.supervisor"}).status_code == 302
    assert (
        post(client, f"{url}/route", {"agency": "ioc", "reason": "Cần phối hợp"}).status_code == 302
    )
    assert post(client, f"{url}/status", {"status": "in_progress"}).status_code == 302
    response = post(
        client, f"{url}/status", {"status": "resolved", "resolution": "Đã thu gom rác."}
    )
    assert response.status_code == 302
    case = case_by_code(runtime, desk.env_code)
    assert case.status == "resolved" and case.resolution == "Đã thu gom rác."
    assert case.assignee_id is not None
    mine = [(e.action, e.actor) for e in case.events if e.actor == "lan.agent"]
    assert mine == [
        ("status_changed", "lan.agent"),
        ("assigned", "lan.agent"),
        ("assigned", "lan.agent"),
        ("routed", "lan.agent"),
        ("status_changed", "lan.agent"),
        ("status_changed", "lan.agent"),
    ]
    html = page(client, desk.env_code)
    assert "Đã xử lý xong" in html
    assert "Nội bộ" in html and "Công khai" in html and "lan.agent" in html


def test_invalid_transitions_are_refused_in_vietnamese(
    app: Flask, runtime: Runtime, desk: Desk
) -> None:
    client = signed_in(app)
    url = f"/console/cases/{desk.env_code}"
    response = post(client, f"{url}/status", {"status": "closed"}, follow_redirects=True)
    assert response.status_code == 200
    html = response.get_data(as_text=True)
    assert "Không thể chuyển phản ánh" in html and "flash-error" in html
    response = post(client, f"{url}/status", {"status": "bogus"}, follow_redirects=True)
    assert "Trạng thái không hợp lệ." in response.get_data(as_text=True)
    response = post(client, f"{url}/status", {"status": "reopened"}, follow_redirects=True)
    assert "Dùng mục riêng" in response.get_data(as_text=True)
    case = case_by_code(runtime, desk.env_code)
    assert case.status == "new" and [e.action for e in case.events] == ["created", "routed"]
    assert post(client, f"{url}/status", {"status": "acknowledged"}).status_code == 302
    response = post(client, f"{url}/status", {"status": "resolved"}, follow_redirects=True)
    assert "Vui lòng ghi kết quả xử lý" in response.get_data(as_text=True)
    assert case_by_code(runtime, desk.env_code).status == "acknowledged"


def test_an_internal_note_stays_internal(app: Flask, runtime: Runtime, desk: Desk) -> None:
    client = signed_in(app)
    assert (
        post(
            client, f"/console/cases/{desk.env_code}/note", {"text": "Gọi lại chiều nay"}
        ).status_code
        == 302
    )
    event = case_by_code(runtime, desk.env_code).events[-1]
    assert (event.action, event.public, event.actor) == ("note", False, "lan.agent")
    assert event.data["text"] == "Gọi lại chiều nay"
    track = app.test_client().get(f"/track/{desk.env_code}").get_data(as_text=True)
    assert "Gọi lại chiều nay" not in track


def test_a_public_reply_reaches_an_sms_reporter_through_the_outbox(
    app: Flask, runtime: Runtime, desk: Desk
) -> None:
    client = signed_in(app)
    text = "Chào anh, đội thu gom sẽ đến trong hôm nay."
    assert post(client, f"/console/cases/{desk.env_code}/reply", {"text": text}).status_code == 302
    event = case_by_code(runtime, desk.env_code).events[-1]
    assert (event.action, event.public, event.public_text) == ("public_reply", True, text)
    with unit_of_work(runtime.sessions) as session:
        sent = session.scalars(select(OutboxMessage).where(OutboxMessage.body == text)).all()
        assert [(m.channel.value, m.recipient) for m in sent] == [("sms", "+84905123456")]
    assert text in app.test_client().get(f"/track/{desk.env_code}").get_data(as_text=True)


def test_a_public_reply_reaches_a_web_chat_reporter_in_the_widget(
    app: Flask, runtime: Runtime, desk: Desk
) -> None:
    client = signed_in(app)
    text = "Chúng tôi đã báo điện lực sửa đèn."
    assert post(client, f"/console/cases/{desk.web_code}/reply", {"text": text}).status_code == 302
    with unit_of_work(runtime.sessions) as session:
        assert session.scalars(select(OutboxMessage).where(OutboxMessage.body == text)).all() == []
        message = session.scalar(select(Message).where(Message.text == text))
        assert message is not None and message.sender == "agent"
    widget = app.test_client().get(f"/chat/api/messages?session={WEB_SESSION}")
    assert text in [m["text"] for m in widget.get_json()["messages"]]


def test_extension_needs_a_reason_and_a_later_date(
    app: Flask, runtime: Runtime, desk: Desk
) -> None:
    client = signed_in(app)
    url = f"/console/cases/{desk.env_code}/extend"
    before = case_by_code(runtime, desk.env_code).resolve_due_at
    response = post(client, url, {"due": "2099-01-01T10:00", "reason": ""}, follow_redirects=True)
    assert "Vui lòng điền mục này." in response.get_data(as_text=True)
    response = post(
        client, url, {"due": "2000-01-01T10:00", "reason": "Chờ vật tư"}, follow_redirects=True
    )
    assert "Thời hạn mới phải sau thời hạn hiện tại" in response.get_data(as_text=True)
    assert case_by_code(runtime, desk.env_code).resolve_due_at == before
    assert post(client, url, {"due": "2099-01-01T10:00", "reason": "Chờ vật tư"}).status_code == 302
    case = case_by_code(runtime, desk.env_code)
    assert case.resolve_due_at.isoformat() == "2099-01-01T03:00:00+00:00"  # 10:00 in Huế
    assert case.events[-1].action == "extended" and case.events[-1].actor == "lan.agent"


def test_mark_duplicate_by_code_then_reopen(app: Flask, runtime: Runtime, desk: Desk) -> None:
    client = signed_in(app)
    url = f"/console/cases/{desk.traffic_code}"
    response = post(
        client, f"{url}/duplicate", {"master": desk.traffic_code}, follow_redirects=True
    )
    assert "Không thể đánh dấu phản ánh trùng với chính nó" in response.get_data(as_text=True)
    response = post(
        client, f"{url}/duplicate", {"master": "HUE-991231-9999"}, follow_redirects=True
    )
    assert "Không tìm thấy phản ánh" in response.get_data(as_text=True)
    assert post(client, f"{url}/duplicate", {"master": desk.env_code}).status_code == 302
    case = case_by_code(runtime, desk.traffic_code)
    assert case.status == "duplicate" and case.master_case_id is not None
    assert desk.env_code in page(client, desk.traffic_code)
    response = post(client, f"{url}/reopen", {"reason": ""}, follow_redirects=True)
    assert "Vui lòng điền mục này." in response.get_data(as_text=True)
    assert post(client, f"{url}/reopen", {"reason": "Không trùng"}).status_code == 302
    case = case_by_code(runtime, desk.traffic_code)
    assert case.status == "reopened" and case.master_case_id is None
    assert case.events[-1].actor == "lan.agent"


# --- the recording -------------------------------------------------------------------------


def test_the_recording_streams_from_the_recordings_directory_only(
    app: Flask, runtime: Runtime, desk: Desk, tmp_path: Path
) -> None:
    recordings = runtime.settings.effective_recordings_dir
    recordings.mkdir(parents=True, exist_ok=True)
    (recordings / "call-0001.wav").write_bytes(b"RIFF----WAVEfmt ")
    (tmp_path / "secret.wav").write_bytes(b"not yours")
    client = signed_in(app)
    html = page(client, desk.traffic_code)
    assert (
        f'<audio controls preload="none" src="/console/cases/{desk.traffic_code}/recording">'
        in html
    )
    response = client.get(f"/console/cases/{desk.traffic_code}/recording")
    assert response.status_code == 200 and response.mimetype == "audio/wav"
    assert response.data.startswith(b"RIFF")
    response.close()
    assert app.test_client().get(f"/console/cases/{desk.traffic_code}/recording").status_code == 302
    for sneaky in ("../secret.wav", str(tmp_path / "secret.wav"), "../secret", "/etc/passwd"):
        with unit_of_work(runtime.sessions) as session:
            case = session.scalar(select(Case).where(Case.code == desk.traffic_code))
            assert case is not None
            case.recording_path = sneaky
        assert client.get(f"/console/cases/{desk.traffic_code}/recording").status_code == 404
    assert client.get(f"/console/cases/{desk.env_code}/recording").status_code == 404


def test_a_twilio_recording_is_proxied_and_other_urls_are_not(
    app: Flask, runtime: Runtime, desk: Desk
) -> None:
    with unit_of_work(runtime.sessions) as session:
        case = session.scalar(select(Case).where(Case.code == desk.traffic_code))
        assert case is not None
        case.recording_path = "https://evil.example.com/recording"
    client = signed_in(app)
    assert client.get(f"/console/cases/{desk.traffic_code}/recording").status_code == 404


def test_a_twilio_recording_is_streamed_with_the_accounts_credentials(
    tmp_path: Path, providers: Any
) -> None:
    from agents_console.app import create_app
    from intake.config import Settings
    from intake.models import Base, Role
    from intake.services.users import create_user
    from tests.conftest import NOW
    from tests.unit.console.conftest import PASSWORD

    settings = Settings(
        var_dir=tmp_path,
        database_url=f"sqlite:///{tmp_path / 'twilio.sqlite3'}",
        **providers.settings(),
    )
    runtime = Runtime.from_settings(settings)
    try:
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
        desk = seed_desk(runtime)
        path = "/2010-04-01/Accounts/AC0001/Recordings/RE0001"
        providers.files[path + ".wav"] = b"RIFF-twilio-audio"
        with unit_of_work(runtime.sessions) as session:
            case = session.scalar(select(Case).where(Case.code == desk.traffic_code))
            assert case is not None
            case.recording_path = providers.url + path
        client = signed_in(create_app(runtime, {"TESTING": True}))
        response = client.get(f"/console/cases/{desk.traffic_code}/recording")
        assert response.status_code == 200 and response.data == b"RIFF-twilio-audio"
        assert response.mimetype == "audio/wav"
        fetched_path, headers = providers.fetched[-1]
        assert fetched_path == path + ".wav" and headers["Authorization"].startswith("Basic ")
        providers.files.clear()
        assert client.get(f"/console/cases/{desk.traffic_code}/recording").status_code == 404
    finally:
        runtime.close()
