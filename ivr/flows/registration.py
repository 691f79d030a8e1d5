"""Menu 2: a support-package registration by keypad (CCCD, date of birth, ward) and voice (name
and address, recorded and transcribed later by a speech worker)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from intake.clock import local_date
from intake.models import CallOutcome, Channel, Programme
from intake.services.cases import CITIZEN
from intake.services.errors import DuplicateRegistration, InvalidInput, NotFound
from intake.services.registrations import RegistrationInput, register
from intake.validation import ValidationError, mask_cccd, parse_cccd
from ivr.flows.common import TRIES, CallSession, queue_transcription
from ivr.prompts import NOTES, ward_keys

CCCD_TIMEOUT_MS = 20_000
DOB_TIMEOUT_MS = 15_000
NAME_MAX_MS = 30_000


@dataclass
class Partial:
    """What the caller keyed and said so far; it goes to the agent if the call is handed over."""

    cccd: str | None = None
    date_of_birth: date | None = None
    recording: str | None = None
    ward_code: str | None = None

    def variables(self) -> dict[str, str]:
        values = {
            "reg_cccd": self.cccd,
            "reg_dob": self.date_of_birth.isoformat() if self.date_of_birth else None,
            "reg_recording": self.recording,
            "reg_ward": self.ward_code,
        }
        return {name: value for name, value in values.items() if value}


def registration(s: CallSession) -> None:
    """Ask for the CCCD (checked, asked again once), the date of birth (checked against the
    CCCD's birth year), the name and address (recorded) and the ward, then register. A CCCD
    already registered is told kindly with the first registration's code; a second invalid
    answer goes to an agent with what was given so far."""
    s.step("registration")
    with s.unit() as session:
        programme = current_programme(session, s.now())
    if programme is None:
        s.say("hotline/registration/closed")
        s.to_agent("registration_closed")
        return
    s.say("hotline/registration/intro")
    partial = Partial()
    partial.cccd = _ask_cccd(s)
    if partial.cccd is None:
        s.to_agent("registration_invalid_cccd")
        return
    partial.date_of_birth = _ask_birth_date(s, partial.cccd)
    if partial.date_of_birth is None:
        s.to_agent("registration_invalid_dob", **partial.variables())
        return
    s.say("hotline/registration/name")
    partial.recording = s.record("name", timeout_ms=NAME_MAX_MS, silence_s=3).path
    partial.ward_code = _ask_ward(s)
    _register(s, programme, partial)


def current_programme(session: Session, now: datetime) -> Programme | None:
    """The programme taking registrations today (the latest opened, if several)."""
    today = local_date(now)
    programmes = session.scalars(
        select(Programme).where(Programme.active.is_(True)).order_by(Programme.id.desc())
    )
    for programme in programmes:
        if (programme.opens_on is None or programme.opens_on <= today) and (
            programme.closes_on is None or today <= programme.closes_on
        ):
            return programme
    return None


def _ask_cccd(s: CallSession) -> str | None:
    for attempt in range(1, TRIES + 1):
        keyed = s.keys("hotline/registration/cccd", max_digits=12, timeout_ms=CCCD_TIMEOUT_MS)
        try:
            number = parse_cccd(keyed).number
        except ValidationError as exc:
            s.step("cccd", invalid=exc.code, attempt=attempt)
            s.say("hotline/registration/cccd-invalid")
            continue
        s.step("cccd", cccd=mask_cccd(number), attempt=attempt)
        return number
    return None


def _ask_birth_date(s: CallSession, cccd: str) -> date | None:
    for attempt in range(1, TRIES + 1):
        keyed = s.keys("hotline/registration/dob", max_digits=8, timeout_ms=DOB_TIMEOUT_MS)
        born = parse_ddmmyyyy(keyed)
        if born is None or born > local_date(s.now()):
            s.step("date_of_birth", invalid="date", attempt=attempt)
            s.say("hotline/registration/dob-invalid")
            continue
        try:
            parse_cccd(cccd, birth_date=born)
        except ValidationError as exc:
            s.step("date_of_birth", invalid=exc.code, attempt=attempt)
            s.say("hotline/registration/dob-mismatch")
            continue
        s.step("date_of_birth", attempt=attempt)
        return born
    return None


def _ask_ward(s: CallSession) -> str | None:
    """The ward's two-digit number from the posted list; `#` (or nothing) leaves it to the
    verifiers, who read it from the recorded address."""
    wards = ward_keys()
    for attempt in range(1, TRIES + 1):
        keyed = s.keys("hotline/registration/ward", max_digits=2)
        if not keyed:
            break
        if keyed in wards:
            s.step("ward", ward=wards[keyed], attempt=attempt)
            return wards[keyed]
        s.step("ward", invalid=keyed, attempt=attempt)
        s.say("hotline/invalid")
    s.step("ward", skipped=True)
    return None


def parse_ddmmyyyy(keyed: str) -> date | None:
    if len(keyed) != 8 or not keyed.isdigit():
        return None
    try:
        return date(int(keyed[4:]), int(keyed[2:4]), int(keyed[:2]))
    except ValueError:
        return None


def _register(s: CallSession, programme: Programme, partial: Partial) -> None:
    assert partial.cccd is not None and partial.date_of_birth is not None
    try:
        with s.unit() as session:
            result = register(
                session,
                RegistrationInput(
                    programme_code=programme.code,
                    full_name=NOTES["name_in_recording"],
                    cccd=partial.cccd,
                    date_of_birth=partial.date_of_birth,
                    phone=s.caller_e164 or "",
                    address=NOTES["address_in_recording"],
                    channel=Channel.VOICE,
                    ward=partial.ward_code,
                    reporter_contact_id=s.reporter_id(session),
                    recording_path=partial.recording,
                ),
                now=s.now(),
                actor=CITIZEN,
                settings=s.ctx.runtime.case_settings,
            )
            s.case_id = result.case.id
            s.finish(
                CallOutcome.REGISTERED,
                case_id=result.case.id,
                registration_id=result.registration.id,
                session=session,
            )
            code, digits, case_id = result.case.code, result.case.code_digits, result.case.id
    except DuplicateRegistration as exc:
        _told_duplicate(s, exc)
        return
    except (InvalidInput, NotFound) as exc:
        # No usable caller ID for the SMS, a programme that just closed: a person sorts it out.
        s.step("registration_refused", error=exc.code)
        s.to_agent("registration_refused", **partial.variables())
        return
    if partial.recording:
        queue_transcription(case_id)
    s.step("registered", case=code)
    s.say("hotline/registration/done")
    s.call.say_digits(digits)
    s.say("hotline/code-repeat")
    s.call.say_digits(digits)
    s.goodbye()


def _told_duplicate(s: CallSession, exc: DuplicateRegistration) -> None:
    s.step("registration_duplicate", case=exc.existing_case_code)
    code = exc.existing_case_code
    digits = "".join(ch for ch in code if ch.isdigit()) if code else ""
    if digits:
        s.say("hotline/registration/duplicate")
        s.call.say_digits(digits)
    else:
        s.say("hotline/registration/duplicate-no-code")
    s.finish(CallOutcome.STATUS_TOLD)
    s.goodbye()
