"""Menu 1: a complaint said in the caller's own words, read back, confirmed, and opened as a case
whose code is read out and sent by SMS."""

from __future__ import annotations

import functools
import logging
from dataclasses import dataclass

from sqlalchemy.orm import Session

from intake.models import CallOutcome, Case, CaseKind, Channel, Priority
from intake.services.cases import (
    CITIZEN,
    NewCase,
    attach_transcript,
    find_ward,
    mark_draft,
    open_case,
)
from intake.services.errors import InvalidInput
from ivr.flows.common import CallSession, Choice, queue_transcription, said_something
from ivr.prompts import CATEGORY_KEYS, NOTES, category_prompt, ward_prompt
from ivr.speech import Heard, Understanding, understand

log = logging.getLogger("ivr.hotline")

MAX_DESCRIPTION_MS = 60_000
# Below these the transcript or the bot's category is a guess: the caller picks by keypad.
MIN_TRANSCRIPT_CONFIDENCE = 0.6
MIN_CATEGORY_CONFIDENCE = 0.5

CONFIRM = Choice(
    prompt="hotline/complaint/confirm",
    keys={"1": "yes", "2": "again"},
    phrases={"đúng": "yes", "đúng rồi": "yes", "sai": "again", "nói lại": "again"},
)
CATEGORY_MENU = Choice(prompt="hotline/complaint/category-menu", keys=CATEGORY_KEYS)


@dataclass
class Report:
    """What the caller said so far."""

    recording: str
    heard: Heard | None = None
    understood: Understanding | None = None
    category: str | None = None
    ward_code: str | None = None

    @property
    def transcript(self) -> str | None:
        return self.heard.text if self.heard and self.heard.text else None


def complaint(s: CallSession) -> None:
    """Record the complaint (up to a minute, ending on silence or #), understand it if a speech
    model is installed, read back its category and place, and open the case on `1`."""
    s.step("complaint")
    for _ in range(2):
        s.say("hotline/complaint/describe")
        recording = s.record("complaint", timeout_ms=MAX_DESCRIPTION_MS, silence_s=4)
        if not said_something(recording):
            s.say("hotline/complaint/no-recording")
            continue
        report = Report(recording=recording.path)
        s.on_hangup = functools.partial(save_draft, s, report)
        _understand(s, report)
        if report.understood and report.understood.intent == "emergency":
            emergency(s, report)
            return
        if report.category is None:
            report.category = s.choose(CATEGORY_MENU, step="category")
            if report.category is None:
                _to_agent_with_draft(s, report, "category_not_chosen")
                return
        s.say("hotline/complaint/summary", category_prompt(report.category))
        if report.ward_code:
            s.say("hotline/complaint/at", ward_prompt(report.ward_code))
        answer = s.choose(CONFIRM, step="confirm")
        if answer == "yes":
            _open(s, report)
            return
        if answer is None:
            _to_agent_with_draft(s, report, "not_confirmed")
            return
        s.on_hangup = None  # recording again: the next recording replaces this one
    s.to_agent("no_complaint_recorded")


def _understand(s: CallSession, report: Report) -> None:
    report.heard = s.speech.transcribe(report.recording)
    if report.heard is None or not report.heard.text:
        s.step("transcript", available=report.heard is not None)
        return
    report.understood = understand(s.ctx.settings, report.heard.text)
    understood = report.understood
    sure = report.heard.confidence >= MIN_TRANSCRIPT_CONFIDENCE
    if (
        understood is not None
        and sure
        and understood.intent == "complaint"
        and understood.category
        and understood.category_confidence >= MIN_CATEGORY_CONFIDENCE
    ):
        report.category = understood.category
    if understood is not None and understood.ward_name:
        with s.unit() as session:
            try:
                ward = find_ward(session, understood.ward_name)
            except InvalidInput:
                ward = None
            report.ward_code = ward.code if ward else None
    s.step(
        "transcript",
        confidence=round(report.heard.confidence, 3),
        intent=understood.intent if understood else None,
        category=report.category,
        ward=report.ward_code,
    )


def _new_case(s: CallSession, session: Session, report: Report, **changes: object) -> Case:
    understood = report.understood
    data = NewCase(
        channel=Channel.VOICE,
        kind=CaseKind.COMPLAINT,
        description=report.transcript or NOTES["complaint_recorded"],
        category_code=report.category,
        ward_code=report.ward_code,
        location_text=understood.location_text if understood else None,
        reporter_contact_id=s.reporter_id(session),
        recording_path=report.recording,
        intake_key=f"call:{s.call.unique_id}",
        extra={"call_unique_id": s.call.unique_id},
    )
    for name, value in changes.items():
        setattr(data, name, value)
    case = open_case(
        session, data, now=s.now(), actor=CITIZEN, settings=s.ctx.runtime.case_settings
    )
    if report.heard is not None and report.heard.text and case.transcript is None:
        attach_transcript(
            case,
            report.heard.text,
            report.heard.confidence,
            now=s.now(),
            actor=CITIZEN,
            audio_s=report.heard.audio_s,
            engine=report.heard.engine,
        )
    session.flush()
    s.case_id = case.id
    return case


def _after_commit(case_id: int, report: Report) -> None:
    """A recording transcribed during the call needs no worker; the others are queued."""
    if report.transcript is None:
        queue_transcription(case_id)


def _open(s: CallSession, report: Report) -> None:
    with s.unit() as session:
        case = _new_case(s, session, report)
        s.finish(CallOutcome.CASE_CREATED, case_id=case.id, session=session)
        code, digits, case_id = case.code, case.code_digits, case.id
    s.on_hangup = None
    _after_commit(case_id, report)
    s.step("case_created", case=code)
    s.say("hotline/complaint/created")
    s.say_code(digits)
    s.goodbye()


def save_draft(s: CallSession, report: Report) -> None:
    """The caller hung up (or the call failed) before confirming: keep the recording as a case
    marked as a draft (an internal timeline event), so an agent listens and calls back. The
    caller gets the case's code by SMS like any other caller. The call's outcome is recorded
    by whoever called this (`hung_up`, `error`), with this case."""
    with s.unit() as session:
        case = _new_case(s, session, report)
        mark_draft(case, "caller hung up", now=s.now(), actor=CITIZEN, channel="voice")
        case_id = case.id
    _after_commit(case_id, report)


def _to_agent_with_draft(s: CallSession, report: Report, reason: str) -> None:
    with s.unit() as session:
        case = _new_case(s, session, report)
        mark_draft(case, reason, now=s.now(), actor=CITIZEN, channel="voice")
        code, case_id = case.code, case.id
    s.on_hangup = None
    _after_commit(case_id, report)
    s.to_agent(reason, case_code=code)


def emergency(s: CallSession, report: Report) -> None:
    """Danger now: tell the caller to hang up and dial 113/114/115, open an urgent case with the
    recording, and put the call through to an agent at once."""
    s.step("emergency")
    with s.unit() as session:
        case = _new_case(
            s,
            session,
            report,
            priority=Priority.EMERGENCY,
            description=report.transcript or NOTES["emergency_recorded"],
        )
        s.finish(CallOutcome.EMERGENCY, case_id=case.id, session=session)
        code, case_id = case.code, case.id
    s.on_hangup = None
    _after_commit(case_id, report)
    s.say("hotline/emergency")
    s.to_agent("emergency", case_code=code)
