"""The hotline's main call flow (AGI script `hotline`): greeting, opening hours, the main menu by
keypad or voice, and the fallbacks that make sure no caller is left in silence.

    1 complaint (ivr/flows/complaint.py)   2 support registration (registration.py)
    3 case status (status.py)              0 an agent

Outside the opening hours (`IVR_OPEN_HOURS`, local time in Huế) the caller leaves a voicemail
that becomes a case. The flow ends by setting `HOTLINE_NEXT` (`agent` → the dialplan's Queue(),
`hangup`) and returning; any error sends the caller to an agent.
"""

from __future__ import annotations

import logging
from datetime import datetime

from intake.clock import VN_TZ
from intake.config import parse_open_hours
from intake.messages_vi import VOICEMAIL_DESCRIPTION
from intake.models import CallOutcome, CaseKind, Channel
from intake.pii import masked
from intake.services.cases import CITIZEN, NewCase, open_case
from ivr.call import AgiFailure, Call, CallHungUp
from ivr.flows.common import NEXT, REASON, CallSession, Choice, queue_transcription, said_something
from ivr.flows.complaint import complaint
from ivr.flows.registration import registration
from ivr.flows.status import status
from ivr.registry import FlowContext, flow
from ivr.speech import Speech

log = logging.getLogger("ivr.hotline")

MAIN_MENU = Choice(
    prompt="hotline/main-menu",
    keys={"1": "complaint", "2": "registration", "3": "status", "0": "agent"},
    phrases={
        "một": "complaint",
        "số một": "complaint",
        "phản ánh": "complaint",
        "hai": "registration",
        "số hai": "registration",
        "đăng ký": "registration",
        "ba": "status",
        "số ba": "status",
        "tra cứu": "status",
        "không": "agent",
        "số không": "agent",
        "tổng đài viên": "agent",
        "gặp người": "agent",
    },
)
VOICEMAIL_MAX_MS = 120_000


@flow("hotline")
def hotline(call: Call, ctx: FlowContext) -> None:
    """Answer, greet, and serve the caller until a case code is read out or an agent takes the
    call. A caller who hangs up keeps what they said (a complaint becomes a draft case)."""
    session: CallSession | None = None
    try:
        call.answer()
        session = CallSession(call, ctx, Speech(ctx.settings))
        session.open()
        session.say("hotline/greeting")
        if not is_open(ctx.settings.ivr_open_hours, ctx.clock()):
            voicemail(session)
            return
        main_menu(session)
    except CallHungUp:
        if session is not None:
            _hung_up(session)
    except Exception:
        log.exception("hotline call %s failed; handing it to an agent", call.unique_id)
        _fallback(call, session)


def is_open(open_hours: str, now: datetime) -> bool:
    """Whether the hotline takes calls at `now` (local time in Huế)."""
    hours = parse_open_hours(open_hours)
    if hours is None:
        return True
    opens, closes = hours
    local = now.astimezone(VN_TZ).time()
    if opens < closes:
        return opens <= local < closes
    return local >= opens or local < closes  # a range past midnight


def main_menu(s: CallSession) -> None:
    choice = s.choose(MAIN_MENU, step="menu")
    if choice == "complaint":
        complaint(s)
    elif choice == "registration":
        registration(s)
    elif choice == "status":
        status(s)
    elif choice == "agent":
        s.to_agent("caller_request")
    else:
        s.to_agent("no_choice")


def voicemail(s: CallSession) -> None:
    """After hours: a recorded message becomes a case (transcribed by a speech worker), whose
    code is read out and sent by SMS."""
    s.step("after_hours")
    for _ in range(2):
        s.say("hotline/voicemail/record")
        recording = s.record("voicemail", timeout_ms=VOICEMAIL_MAX_MS, silence_s=5)
        if said_something(recording):
            break
        s.say("hotline/voicemail/empty")
    else:
        s.say("hotline/voicemail/call-back")
        s.finish(CallOutcome.VOICEMAIL)
        s.goodbye()
        return
    with s.unit() as session:
        case = open_case(
            session,
            NewCase(
                channel=Channel.VOICE,
                kind=CaseKind.COMPLAINT,
                description=VOICEMAIL_DESCRIPTION,
                recording_path=recording.path,
                reporter_contact_id=s.reporter_id(session),
                intake_key=f"call:{s.call.unique_id}",
                extra={"call_unique_id": s.call.unique_id, "after_hours": True},
            ),
            now=s.now(),
            actor=CITIZEN,
            settings=s.ctx.runtime.case_settings,
        )
        s.case_id = case.id
        s.finish(CallOutcome.VOICEMAIL, case_id=case.id, session=session)
        digits, case_id = case.code_digits, case.id
    queue_transcription(case_id)
    s.say("hotline/voicemail/thanks")
    s.say_code(digits)
    s.goodbye()


def _hung_up(s: CallSession) -> None:
    """Keep what the caller said, then note how the call ended."""
    try:
        if s.on_hangup is not None:
            s.on_hangup()
            s.on_hangup = None
        s.step("hung_up")
        s.finish(CallOutcome.HUNG_UP)
    except Exception:
        log.exception("call %s: could not record the hang-up", masked(s.call.unique_id))


def _fallback(call: Call, s: CallSession | None) -> None:
    """Something broke (the database, the speech model, a bug): say so and queue the caller
    for an agent, whatever else still works."""
    try:
        call.set_variable(NEXT, "agent")
        call.set_variable(REASON, "error")
        call.stream("hotline/error")
        call.stream("hotline/transfer-agent")
    except (CallHungUp, AgiFailure, OSError):
        log.warning("call %s: the caller could not be told about the error", call.unique_id)
    if s is None:
        return
    try:
        if s.on_hangup is not None:  # keep the complaint said before the failure
            s.on_hangup()
        s.finish(CallOutcome.ERROR)
    except Exception:
        log.exception("call %s: could not record the failure", call.unique_id)
