"""Data for the queue, case page and takeover tests: the reference data, an officer of each of
two agencies, and cases and conversations on several channels."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from sqlalchemy import select

from intake.clock import utcnow
from intake.db import unit_of_work
from intake.models import Case, Channel, Conversation, Priority, Role
from intake.runtime import Runtime
from intake.seed import seed_reference
from intake.services.cases import CITIZEN, NewCase, open_case
from intake.services.contacts import contact_for_identity
from intake.services.conversations import hand_off, open_conversation, record_inbound
from intake.services.users import create_user
from tests.conftest import NOW
from tests.unit.console.conftest import PASSWORD, csrf_token

REPORTER_PHONE = "+84905123456"
WEB_SESSION = "webchat-session-0001"
OFFICERS = {"an.hepco": "hepco", "binh.police": "traffic-police"}


@dataclass
class Desk:
    env_code: str  # environment, SMS, routed to hepco, reporter's phone in the text
    traffic_code: str  # traffic, routed to traffic-police
    web_code: str  # web chat, in a conversation
    fresh_code: str  # opened just now (both clocks running, not overdue)
    conversation_id: int  # the web chat, waiting for an agent


def seed_desk(runtime: Runtime) -> Desk:
    with unit_of_work(runtime.sessions) as session:
        seed_reference(session, NOW)
        for username, agency in OFFICERS.items():
            create_user(
                session,
                username=username,
                full_name=f"Cán bộ {agency}",
                role=Role.AGENCY_OFFICER,
                password=PASSWORD,
                now=NOW,
                agency_code=agency,
            )
        # Eight days old: both clocks of these cases are overdue whatever today is.
        base = utcnow() - timedelta(days=8)
        reporter = contact_for_identity(
            session, Channel.SMS, REPORTER_PHONE, NOW, phone_e164=REPORTER_PHONE
        )
        env = open_case(
            session,
            NewCase(
                channel=Channel.SMS,
                description="Rác tồn đọng ở kiệt 12 Nguyễn Huệ, gọi lại 0905 123 456",
                category_code="environment",
                ward_code="phu-hoi",
                location_text="Kiệt 12 Nguyễn Huệ",
                latitude=16.4637,
                longitude=107.5909,
                reporter_contact_id=reporter.id,
            ),
            now=base,
            actor=CITIZEN,
        )
        traffic = open_case(
            session,
            NewCase(
                channel=Channel.VOICE,
                description="Ô tô đỗ chắn lối đi trên đường Lê Lợi",
                category_code="traffic_parking",
                ward_code="vinh-ninh",
                priority=Priority.HIGH,
                transcript="ô tô đỗ chắn lối đi",
                recording_path="call-0001",
                reporter_contact_id=reporter.id,
            ),
            now=base + timedelta(minutes=5),
            actor=CITIZEN,
        )
        conversation = open_conversation(session, Channel.WEB, WEB_SESSION, NOW)
        record_inbound(session, conversation, "Đèn đường hỏng ở Vỹ Dạ", base)
        web = open_case(
            session,
            NewCase(
                channel=Channel.WEB,
                description="Đèn đường hỏng ở Vỹ Dạ",
                category_code="roads_infrastructure",
                ward_code="vy-da",
                reporter_contact_id=conversation.contact_id,
                conversation_id=conversation.id,
            ),
            now=base + timedelta(minutes=10),
            actor=CITIZEN,
        )
        hand_off(session, conversation, NOW, "request_agent")
        fresh = open_case(
            session,
            NewCase(
                channel=Channel.SMS,
                description="Nước sinh hoạt có mùi lạ",
                category_code="utilities",
                ward_code="an-cuu",
                priority=Priority.EMERGENCY,
                reporter_contact_id=reporter.id,
            ),
            now=utcnow() - timedelta(minutes=5),
            actor=CITIZEN,
        )
        return Desk(env.code, traffic.code, web.code, fresh.code, conversation.id)


def case_by_code(runtime: Runtime, code: str) -> Case:
    with unit_of_work(runtime.sessions) as session:
        case = session.scalar(select(Case).where(Case.code == code))
        assert case is not None
        case.events  # load the timeline before the session closes
        session.expunge_all()
        return case


def conversation_state(runtime: Runtime, conversation_id: int) -> tuple[str, int | None]:
    with unit_of_work(runtime.sessions) as session:
        conversation = session.get(Conversation, conversation_id)
        assert conversation is not None
        return conversation.state.value, conversation.assigned_user_id


def post(client: Any, path: str, data: dict[str, Any] | None = None, **kwargs: Any) -> Any:
    """POST a console form with the session's CSRF token, as the browser would."""
    form = {"csrf_token": csrf_token(client, "/console/queue"), **(data or {})}
    return client.post(path, data=form, **kwargs)
