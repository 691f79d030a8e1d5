"""Whole calls through the hotline flow with an in-process fake call, on a seeded SQLite
database (unit tier): the rows written, the SMS queued, and no input without a prompt."""

from __future__ import annotations

import dataclasses
import wave
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from intake.models import (
    CallOutcome,
    Case,
    CaseKind,
    Channel,
    Priority,
    Registration,
)
from intake.runtime import Runtime, set_runtime
from intake.services.cases import is_draft
from ivr.flows.hotline import hotline, is_open
from ivr.prompts import PROMPTS
from ivr.registry import FlowContext, lookup
from ivr.speech import Heard, Speech
from tests.conftest import NOW
from tests.ivr.call_records import (
    case_reported_by,
    check_complaint_by_speech,
    check_registration,
    sms_to,
    steps,
    the_call,
)
from tests.ivr.fake_call import FakeCall, FakeEagiCall, Rec

CALLER = "+84905123456"
CCCD = "046085001234"  # Thừa Thiên Huế, a man born in 1985
UNIQUE_ID = FakeCall.unique_id


@pytest.fixture
def make_ctx(channel_runtime: Runtime, tmp_path: Path) -> Iterator[Callable[..., FlowContext]]:
    def factory(*, clock: datetime = NOW, **overrides: Any) -> FlowContext:
        settings = channel_runtime.settings.with_overrides(
            ivr_recordings_dir=str(tmp_path / "recordings"), **overrides
        )
        runtime = dataclasses.replace(channel_runtime, settings=settings)
        set_runtime(runtime)  # the eagerly run transcription task sees the same settings
        return FlowContext(runtime=runtime, clock=lambda: clock)

    yield factory


def run(call: FakeCall, ctx: FlowContext) -> FakeCall:
    hotline(call, ctx)
    assert call.unprompted_inputs() == [], call.ops
    unknown = [prompt for prompt in call.prompts() if prompt not in PROMPTS]
    assert unknown == []
    return call


def db(ctx: FlowContext) -> Session:
    return ctx.runtime.sessions()


def test_the_flow_is_registered_as_hotline() -> None:
    assert lookup("hotline") is hotline


def test_complaint_by_keypad_without_a_speech_model(
    make_ctx: Callable[..., FlowContext], speech_audio: dict[str, Path]
) -> None:
    ctx = make_ctx()
    call = run(
        FakeCall(keys=["1", "1", "1"], recordings=[Rec(speech_audio["complaint"])]),
        ctx,
    )
    with db(ctx) as session:
        record = the_call(session, UNIQUE_ID)
        case = session.get(Case, record.case_id)
        assert case is not None
        assert record.outcome == CallOutcome.CASE_CREATED
        assert record.caller_e164 == CALLER and record.dnid == "19001080"
        assert record.ended_at is not None
        assert steps(record)[:4] == ["menu", "complaint", "recorded:complaint", "transcript"]
        assert "category" in steps(record) and "case_created" in steps(record)
        assert record.recordings == [case.recording_path]
        assert case.channel == Channel.VOICE and case.kind == CaseKind.COMPLAINT
        assert case.category is not None and case.category.code == "environment"
        assert case.intake_key == "call:1764122400.42"
        assert case.recording_path and Path(case.recording_path).is_file()
        # No model: the queued transcription says so on the timeline; agents listen instead.
        assert "transcription_unavailable" in [event.action for event in case.events]
        messages = sms_to(session, CALLER)
        assert len(messages) == 1 and case.code in messages[0].body
        assert call.digits_said() == [case.code_digits, case.code_digits]
    assert call.variables["HOTLINE_NEXT"] == "hangup"
    assert call.prompts()[:2] == ["hotline/greeting", "hotline/main-menu"]
    assert "hotline/category/environment" in call.prompts()
    assert "hotline/speak-now" not in call.prompts()  # keypad-only without a model


def test_menus_are_heard_live_on_an_eagi_call(
    make_ctx: Callable[..., FlowContext],
    speech_audio: dict[str, Path],
    tiny_model_dir: Path,
) -> None:
    """With EAGI the caller's audio streams into the recogniser: the menu and the confirmation
    are understood as they are said, with no RECORD FILE for them."""
    ctx = make_ctx(vosk_model_path=str(tiny_model_dir))

    def pcm(path: Path) -> bytes:
        with wave.open(str(path)) as audio:
            return audio.readframes(audio.getnframes())

    call = run(
        FakeEagiCall(
            keys=["", "3", ""],
            recordings=[Rec(speech_audio["complaint"])],
            utterances=[pcm(speech_audio["menu_one"]), pcm(speech_audio["confirm_yes"])],
        ),
        ctx,
    )
    with db(ctx) as session:
        record = the_call(session, UNIQUE_ID)
        check_complaint_by_speech(session, record)
        listened = [step for step in record.steps if step["step"].endswith("-listened")]
        assert [step["heard"] for step in listened] == ["một", "đúng"]
    assert call.names().count("listen") == 2 and call.discarded == 2
    assert call.names().count("record") == 1  # only the complaint itself is recorded


def test_complaint_by_speech_with_a_model(
    make_ctx: Callable[..., FlowContext],
    speech_audio: dict[str, Path],
    tiny_model_dir: Path,
) -> None:
    ctx = make_ctx(vosk_model_path=str(tiny_model_dir))
    call = run(
        FakeCall(
            # The menu and the confirmation are answered by voice (nothing keyed); the
            # transcript is unsure, so the category is keyed.
            keys=["", "3", ""],
            recordings=[
                Rec(speech_audio["menu_one"], "silence", None),
                Rec(speech_audio["complaint"]),
                Rec(speech_audio["confirm_yes"], "silence", None),
            ],
        ),
        ctx,
    )
    with db(ctx) as session:
        check_complaint_by_speech(session, the_call(session, UNIQUE_ID))
        assert len(sms_to(session, CALLER)) == 1
    assert call.prompts().count("hotline/speak-now") == 2


def test_registration_by_keypad_and_voice(
    make_ctx: Callable[..., FlowContext], speech_audio: dict[str, Path]
) -> None:
    ctx = make_ctx()
    call = run(
        FakeCall(keys=["2", CCCD, "15061985", "13"], recordings=[Rec(speech_audio["complaint"])]),
        ctx,
    )
    with db(ctx) as session:
        case = check_registration(session, the_call(session, UNIQUE_ID), CCCD, CALLER)
        assert "transcription_unavailable" in [event.action for event in case.events]
        assert len(sms_to(session, CALLER)) == 1 and case.code in sms_to(session, CALLER)[0].body
        assert call.digits_said() == [case.code_digits, case.code_digits]


def test_invalid_cccd_twice_goes_to_an_agent(make_ctx: Callable[..., FlowContext]) -> None:
    ctx = make_ctx()
    call = run(FakeCall(keys=["2", "123", "999999999999"]), ctx)
    assert call.variables["HOTLINE_NEXT"] == "agent"
    assert call.variables["HOTLINE_REASON"] == "registration_invalid_cccd"
    assert call.prompts().count("hotline/registration/cccd-invalid") == 2
    assert call.prompts()[-1] == "hotline/transfer-agent"
    with db(ctx) as session:
        assert the_call(session, UNIQUE_ID).outcome == CallOutcome.AGENT
        assert session.scalar(select(Registration.id)) is None


def test_a_registered_cccd_is_told_kindly(
    make_ctx: Callable[..., FlowContext], speech_audio: dict[str, Path]
) -> None:
    ctx = make_ctx()
    keys = ["2", CCCD, "15061985", "#"]
    run(FakeCall(keys=keys, recordings=[Rec(speech_audio["complaint"])]), ctx)
    second = run(
        FakeCall(
            unique_id="1764122999.7",
            caller_id="0914000111",
            keys=keys,
            recordings=[Rec(speech_audio["complaint"])],
        ),
        ctx,
    )
    with db(ctx) as session:
        first_case = session.scalars(select(Case)).one()
        assert len(list(session.scalars(select(Registration)))) == 1
        record = the_call(session, "1764122999.7")
        assert record.outcome == CallOutcome.STATUS_TOLD
        assert "registration_duplicate" in steps(record)
    assert "hotline/registration/duplicate" in second.prompts()
    assert second.digits_said() == [first_case.code_digits]
    assert second.variables["HOTLINE_NEXT"] == "hangup"


def test_status_by_case_code(make_ctx: Callable[..., FlowContext]) -> None:
    ctx = make_ctx()
    _, digits = case_reported_by(ctx.runtime.sessions, "+84914000222")
    call = run(FakeCall(keys=["3", digits]), ctx)
    assert call.digits_said() == [digits]
    assert call.prompts()[-2:] == ["hotline/status/new", "hotline/goodbye"]
    with db(ctx) as session:
        assert the_call(session, UNIQUE_ID).outcome == CallOutcome.STATUS_TOLD


def test_status_by_caller_id(make_ctx: Callable[..., FlowContext]) -> None:
    ctx = make_ctx()
    _, digits = case_reported_by(ctx.runtime.sessions, CALLER)
    call = run(FakeCall(keys=["3", ""]), ctx)
    assert call.digits_said() == [digits]
    assert "hotline/status/new" in call.prompts()
    with db(ctx) as session:
        record = the_call(session, UNIQUE_ID)
        assert record.outcome == CallOutcome.STATUS_TOLD
        assert record.steps[-1]["by"] == "caller_id"


def test_an_unknown_code_twice_goes_to_an_agent(make_ctx: Callable[..., FlowContext]) -> None:
    ctx = make_ctx()
    call = run(FakeCall(keys=["3", "2611269999", "2611269998"]), ctx)
    assert call.prompts().count("hotline/status/not-found") == 2
    assert call.variables["HOTLINE_NEXT"] == "agent"


def test_agent_on_request(make_ctx: Callable[..., FlowContext]) -> None:
    ctx = make_ctx()
    call = run(FakeCall(keys=["0"]), ctx)
    assert call.variables == {"HOTLINE_NEXT": "agent", "HOTLINE_REASON": "caller_request"}
    with db(ctx) as session:
        record = the_call(session, UNIQUE_ID)
        assert record.outcome == CallOutcome.AGENT and steps(record) == ["menu", "agent"]


def test_a_caller_hanging_up_keeps_the_complaint_as_a_draft(
    make_ctx: Callable[..., FlowContext], speech_audio: dict[str, Path]
) -> None:
    ctx = make_ctx()
    # answer, greeting, menu, describe, record: then the caller hangs up at the category menu.
    call = FakeCall(keys=["1"], recordings=[Rec(speech_audio["complaint"])], hang_up_after=5)
    run(call, ctx)
    assert call.names()[-1] == "caller_hung_up"
    with db(ctx) as session:
        record = the_call(session, UNIQUE_ID)
        assert record.outcome == CallOutcome.HUNG_UP and record.ended_at is not None
        case = session.get(Case, record.case_id)
        assert case is not None and is_draft(case)
        assert case.category is None and case.recording_path in record.recordings
        assert len(sms_to(session, CALLER)) == 1  # the caller still gets the code
        assert steps(record)[-1] == "hung_up"


def test_hanging_up_before_saying_anything_leaves_no_case(
    make_ctx: Callable[..., FlowContext],
) -> None:
    ctx = make_ctx()
    run(FakeCall(keys=["1"], hang_up_after=3), ctx)
    with db(ctx) as session:
        record = the_call(session, UNIQUE_ID)
        assert record.outcome == CallOutcome.HUNG_UP and record.case_id is None
        assert session.scalar(select(Case.id)) is None


def test_garbage_input_goes_to_an_agent(make_ctx: Callable[..., FlowContext]) -> None:
    ctx = make_ctx()
    call = run(FakeCall(keys=["7", "*"]), ctx)
    assert call.prompts().count("hotline/invalid") == 2
    assert call.variables["HOTLINE_REASON"] == "no_choice"
    with db(ctx) as session:
        record = the_call(session, UNIQUE_ID)
        assert [step.get("invalid") for step in record.steps[:2]] == ["7", "*"]
        assert record.outcome == CallOutcome.AGENT


def test_an_unreachable_database_still_reaches_an_agent(
    make_ctx: Callable[..., FlowContext],
) -> None:
    ctx = make_ctx()
    broken = Runtime.from_settings(
        ctx.settings.with_overrides(database_url="postgresql+psycopg://hotline@127.0.0.1:1/none")
    )
    try:
        call = run(FakeCall(keys=["1"]), FlowContext(runtime=broken, clock=lambda: NOW))
    finally:
        broken.close()
    assert call.variables == {"HOTLINE_NEXT": "agent", "HOTLINE_REASON": "error"}
    assert call.prompts()[-2:] == ["hotline/error", "hotline/transfer-agent"]


def test_after_hours_voicemail_becomes_a_case(
    make_ctx: Callable[..., FlowContext], speech_audio: dict[str, Path]
) -> None:
    late = datetime(2026, 11, 26, 15, 30, tzinfo=UTC)  # 22:30 in Huế
    ctx = make_ctx(clock=late, ivr_open_hours="07:00-21:00")
    call = run(FakeCall(recordings=[Rec(speech_audio["complaint"])]), ctx)
    assert "hotline/main-menu" not in call.prompts()
    with db(ctx) as session:
        record = the_call(session, UNIQUE_ID)
        case = session.get(Case, record.case_id)
        assert record.outcome == CallOutcome.VOICEMAIL and case is not None
        assert case.recording_path and case.channel == Channel.VOICE
        assert "transcription_unavailable" in [event.action for event in case.events]
        assert len(sms_to(session, CALLER)) == 1
        assert call.digits_said() == [case.code_digits, case.code_digits]


def test_emergency_words_escalate_at_once(
    make_ctx: Callable[..., FlowContext],
    speech_audio: dict[str, Path],
    tiny_model_dir: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    def heard(self: Speech, recording: str) -> Heard:
        return Heard("nhà bên cạnh đang cháy lớn có người kẹt bên trong", 0.9, 3.0, "test")

    monkeypatch.setattr(Speech, "transcribe", heard)
    ctx = make_ctx(vosk_model_path=str(tiny_model_dir))
    call = run(FakeCall(keys=["1"], recordings=[Rec(speech_audio["complaint"])]), ctx)
    assert "hotline/emergency" in call.prompts()
    assert call.variables["HOTLINE_NEXT"] == "agent"
    assert call.variables["HOTLINE_REASON"] == "emergency"
    with db(ctx) as session:
        record = the_call(session, UNIQUE_ID)
        case = session.get(Case, record.case_id)
        assert record.outcome == CallOutcome.EMERGENCY and case is not None
        assert case.priority == int(Priority.EMERGENCY)
        assert call.variables["HOTLINE_CASE"] == case.code


@pytest.mark.parametrize(
    ("hours", "local", "expected"),
    [
        ("07:00-21:00", "06:59", False),
        ("07:00-21:00", "07:00", True),
        ("07:00-21:00", "21:00", False),
        ("22:00-06:00", "23:30", True),
        ("22:00-06:00", "12:00", False),
        ("00:00-24:00", "03:00", True),
    ],
)
def test_opening_hours_are_local_time(hours: str, local: str, expected: bool) -> None:
    hour, minute = (int(part) for part in local.split(":"))
    moment = datetime(2026, 11, 26, (hour - 7) % 24, minute, tzinfo=UTC)
    assert is_open(hours, moment) is expected
