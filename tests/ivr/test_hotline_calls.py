"""Whole hotline calls through the real protocol: `hotline agi serve` runs the `hotline` flow as a
process, Asterisk is played by the socket peer, and the test reads the SQLite database the server
writes: the `calls` row, the case or registration, the SMS in the outbox, and a caller never left
waiting without a prompt."""

from __future__ import annotations

import itertools
import time
from collections.abc import Callable, Sequence
from pathlib import Path

import pytest
from sqlalchemy import select

from intake.models import CallOutcome, Case, CaseKind, Channel, Registration
from intake.services.cases import is_draft
from ivr.prompts import PROMPTS
from tests.fixtures.speech import say
from tests.ivr.agi_peer import Action, CallResult, Drop, HangUp, Press, Say, Silence
from tests.ivr.call_records import (
    case_reported_by,
    check_complaint_by_speech,
    check_registration,
    sms_to,
    steps,
    the_call,
)
from tests.ivr.conftest import HOTLINE_ENV, AgiServerProcess

pytestmark = pytest.mark.agi

CCCD = "046085001234"  # Thừa Thiên Huế, a man born in 1985
UNREACHABLE_DB = "postgresql+psycopg://hotline@127.0.0.1:1/none"
_numbers = itertools.count(1)


def new_caller() -> str:
    """A caller ID of its own for each call: the database is shared by the module's calls."""
    return f"+8491200{next(_numbers):04d}"


def place(
    server: AgiServerProcess,
    caller: str,
    actions: Sequence[Action] = (),
    *,
    failing: bool = False,
    **peer_options: object,
) -> CallResult:
    """One `hotline` call: it never leaves the caller in silence, plays only prompts `make
    prompts` generates, and leaves neither a traceback nor the caller's number in the log
    (unless `failing`: the flow is meant to fail)."""
    tracebacks = server.log_text().count("Traceback")
    result = server.peer(caller=caller, **peer_options).call("hotline", list(actions))
    assert result.closed_by_server
    assert result.silence_problems() == [], result.exchanges
    assert [prompt for prompt in result.prompts if prompt not in PROMPTS] == []
    log = server.log_text()
    assert caller not in log and caller[3:] not in log
    assert failing or log.count("Traceback") == tracebacks
    return result


def unique_id(result: CallResult) -> str:
    return result.env["agi_uniqueid"]


@pytest.fixture
def spoken(tmp_path: Path) -> Callable[[str], Path]:
    """Vietnamese speech as a caller's telephone audio (espeak-ng + sox)."""
    names = itertools.count(1)
    return lambda text: say(text, tmp_path / f"said-{next(names)}.wav")


def test_complaint_by_keypad(
    hotline_server: AgiServerProcess, spoken: Callable[[str], Path]
) -> None:
    caller = new_caller()
    audio = spoken("Rác thải đổ trộm ở kiệt 12 Nguyễn Huệ, phường Phú Hội, ba ngày chưa dọn")
    # Menu 1, the complaint (ended with #), category 1 (environment), 1 to confirm.
    result = place(hotline_server, caller, [Press("1"), Say(audio, "dtmf"), Press("1"), Press("1")])

    record_file = next(e for e in result.exchanges if e.name == "RECORD FILE")
    assert Path(record_file.args[0]).parent == hotline_server.var_dir / "recordings"
    with hotline_server.runtime.sessions() as session:
        record = the_call(session, unique_id(result))
        case = session.get(Case, record.case_id)
        assert case is not None and record.outcome == CallOutcome.CASE_CREATED
        assert record.caller_e164 == caller and record.dnid == "19001080"
        assert record.ended_at is not None
        assert steps(record) == [
            "menu",
            "complaint",
            "recorded:complaint",
            "transcript",
            "category",
            "confirm",
            "case_created",
        ]
        assert case.channel == Channel.VOICE and case.kind == CaseKind.COMPLAINT
        assert case.category is not None and case.category.code == "environment"
        assert case.intake_key == f"call:{unique_id(result)}" and not is_draft(case)
        assert case.recording_path is not None and record.recordings == [case.recording_path]
        assert Path(case.recording_path).read_bytes() == audio.read_bytes()
        messages = sms_to(session, caller)
        assert len(messages) == 1 and case.code in messages[0].body
        assert result.digits_said == [case.code_digits, case.code_digits]
    assert result.variables["HOTLINE_NEXT"] == "hangup"
    assert result.prompts[:2] == ["hotline/greeting", "hotline/main-menu"]
    assert "hotline/category/environment" in result.prompts
    assert "hotline/speak-now" not in result.prompts  # keypad-only without a model
    assert result.prompts[-1] == "hotline/goodbye"


def test_complaint_by_speech(
    speech_hotline_server: AgiServerProcess, speech_audio: dict[str, Path]
) -> None:
    caller = new_caller()
    # The menu and the confirmation are answered by voice (nothing keyed: each question times
    # out, then the caller speaks after the beep); the transcript is unsure, so the category
    # is keyed.
    actions: list[Action] = [
        Silence(),
        Say(speech_audio["menu_one"]),
        Say(speech_audio["complaint"], "dtmf"),
        Press("3"),
        Silence(),
        Say(speech_audio["confirm_yes"]),
    ]
    result = place(speech_hotline_server, caller, actions)

    with speech_hotline_server.runtime.sessions() as session:
        case = check_complaint_by_speech(session, the_call(session, unique_id(result)))
        assert len(sms_to(session, caller)) == 1
        assert result.digits_said == [case.code_digits, case.code_digits]
    assert result.prompts.count("hotline/speak-now") == 2
    assert result.prompts[-1] == "hotline/goodbye"


def test_registration(hotline_server: AgiServerProcess, spoken: Callable[[str], Path]) -> None:
    caller = new_caller()
    name = spoken("Nguyễn Văn An, mười hai Lê Lợi, phường Phú Hội")
    actions: list[Action] = [
        Press("2"),
        Press(f"{CCCD}#"),
        Press("15061985"),
        Say(name, "dtmf"),
        Press("13"),  # Phú Hội on the posted list
    ]
    result = place(hotline_server, caller, actions)

    with hotline_server.runtime.sessions() as session:
        case = check_registration(session, the_call(session, unique_id(result)), CCCD, caller)
        messages = sms_to(session, caller)
        assert len(messages) == 1 and case.code in messages[0].body
        assert result.digits_said == [case.code_digits, case.code_digits]
    assert result.variables["HOTLINE_NEXT"] == "hangup"
    assert result.prompts[-1] == "hotline/goodbye"


def test_status_by_code_digits(hotline_server: AgiServerProcess) -> None:
    caller = new_caller()
    _, digits = case_reported_by(hotline_server.runtime.sessions, new_caller())
    result = place(hotline_server, caller, [Press("3"), Press(f"{digits}#")])

    assert result.digits_said == [digits]
    assert result.prompts[-2:] == ["hotline/status/new", "hotline/goodbye"]
    with hotline_server.runtime.sessions() as session:
        record = the_call(session, unique_id(result))
        assert record.outcome == CallOutcome.STATUS_TOLD and record.case_id is None
        assert record.steps[-1]["step"] == "status_told" and record.steps[-1]["by"] == "code"
        assert sms_to(session, caller) == []


def test_status_by_caller_id(hotline_server: AgiServerProcess) -> None:
    caller = new_caller()
    _, digits = case_reported_by(hotline_server.runtime.sessions, caller)
    result = place(hotline_server, caller, [Press("3"), Press("#")])  # "#" alone: my cases

    assert result.digits_said == [digits]
    assert "hotline/status/new" in result.prompts
    with hotline_server.runtime.sessions() as session:
        record = the_call(session, unique_id(result))
        assert record.outcome == CallOutcome.STATUS_TOLD
        assert record.steps[-1]["by"] == "caller_id"
        assert len(sms_to(session, caller)) == 1  # the SMS case's own; the call sent none


def test_agent_on_request(hotline_server: AgiServerProcess) -> None:
    caller = new_caller()
    result = place(hotline_server, caller, [Press("0")])

    assert result.variables == {"HOTLINE_NEXT": "agent", "HOTLINE_REASON": "caller_request"}
    assert result.prompts[-1] == "hotline/transfer-agent"
    assert "HANGUP" not in result.names  # back to the dialplan, which queues the call
    with hotline_server.runtime.sessions() as session:
        record = the_call(session, unique_id(result))
        assert record.outcome == CallOutcome.AGENT and steps(record) == ["menu", "agent"]
        assert sms_to(session, caller) == []


def test_hanging_up_mid_complaint_keeps_a_draft(
    hotline_server: AgiServerProcess, spoken: Callable[[str], Path]
) -> None:
    caller = new_caller()
    audio = spoken("Cống thoát nước trước nhà số 5 Chi Lăng bị tắc")
    # The complaint is recorded, then the caller hangs up at the category question.
    result = place(hotline_server, caller, [Press("1"), Say(audio, "dtmf"), HangUp()])

    assert result.hung_up_by_caller
    assert result.exchanges[-1].name == "GET DATA"
    assert result.exchanges[-1].args[0] == "hotline/complaint/category-menu"
    with hotline_server.runtime.sessions() as session:
        record = the_call(session, unique_id(result))
        assert record.outcome == CallOutcome.HUNG_UP and record.ended_at is not None
        case = session.get(Case, record.case_id)
        assert case is not None and is_draft(case)
        assert case.category is None and case.recording_path in record.recordings
        assert len(sms_to(session, caller)) == 1  # the caller still gets the code
        assert steps(record)[-1] == "hung_up"


def test_a_connection_lost_mid_command_keeps_what_was_said(
    hotline_server: AgiServerProcess, spoken: Callable[[str], Path]
) -> None:
    """Asterisk vanishes while the server waits for an answer (no HANGUP line, no answer: a
    crash or a network cut). The call process keeps what was said as a draft case, the
    caller still gets its code by SMS, and the server goes on taking calls."""
    caller = new_caller()
    audio = spoken("Cây đổ chắn ngang đường Lê Lợi trước trường Quốc Học")
    peer = hotline_server.peer(caller=caller)
    result = peer.call("hotline", [Press("1"), Say(audio, "dtmf"), Drop()])
    assert result.dropped and result.exchanges[-1].name == "GET DATA"
    deadline = time.monotonic() + 20
    while True:
        with hotline_server.runtime.sessions() as session:
            record = the_call(session, unique_id(result))
            if record.ended_at is not None or time.monotonic() > deadline:
                break
        time.sleep(0.1)
    with hotline_server.runtime.sessions() as session:
        record = the_call(session, unique_id(result))
        assert record.outcome == CallOutcome.HUNG_UP and record.ended_at is not None
        case = session.get(Case, record.case_id)
        assert case is not None and is_draft(case)
        assert len(sms_to(session, caller)) == 1
    assert "Traceback" not in hotline_server.log_text().split(unique_id(result))[-1]
    after = place(hotline_server, new_caller(), [Press("0")])
    assert after.variables["HOTLINE_NEXT"] == "agent"


def test_hanging_up_during_a_prompt_is_a_hang_up(hotline_server: AgiServerProcess) -> None:
    caller = new_caller()
    result = place(hotline_server, caller, [HangUp(during_prompt=True)])

    # The greeting was cut short (-1, like a missing file); the dead channel tells them apart.
    assert result.names == ["ANSWER", "STREAM FILE", "CHANNEL STATUS"]
    assert result.exchanges[1].answer.startswith("200 result=-1")
    assert result.exchanges[2].answer.startswith("511 ")
    with hotline_server.runtime.sessions() as session:
        record = the_call(session, unique_id(result))
        assert record.outcome == CallOutcome.HUNG_UP and record.case_id is None
        assert steps(record) == ["hung_up"]


def test_a_missing_prompt_is_skipped_and_the_call_goes_on(
    hotline_server: AgiServerProcess,
) -> None:
    caller = new_caller()
    missing = frozenset({"hotline/greeting"})
    result = place(hotline_server, caller, [Press("0")], missing_prompts=missing)

    greeting = result.exchanges[1]
    assert greeting.args[0] == "hotline/greeting" and greeting.answer == "200 result=-1 endpos=0"
    assert result.names[2] == "CHANNEL STATUS" and result.exchanges[2].answer == "200 result=6"
    assert result.variables["HOTLINE_REASON"] == "caller_request"
    assert result.prompts[-1] == "hotline/transfer-agent"
    with hotline_server.runtime.sessions() as session:
        assert the_call(session, unique_id(result)).outcome == CallOutcome.AGENT
    assert "prompt hotline/greeting was not played" in hotline_server.log_text()


@pytest.mark.parametrize(
    ("keys", "step", "told", "reason"),
    [
        (["7", "*"], "menu", "hotline/invalid", "no_choice"),
        (
            ["2", "123#", "999999999999"],
            "cccd",
            "hotline/registration/cccd-invalid",
            "registration_invalid_cccd",
        ),
        (["3", "2611269999#", "42#"], "status_not_found", "hotline/status/not-found", None),
    ],
    ids=["main-menu", "cccd", "case-code"],
)
def test_garbage_input_twice_goes_to_an_agent(
    hotline_server: AgiServerProcess, keys: list[str], step: str, told: str, reason: str | None
) -> None:
    caller = new_caller()
    result = place(hotline_server, caller, [Press(key) for key in keys])

    assert result.prompts.count(told) == 2
    assert result.variables["HOTLINE_NEXT"] == "agent"
    assert result.variables["HOTLINE_REASON"] == (reason or step)
    assert result.prompts[-1] == "hotline/transfer-agent"
    with hotline_server.runtime.sessions() as session:
        record = the_call(session, unique_id(result))
        assert record.outcome == CallOutcome.AGENT and record.case_id is None
        assert [s.get("attempt") for s in record.steps if s["step"] == step] == [1, 2]
        assert steps(record)[-1] == "agent"
        registered = select(Registration.id).where(Registration.phone_e164 == caller)
        assert session.scalar(registered) is None
        assert sms_to(session, caller) == []


def test_an_unreachable_database_still_reaches_an_agent(
    start_agi_server: Callable[..., AgiServerProcess],
) -> None:
    server = start_agi_server(env={**HOTLINE_ENV, "DATABASE_URL": UNREACHABLE_DB})
    result = place(server, new_caller(), [Press("1")], failing=True)

    assert result.variables == {"HOTLINE_NEXT": "agent", "HOTLINE_REASON": "error"}
    assert result.prompts == ["hotline/error", "hotline/transfer-agent"]  # sorry, then a person
    assert "handing it to an agent" in server.log_text()
