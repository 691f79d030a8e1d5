"""What the hotline's calls leave in the database, read back by the call tests (in-process and
through the FastAGI server), and the cases they look up."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from intake.db import unit_of_work
from intake.models import (
    CallOutcome,
    CallRecord,
    Case,
    CaseKind,
    Channel,
    OutboxMessage,
    Registration,
)
from intake.services.cases import CITIZEN, NewCase, open_case
from intake.services.contacts import contact_for_identity
from tests.conftest import NOW


def the_call(session: Session, unique_id: str) -> CallRecord:
    """The `calls` row of the call Asterisk knows as `unique_id`."""
    return session.scalars(select(CallRecord).where(CallRecord.unique_id == unique_id)).one()


def sms_to(session: Session, phone: str) -> list[OutboxMessage]:
    return list(
        session.scalars(
            select(OutboxMessage).where(
                OutboxMessage.channel == Channel.SMS, OutboxMessage.recipient == phone
            )
        )
    )


def steps(record: CallRecord) -> list[str]:
    return [step["step"] for step in record.steps]


def case_reported_by(
    sessions: sessionmaker[Session], phone: str, now: datetime = NOW
) -> tuple[str, str]:
    """A complaint sent by SMS from `phone`: its code and its digits."""
    with unit_of_work(sessions) as session:
        contact = contact_for_identity(session, Channel.SMS, phone, now)
        case = open_case(
            session,
            NewCase(
                channel=Channel.SMS,
                description="Đèn đường kiệt 5 Phan Đình Phùng tắt cả tuần",
                category_code="roads_infrastructure",
                reporter_contact_id=contact.id,
            ),
            now=now,
            actor=CITIZEN,
        )
        return case.code, case.code_digits


def check_complaint_by_speech(session: Session, record: CallRecord) -> Case:
    """The case of a complaint made by voice on the synthetic model (tests/ivr/conftest.py's
    `speech_audio`): the main menu and the confirmation answered by speech, the unsure
    transcript's category keyed (3), the transcript kept on the case."""
    menu = next(step for step in record.steps if step["step"] == "menu")
    assert menu["choice"] == "complaint" and menu["by"] == "speech"
    confirm = next(step for step in record.steps if step["step"] == "confirm")
    assert confirm["choice"] == "yes" and confirm["by"] == "speech"
    case = session.get(Case, record.case_id)
    assert case is not None and record.outcome == CallOutcome.CASE_CREATED
    assert case.category is not None and case.category.code == "roads_infrastructure"
    assert case.transcript and case.transcript_confidence is not None
    assert "transcribed" in [event.action for event in case.events]
    # The answers to the menus are not kept; the complaint is.
    assert record.recordings == [case.recording_path]
    return case


def check_registration(session: Session, record: CallRecord, cccd: str, phone: str) -> Case:
    """The registration a call made (CCCD and date of birth keyed, name and address recorded,
    ward 13: Phú Hội) and its case, checked; the CCCD appears only masked in the call's path."""
    registration = session.get(Registration, record.registration_id)
    assert record.outcome == CallOutcome.REGISTERED and registration is not None
    assert registration.cccd == cccd and registration.phone_e164 == phone
    assert registration.ward is not None and registration.ward.name == "Phú Hội"
    case = session.get(Case, registration.case_id)
    assert case is not None and case.kind == CaseKind.REGISTRATION
    assert record.case_id == case.id
    # The name is in the recording, transcribed later on the registration's case.
    assert case.recording_path in record.recordings
    cccd_step = next(step for step in record.steps if step["step"] == "cccd")
    assert cccd not in str(record.steps) and cccd_step["cccd"].endswith(cccd[-3:])
    return case
