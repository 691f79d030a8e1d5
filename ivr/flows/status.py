"""Menu 3: where a case stands, by its code keyed in, or the caller's latest cases by caller ID."""

from __future__ import annotations

from intake.models import CallOutcome
from intake.services.cases import cases_reported_by_phone, get_case
from intake.services.errors import NotFound
from ivr.flows.common import TRIES, CallSession
from ivr.prompts import status_prompt

CODE_TIMEOUT_MS = 15_000
MAX_CODE_DIGITS = 12
LATEST = 3


def status(s: CallSession) -> None:
    """Read out the status of the case whose digits the caller keys (the digits alone find a
    case), or with `#` alone, of the latest cases reported from the caller's number."""
    s.step("status")
    for attempt in range(1, TRIES + 1):
        keyed = s.keys("hotline/status/ask", max_digits=MAX_CODE_DIGITS, timeout_ms=CODE_TIMEOUT_MS)
        if not keyed:
            _by_caller_id(s)
            return
        with s.unit() as session:
            try:
                case = get_case(session, keyed, prefix=s.ctx.settings.case_code_prefix)
                told = [(case.code, case.code_digits, case.status.value)]
            except NotFound:
                told = []
        if told:
            s.step("status_told", by="code", cases=[code for code, _, _ in told])
            _tell(s, told)
            return
        s.step("status_not_found", attempt=attempt)
        s.say("hotline/status/not-found")
    s.to_agent("status_not_found")


def _by_caller_id(s: CallSession) -> None:
    told: list[tuple[str, str, str]] = []
    if s.caller_e164:
        with s.unit() as session:
            cases = cases_reported_by_phone(session, s.caller_e164, limit=LATEST)
            told = [(case.code, case.code_digits, case.status.value) for case in cases]
    if not told:
        s.step("status_none_for_caller")
        s.say("hotline/status/none-for-caller")
        s.to_agent("status_none_for_caller")
        return
    s.step("status_told", by="caller_id", cases=[code for code, _, _ in told])
    _tell(s, told)


def _tell(s: CallSession, told: list[tuple[str, str, str]]) -> None:
    s.finish(CallOutcome.STATUS_TOLD)
    for _, digits, state in told:
        s.say("hotline/status/case")
        s.call.say_digits(digits)
        s.say(status_prompt(state))
    s.goodbye()
