"""Flows that exist only for the server's tests (loaded with `--flows-module`)."""

from __future__ import annotations

import time

from ivr.call import AudioSource, Call
from ivr.registry import FlowContext, flow


class FlowBug(RuntimeError):
    pass


@flow("test-crash")
def crash(call: Call, ctx: FlowContext) -> None:
    """Answers, plays a prompt, then fails the way a bug does (the message holds a number)."""
    call.answer()
    call.stream("hotline/welcome")
    raise FlowBug(f"bug while handling {call.caller_id}")


@flow("test-slow")
def slow(call: Call, ctx: FlowContext) -> None:
    """Holds the line `agi_arg_1` seconds (a long prompt), then says goodbye."""
    call.answer()
    call.stream("hotline/welcome")
    time.sleep(float(ctx.args[0]) if ctx.args else 1.0)
    call.stream("hotline/goodbye")


@flow("test-env")
def env(call: Call, ctx: FlowContext) -> None:
    """Reports what the adapter parsed from the header, through channel variables."""
    call.set_variable("SEEN_SCRIPT", call.script)
    call.set_variable("SEEN_CALLER", call.caller_id)
    call.set_variable("SEEN_UNIQUEID", call.unique_id)
    call.set_variable("SEEN_ARGS", "|".join(ctx.args))
    call.set_variable("SEEN_LANGUAGE", call.env.get("agi_language", ""))
    call.set_variable("SEEN_DB", ctx.settings.effective_database_url.split(":", 1)[0])
    call.set_variable("SEEN_VAR", call.get_variable("PRESET") or "<none>")
    call.stream("hotline/goodbye")


@flow("test-record")
def record(call: Call, ctx: FlowContext) -> None:
    """Records into `agi_arg_1` and reports how it ended."""
    call.stream("hotline/after-the-beep")
    recording = call.record(ctx.args[0], silence_s=3)
    call.set_variable("RECORDED", f"{recording.ended_by}:{recording.digit or ''}")
    call.stream("hotline/goodbye")


@flow("test-audio")
def audio(call: Call, ctx: FlowContext) -> None:
    """EAGI: counts the caller's audio bytes and reads the count back."""
    assert isinstance(call, AudioSource), "run this flow with `hotline agi eagi`"
    total = sum(len(chunk) for chunk in call.audio())
    call.set_variable("AUDIO_BYTES", str(total))
    call.say_digits(str(total))
