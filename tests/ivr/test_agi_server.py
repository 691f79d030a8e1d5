"""`hotline agi serve` as a real process, driven by a peer speaking Asterisk's AGI protocol."""

from __future__ import annotations

import contextlib
import os
import socket
import subprocess
import sys
import threading
import time
import wave
from collections.abc import Callable
from pathlib import Path

import pytest

from tests.ivr.agi_peer import AgiPeer, CallResult, Exchange, HangUp, Press, Say, Silence
from tests.ivr.conftest import TEST_FLOWS, AgiServerProcess, server_env

pytestmark = pytest.mark.agi

CALLER = "+84905123456"
FLOWS = ["--flows-module", TEST_FLOWS]
MOVE_TO_FD_3 = "import os, sys; os.dup2(int(sys.argv[1]), 3); os.execv(sys.argv[2], sys.argv[2:])"
EAGI_COMMAND = [sys.executable, "-m", "intake", "agi", "eagi", "test-audio", *FLOWS]


def _children(pid: int) -> list[int]:
    path = Path(f"/proc/{pid}/task/{pid}/children")
    return [int(p) for p in path.read_text().split()] if path.exists() else []


def _wait_for(predicate: Callable[[], bool], timeout: float = 10.0) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(0.02)
    return predicate()


def _wav(path: Path, seconds: float = 1.0) -> Path:
    with wave.open(str(path), "wb") as out:
        out.setnchannels(1)
        out.setsampwidth(2)
        out.setframerate(8000)
        out.writeframes(b"\x10\x00" * int(8000 * seconds))
    return path


def test_header_is_parsed_and_the_flow_chosen_by_script_name(agi_server: AgiServerProcess):
    result = agi_server.peer(caller=CALLER).call(
        "test-env", args=("a b", "2"), channel_vars={"PRESET": "set by dialplan"}
    )
    assert result.variables["SEEN_SCRIPT"] == "test-env"
    assert result.variables["SEEN_CALLER"] == CALLER
    assert result.variables["SEEN_UNIQUEID"].startswith("1764700000.")
    assert result.variables["SEEN_ARGS"] == "a b|2"
    assert result.variables["SEEN_LANGUAGE"] == "vi"
    assert result.variables["SEEN_DB"] == "sqlite"
    assert result.variables["SEEN_VAR"] == "set by dialplan"
    assert result.closed_by_server and result.silence_problems() == []


def test_echo_reads_back_the_digits_and_says_goodbye(agi_server: AgiServerProcess):
    result = agi_server.peer().call("echo", [Press("123"), Press("0459")], args=("3",))
    said = [e.args[0] for e in result.exchanges if e.name == "SAY DIGITS"]
    assert said == ["123", "0459"]
    assert result.names[0] == "ANSWER" and result.names[-1] == "HANGUP"
    assert result.prompts[-1] == "hotline/goodbye"
    assert result.silence_problems() == []


def test_echo_zero_sends_the_caller_to_an_agent(agi_server: AgiServerProcess):
    result = agi_server.peer().call("echo", [Press("0")])
    assert result.variables["HOTLINE_NEXT"] == "agent"
    assert result.prompts[-1] == "hotline/connecting-agent"
    assert "HANGUP" not in result.names  # back to the dialplan, which queues the call
    assert result.silence_problems() == []


def test_script_name_with_a_path_or_query_is_understood(agi_server: AgiServerProcess):
    peer = agi_server.peer()
    env = peer.header("test-env")
    env["agi_network_script"] = "/test-env?mode=x"
    assert peer.call("", env=env).variables["SEEN_SCRIPT"] == "test-env"


def test_unknown_script_plays_the_fallback_and_queues_for_an_agent(
    agi_server: AgiServerProcess,
):
    result = agi_server.peer().call("no-such-flow")
    assert result.variables == {"HOTLINE_NEXT": "agent", "HOTLINE_FALLBACK": "unknown-script"}
    assert result.prompts == ["hotline/sorry-transfer"]
    assert result.silence_problems() == []
    assert "unknown AGI script 'no-such-flow'" in agi_server.log_text()


def test_a_crashing_flow_ends_with_a_prompt_and_an_agent(agi_server: AgiServerProcess):
    result = agi_server.peer(caller=CALLER).call("test-crash")
    assert result.names == ["ANSWER", "STREAM FILE", "SET VARIABLE", "SET VARIABLE", "STREAM FILE"]
    assert result.variables["HOTLINE_NEXT"] == "agent"
    assert result.variables["HOTLINE_FALLBACK"] == "error:FlowBug"
    assert result.prompts[-1] == "hotline/sorry-transfer"
    assert result.silence_problems() == []
    log = agi_server.log_text()
    assert "flow test-crash failed" in log and "FlowBug: bug while handling +84" in log


@pytest.mark.parametrize("how", ["during GET DATA", "HANGUP line then 511"])
def test_caller_hang_up_ends_the_call_cleanly(agi_server: AgiServerProcess, how: str):
    peer = agi_server.peer()
    before = agi_server.log_text().count("the caller hung up")
    tracebacks = agi_server.log_text().count("Traceback")
    if how == "during GET DATA":
        result = peer.call("echo", [Press("12"), HangUp()])
        assert result.exchanges[-1].name == "GET DATA"
        assert result.exchanges[-1].answer == "200 result=-1"
    else:
        result = peer.call("echo", [Press("12")], hang_up_after=3)
        assert result.exchanges[-1].answer.startswith("511 ")
    assert result.hung_up_by_caller and result.closed_by_server
    assert _wait_for(lambda: agi_server.log_text().count("the caller hung up") > before)
    assert _wait_for(lambda: _children(agi_server.proc.pid) == [])  # reaped, no zombies
    assert agi_server.log_text().count("Traceback") == tracebacks


@pytest.mark.parametrize(
    ("ended_by", "expected"),
    [("dtmf", "dtmf:#"), ("silence", "silence:"), ("timeout", "silence:")],
)
def test_record_file_answers_are_understood(
    agi_server: AgiServerProcess, tmp_path: Path, ended_by: str, expected: str
):
    target = tmp_path / "rec" / "message"
    audio = _wav(tmp_path / "said.wav")
    result = agi_server.peer().call("test-record", [Say(audio, ended_by)], args=(str(target),))
    record = next(e for e in result.exchanges if e.name == "RECORD FILE")
    assert record.args[:4] == (str(target), "wav", "#", "60000")
    assert "BEEP" in record.args and "s=3" in record.args
    assert result.variables["RECORDED"] == expected
    assert (tmp_path / "rec" / "message.wav").read_bytes() == audio.read_bytes()
    assert result.silence_problems() == []


def test_record_file_with_vietnamese_speech_and_a_hang_up(
    agi_server: AgiServerProcess, tmp_path: Path
):
    from tests.fixtures.speech import say

    audio = say("đèn đường hỏng ở kiệt một", tmp_path / "said.wav")
    target = tmp_path / "message"
    result = agi_server.peer().call("test-record", [Say(audio, "hangup")], args=(str(target),))
    assert result.hung_up_by_caller
    assert "RECORDED" not in result.variables  # the flow stopped at its next command
    assert (tmp_path / "message.wav").read_bytes() == audio.read_bytes()


def test_twenty_calls_at_once_are_all_served(agi_server: AgiServerProcess):
    results: list[CallResult] = []
    errors: list[BaseException] = []

    def place(n: int) -> None:
        try:
            peer = agi_server.peer(caller=f"+849051{n:05d}", media_delay_s=0.05)
            results.append(peer.call("echo", [Press(str(n)), Press("99")], args=("3",)))
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=place, args=(n,)) for n in range(1, 21)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert errors == []
    assert len(results) == 20
    for result in results:
        assert result.names[-1] == "HANGUP" and result.silence_problems() == []
    assert _wait_for(lambda: _children(agi_server.proc.pid) == [])


def test_beyond_max_calls_callers_hear_busy_then_connections_close(
    start_agi_server: Callable[..., AgiServerProcess],
):
    server = start_agi_server("--max-calls", "2")
    slow: list[CallResult] = []
    threads = [
        threading.Thread(target=lambda: slow.append(server.peer().call("test-slow", args=("3",))))
        for _ in range(2)
    ]
    for thread in threads:
        thread.start()
    assert _wait_for(lambda: len(_children(server.proc.pid)) == 2)

    busy = server.peer().call("echo")
    assert busy.variables == {"HOTLINE_NEXT": "agent", "HOTLINE_FALLBACK": "busy"}
    assert busy.prompts == ["hotline/lines-busy"]
    assert busy.silence_problems() == []
    assert _wait_for(lambda: len(_children(server.proc.pid)) == 2)  # the busy answer ended

    # A busy answer in progress (we do not answer its first command) takes the last spare
    # place; the next connection is closed at once for the dialplan's AGISTATUS=FAILURE branch.
    with socket.create_connection(("127.0.0.1", server.port), timeout=5) as holder:
        holder.sendall(b"agi_network_script: echo\n\n")
        assert holder.recv(100).startswith(b"SET VARIABLE")
        refused = socket.create_connection(("127.0.0.1", server.port), timeout=5)
        with refused, contextlib.suppress(ConnectionResetError):  # a reset is a refusal too
            refused.sendall(b"agi_network_script: echo\n\n")
            assert refused.recv(100) == b""
    for thread in threads:
        thread.join(timeout=30)
    assert [r.prompts[-1] for r in slow] == ["hotline/goodbye"] * 2
    assert "over capacity" in server.log_text()


def test_sigterm_lets_calls_in_progress_finish(
    start_agi_server: Callable[..., AgiServerProcess],
):
    server = start_agi_server()
    results: list[CallResult] = []
    thread = threading.Thread(
        target=lambda: results.append(server.peer().call("test-slow", args=("1.5",)))
    )
    thread.start()
    assert _wait_for(lambda: len(_children(server.proc.pid)) == 1)
    server.proc.terminate()
    thread.join(timeout=20)
    assert results[0].prompts[-1] == "hotline/goodbye"
    assert server.proc.wait(timeout=20) == 0
    assert "FastAGI stopped" in server.log_text()
    with pytest.raises(OSError):
        socket.create_connection(("127.0.0.1", server.port), timeout=2)


def test_caller_numbers_are_masked_in_the_log(agi_server: AgiServerProcess):
    agi_server.peer(caller=CALLER).call("echo", [Press("1")])
    agi_server.peer(caller=CALLER).call("test-crash")
    log = agi_server.log_text()
    assert "agi_callerid" in log  # pyst2's echo of the header reached the (debug) log …
    assert CALLER not in log and "0905123456" not in log and "905123456" not in log
    assert "+84*******56" in log  # … masked


def _agi_process(
    tmp_path: Path, agi_database: Path, command: str, name: str
) -> subprocess.Popen[bytes]:
    return subprocess.Popen(
        [sys.executable, "-m", "intake", "agi", command, name],
        cwd=tmp_path,
        env=server_env(tmp_path / "var", _db_url(tmp_path, agi_database)),
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )


def _header(script: str) -> bytes:
    env = AgiPeer(0, caller=CALLER).header(script)
    env.update(agi_network="no", agi_enhanced="1.0", agi_request=f"/usr/bin/{script}")
    return ("".join(f"{k}: {v}\n" for k, v in env.items()) + "\n").encode()


def test_eagi_entry_reads_the_callers_audio_on_fd_3(tmp_path: Path, agi_database: Path):
    read_end, write_end = os.pipe()
    audio = bytes(range(256)) * 125  # 32000 bytes: two seconds of 8 kHz slin16
    # The pipe is passed to the child, which moves it to descriptor 3 as Asterisk does.
    proc = subprocess.Popen(
        [sys.executable, "-c", MOVE_TO_FD_3, str(read_end), *EAGI_COMMAND],
        cwd=tmp_path,
        env=server_env(tmp_path / "var", _db_url(tmp_path, agi_database)),
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        pass_fds=(read_end,),
    )
    os.close(read_end)
    os.write(write_end, audio)
    os.close(write_end)
    out, err = proc.communicate(_header("test-audio") + b"200 result=1\n200 result=0\n", 60)
    assert proc.returncode == 0, err.decode()
    assert out.decode().splitlines() == [
        'SET VARIABLE "AUDIO_BYTES" "32000"',
        'SAY DIGITS "32000" ""',
    ]
    assert CALLER.encode() not in err


def _db_url(tmp_path: Path, agi_database: Path) -> str:
    db = tmp_path / "agi.sqlite3"
    db.write_bytes(agi_database.read_bytes())
    return f"sqlite:///{db}"


def test_plain_agi_entry_runs_a_flow_on_stdin_and_stdout(tmp_path: Path, agi_database: Path):
    proc = _agi_process(tmp_path, agi_database, "script", "echo")
    answers = ["200 result=0", "200 result=1", "200 result=0 endpos=1", "200 result= (timeout)"]
    answers += ["200 result=0 endpos=1", "200 result=1"]
    out, err = proc.communicate(_header("echo") + "\n".join(answers).encode() + b"\n", 60)
    assert proc.returncode == 0, err.decode()
    assert out.decode().splitlines() == [
        "ANSWER",
        'VERBOSE "echo: line test, 5 rounds" 1',
        'STREAM FILE hotline/echo-welcome "" 0',
        "GET DATA hotline/echo-enter-digits 5000 10",
        'STREAM FILE hotline/goodbye "" 0',
        "HANGUP",
    ]


def test_silence_before_a_question_is_detected_by_the_peer():
    """The peer's own check: WAIT FOR DIGIT with nothing played first is silence."""
    result = CallResult()
    result.exchanges.append(Exchange("WAIT FOR DIGIT 5000", "WAIT FOR DIGIT", ("5000",), "", 0))
    assert result.silence_problems() != []
    assert Silence() != HangUp()
