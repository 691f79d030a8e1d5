"""What the hotline's flows share: the call's row in `calls`, menus by keypad or voice, recordings,
and the way to an agent.

Every step is committed in its own unit of work as soon as it happens, so a call that drops
keeps everything the caller already said. Nothing here knows how the call is carried (FastAGI,
AGI or a test double): it only uses `ivr.call.Call`.
"""

from __future__ import annotations

import logging
import re
import wave
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

from sqlalchemy.orm import Session

from intake.db import unit_of_work
from intake.models import CallOutcome, Channel
from intake.services import calls
from intake.services.contacts import contact_for_identity
from intake.validation import ValidationError, normalize_phone
from ivr.call import AudioSource, Call, CallHungUp, Recording
from ivr.registry import FlowContext
from ivr.speech import Speech

log = logging.getLogger("ivr.hotline")

TRIES = 2  # a caller gets a second chance at every question, then an agent
MENU_TIMEOUT_MS = 6000
SPOKEN_ANSWER_MS = 4000  # a short spoken menu answer
MIN_AUDIO_S = 0.3  # shorter than this, a recording holds nothing said

# Channel variables the dialplan reads after the flow returns.
NEXT = "HOTLINE_NEXT"  # "agent" (Queue()) or "hangup"
REASON = "HOTLINE_REASON"
CASE = "HOTLINE_CASE"

_SAFE = re.compile(r"[^A-Za-z0-9_.-]+")


@dataclass
class Choice:
    """A menu: keypad keys and, for callers who speak, phrases, each meaning one option."""

    prompt: str
    keys: Mapping[str, str]
    phrases: Mapping[str, str] = field(default_factory=dict)


class CallSession:
    """One hotline call in progress."""

    def __init__(self, call: Call, ctx: FlowContext, speech: Speech) -> None:
        self.call = call
        self.ctx = ctx
        self.speech = speech
        self.caller_e164 = caller_e164(call.caller_id)
        self.call_id: int | None = None
        self.case_id: int | None = None
        # Saves what the caller already said if they hang up now (set while it is worth it).
        self.on_hangup: Callable[[], None] | None = None
        self.speech_logged = False

    # --- the calls row ------------------------------------------------------------------

    def now(self) -> datetime:
        return self.ctx.clock()

    def open(self) -> None:
        with self.unit() as session:
            record = calls.start_call(
                session,
                self.call.unique_id,
                now=self.now(),
                caller_e164=self.caller_e164,
                dnid=self.call.env.get("agi_dnid"),
            )
            self.call_id = record.id

    def unit(self) -> Any:
        return unit_of_work(self.ctx.runtime.sessions)

    def step(self, name: str, *, recording: str | None = None, **details: Any) -> None:
        """Record one step of the path through the menus, committed at once."""
        if self.call_id is None:
            return
        with self.unit() as session:
            calls.add_step(
                session, self.call_id, name, now=self.now(), recording=recording, **details
            )

    def finish(
        self,
        outcome: CallOutcome,
        *,
        case_id: int | None = None,
        registration_id: int | None = None,
        session: Session | None = None,
    ) -> None:
        """Record the outcome, in `session` (with the case it reports) or on its own."""
        if self.call_id is None:
            return
        case_id = case_id or self.case_id
        if session is not None:
            calls.finish_call(
                session,
                self.call_id,
                outcome,
                now=self.now(),
                case_id=case_id,
                registration_id=registration_id,
            )
            return
        with self.unit() as own:
            calls.finish_call(
                own,
                self.call_id,
                outcome,
                now=self.now(),
                case_id=case_id,
                registration_id=registration_id,
            )

    def reporter_id(self, session: Session) -> int | None:
        """The caller as a contact (their caller ID), so the case's SMS reaches them."""
        if self.caller_e164 is None:
            return None
        return contact_for_identity(session, Channel.VOICE, self.caller_e164, self.now()).id

    # --- talking to the caller ------------------------------------------------------------

    def say(self, *prompts: str) -> None:
        for prompt in prompts:
            self.call.stream(prompt)

    def say_code(self, code_digits: str) -> None:
        """Read a case code digit by digit, twice (the SMS carries it too)."""
        self.say("hotline/case-code")
        self.call.say_digits(code_digits)
        self.say("hotline/code-repeat")
        self.call.say_digits(code_digits)

    def keys(self, prompt: str, *, max_digits: int, timeout_ms: int = MENU_TIMEOUT_MS) -> str:
        """Keys pressed after a prompt (GET DATA ends on # or `max_digits`); "" on timeout."""
        return self.call.get_data(prompt, timeout_ms=timeout_ms, max_digits=max_digits).strip()

    def choose(self, menu: Choice, *, step: str) -> str | None:
        """The option the caller picked by key or by voice; None after TRIES failed tries."""
        for attempt in range(1, TRIES + 1):
            pressed = self.keys(menu.prompt, max_digits=1)
            option = menu.keys.get(pressed) if pressed else None
            how = "keypad"
            if option is None and not pressed and menu.phrases:
                option, pressed = self._spoken(menu, step)
                how = "speech" if option is not None and not pressed else "keypad"
            if option is not None:
                self.step(step, choice=option, by=how, attempt=attempt)
                return option
            self.step(step, invalid=pressed or "timeout", attempt=attempt)
            self.say("hotline/invalid")
        return None

    def _spoken(self, menu: Choice, step: str) -> tuple[str | None, str]:
        """Listen for a short spoken answer (a key still works while recording)."""
        if not self.speech.available:
            if not self.speech_logged:
                log.info("no speech model, keypad-only menus: %s", self.speech.unavailable_reason)
                self.speech_logged = True
            return None, ""
        self.say("hotline/speak-now")
        if isinstance(self.call, AudioSource):
            # EAGI: the caller's audio streams into the recogniser as they speak.
            self.call.discard_buffered_audio()
            phrase = self.speech.listen(
                self.call.audio(), list(menu.phrases), max_seconds=SPOKEN_ANSWER_MS / 1000
            )
            self.step(f"{step}-listened", heard=phrase or "")
            return (menu.phrases[phrase] if phrase else None), ""
        recording = self.record(
            f"{step}-answer",
            escape_digits="0123456789*#",
            timeout_ms=SPOKEN_ANSWER_MS,
            silence_s=2,
            keep=False,
        )
        if recording.ended_by == "dtmf" and recording.digit and recording.digit in menu.keys:
            return menu.keys[recording.digit], recording.digit
        phrase = self.speech.phrase(recording.path, list(menu.phrases))
        return (menu.phrases[phrase] if phrase else None), ""

    def record(
        self,
        name: str,
        *,
        escape_digits: str = "#",
        timeout_ms: int = 60_000,
        silence_s: int = 4,
        keep: bool = True,
    ) -> Recording:
        """RECORD FILE into the recordings directory, named after the call and the step. A
        recording the caller ended by hanging up raises CallHungUp after it is noted."""
        directory = self.ctx.settings.effective_recordings_dir
        directory.mkdir(parents=True, exist_ok=True)
        base = directory / f"{_SAFE.sub('_', self.call.unique_id)}-{name}"
        recording = self.call.record(
            str(base), escape_digits=escape_digits, timeout_ms=timeout_ms, silence_s=silence_s
        )
        if keep:
            self.step(f"recorded:{name}", recording=recording.path, ended_by=recording.ended_by)
        if recording.ended_by == "hangup":
            raise CallHungUp(f"caller hung up while recording {name}")
        return recording

    # --- endings --------------------------------------------------------------------------

    def to_agent(self, reason: str, *, case_code: str | None = None, **extra: str) -> None:
        """Hand the call to the agents' queue: the dialplan runs Queue() after the flow returns,
        with the case (or the partial registration) in channel variables for the agent."""
        self.call.set_variable(NEXT, "agent")
        self.call.set_variable(REASON, reason)
        if case_code:
            self.call.set_variable(CASE, case_code)
        for name, value in extra.items():
            self.call.set_variable(f"HOTLINE_{name.upper()}", value)
        self.step("agent", reason=reason)
        self.say("hotline/transfer-agent")
        self.finish(CallOutcome.AGENT)

    def goodbye(self) -> None:
        self.say("hotline/goodbye")
        self.call.set_variable(NEXT, "hangup")


def caller_e164(caller_id: str) -> str | None:
    """The caller ID as E.164, or None when it is withheld or not a Vietnamese number."""
    try:
        return normalize_phone(caller_id or "")
    except ValidationError:
        return None


def audio_seconds(path: str) -> float | None:
    """Length of a WAV recording, or None when it cannot be read here (Asterisk may write to
    storage this process does not see: the recording is then assumed to hold speech)."""
    try:
        with wave.open(str(Path(path)), "rb") as audio:
            return audio.getnframes() / float(audio.getframerate() or 8000)
    except (OSError, wave.Error, EOFError):
        return None


def said_something(recording: Recording) -> bool:
    seconds = audio_seconds(recording.path)
    return seconds is None or seconds >= MIN_AUDIO_S


def queue_transcription(case_id: int) -> None:
    """Queue a recording's transcription on the speech workers, after the commit. If the
    broker is down the speech sweep queues it later: the case is already stored."""
    from intake.tasks import transcribe_case_task

    try:
        transcribe_case_task.delay(case_id)
    except Exception:
        log.exception("case %s: could not queue its transcription; the sweep will", case_id)
