"""Asterisk, played over a real TCP socket to the FastAGI server (after wazo-agid's
integration_tests/suite/helpers/agid.py).

`AgiPeer.call()` connects, sends the `agi_*` header and a blank line, then answers each
command the way Asterisk's res_agi.c does, following a script of caller actions: keys for the
next GET DATA / WAIT FOR DIGIT (or to interrupt a prompt), audio "said" into the next RECORD
FILE, a hang-up (while the caller is asked something, or during a prompt). Without a scripted
action the caller stays silent (timeouts). Prompts named in `missing_prompts` are sound files
Asterisk cannot open: STREAM FILE answers `200 result=-1 endpos=0` and the channel stays up,
as res_agi.c does. It keeps the
transcript with the server's think time before each command (from our previous answer, or
from the end of the header, to the command's arrival), and `silence_problems()` says where
the caller was left waiting without a prompt.
"""

from __future__ import annotations

import itertools
import shlex
import shutil
import socket
import time
import wave
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

PROMPTS = {"STREAM FILE", "SAY DIGITS", "GET DATA"}  # commands that play something
INPUTS = {"GET DATA", "WAIT FOR DIGIT", "RECORD FILE"}  # commands that wait for the caller
DEAD = "511 Command Not Permitted on a dead channel or intercepted"
_COMMANDS = [
    "WAIT FOR DIGIT",
    "STREAM FILE",
    "GET DATA",
    "SAY DIGITS",
    "SET VARIABLE",
    "GET VARIABLE",
    "RECORD FILE",
    "ANSWER",
    "CHANNEL STATUS",
    "VERBOSE",
    "HANGUP",
    "EXEC",
]
_unique = itertools.count(1)


@dataclass(frozen=True)
class Press:
    """Keys for the next GET DATA (all) or WAIT FOR DIGIT (the first); with `barge_in`, the
    first key interrupts the next prompt that accepts it instead."""

    keys: str
    barge_in: bool = False


@dataclass(frozen=True)
class Say:
    """Audio (a WAV file) for the next RECORD FILE, ended by `ended_by`: "silence", "dtmf"
    (with `digit`), "timeout" or "hangup"."""

    wav: Path | None
    ended_by: str = "silence"
    digit: str = "#"


@dataclass(frozen=True)
class Silence:
    """Let the next GET DATA / WAIT FOR DIGIT / RECORD FILE time out."""


@dataclass(frozen=True)
class HangUp:
    """The caller hangs up during the next command that waits for them, or with `during_prompt`
    during the next prompt (STREAM FILE or SAY DIGITS then answers -1, then `HANGUP`)."""

    during_prompt: bool = False


@dataclass(frozen=True)
class Drop:
    """The connection is lost during the next command that waits for the caller: the socket
    closes with no answer and no HANGUP line (a crashed Asterisk, a network cut)."""


class _Dropped(Exception):
    pass


Action = Press | Say | Silence | HangUp | Drop


@dataclass(frozen=True)
class Exchange:
    command: str  # the line the server sent
    name: str  # "GET DATA", "STREAM FILE", …
    args: tuple[str, ...]
    answer: str  # what we answered
    think_s: float  # server time before this command
    missing: bool = False  # a prompt whose sound file does not exist: the caller heard nothing


@dataclass
class CallResult:
    header_s: float = 0.0  # from the end of our header to the first command
    env: dict[str, str] = field(default_factory=dict)  # the agi_* header we sent
    exchanges: list[Exchange] = field(default_factory=list)
    variables: dict[str, str] = field(default_factory=dict)
    recordings: list[Path] = field(default_factory=list)
    hung_up_by_caller: bool = False
    closed_by_server: bool = False
    dropped: bool = False

    @property
    def names(self) -> list[str]:
        return [e.name for e in self.exchanges]

    @property
    def prompts(self) -> list[str]:
        return [e.args[0] for e in self.exchanges if e.name in PROMPTS and e.name != "SAY DIGITS"]

    @property
    def digits_said(self) -> list[str]:
        return [e.args[0] for e in self.exchanges if e.name == "SAY DIGITS"]

    @property
    def think_times(self) -> list[float]:
        return [self.header_s, *(e.think_s for e in self.exchanges)]

    def silence_problems(self) -> list[str]:
        """Where the call waited for the caller without a prompt first, or ended without a
        last word (a prompt after the last input, or an agent transfer)."""
        problems = []
        prompted = False
        for i, e in enumerate(self.exchanges):
            plays_own_prompt = e.name == "GET DATA" and not e.missing
            if e.name in INPUTS and not plays_own_prompt and not prompted:
                problems.append(f"#{i} {e.command.strip()} without a prompt before it")
            if e.name in INPUTS:
                prompted = False
            if e.name in PROMPTS and not e.missing:
                prompted = True
        if not self.hung_up_by_caller and not prompted:
            if self.variables.get("HOTLINE_NEXT") != "agent":
                problems.append("the call ended without a last prompt or an agent transfer")
            elif not any(e.name in PROMPTS and not e.missing for e in self.exchanges):
                problems.append("sent to an agent without a word to the caller")
        return problems


class AgiPeer:
    def __init__(
        self,
        port: int,
        *,
        host: str = "127.0.0.1",
        caller: str = "+84905123456",
        dnid: str = "19001080",
        media_delay_s: float = 0.0,
        timeout_s: float = 30.0,
        missing_prompts: frozenset[str] = frozenset(),
    ) -> None:
        self.host, self.port = host, port
        self.caller, self.dnid = caller, dnid
        self.missing_prompts = missing_prompts
        self.media_delay_s = media_delay_s  # stands in for the time a prompt takes to play
        self.timeout_s = timeout_s

    def header(self, script: str, args: tuple[str, ...] = (), **extra: str) -> dict[str, str]:
        n = next(_unique)
        env = {
            "agi_network": "yes",
            "agi_network_script": script,
            "agi_request": f"agi://{self.host}:{self.port}/{script}",
            "agi_channel": f"PJSIP/carrier-{n:08x}",
            "agi_language": "vi",
            "agi_type": "PJSIP",
            "agi_uniqueid": f"1764700000.{n}",
            "agi_version": "20.5.0",
            "agi_callerid": self.caller,
            "agi_calleridname": "Nguyen Van A",
            "agi_callingpres": "0",
            "agi_dnid": self.dnid,
            "agi_rdnis": "unknown",
            "agi_context": "hotline-inbound",
            "agi_extension": self.dnid,
            "agi_priority": "2",
            "agi_enhanced": "0.0",
            "agi_accountcode": "",
            "agi_threadid": str(139900000000 + n),
        }
        env.update({f"agi_arg_{i}": value for i, value in enumerate(args, start=1)})
        env.update(extra)
        return env

    def call(
        self,
        script: str,
        actions: list[Action] | tuple[Action, ...] = (),
        *,
        args: tuple[str, ...] = (),
        hang_up_after: int | None = None,
        env: dict[str, str] | None = None,
        channel_vars: dict[str, str] | None = None,
    ) -> CallResult:
        """Place one call; returns when the server closes the connection. `hang_up_after`:
        the caller hangs up after that many answered commands (Asterisk then sends HANGUP
        and refuses the following commands with 511)."""
        result = CallResult(variables=dict(channel_vars or {}))
        pending = list(actions)
        dead = False
        with socket.create_connection((self.host, self.port), timeout=self.timeout_s) as sock:
            lines = _Lines(sock)
            header = env if env is not None else self.header(script, args)
            result.env = dict(header)
            text = "".join(f"{k}: {v}\n" for k, v in header.items()) + "\n"
            sock.sendall(text.encode())
            answered_at = time.perf_counter()
            first = True
            for line in lines:
                arrived = time.perf_counter()
                think = arrived - answered_at
                if first:
                    result.header_s, think, first = think, 0.0, False
                name, cmd_args = _parse(line)
                if dead:
                    answer, ends_call = DEAD, False
                else:
                    try:
                        answer, ends_call = self._answer(name, cmd_args, pending, result)
                    except _Dropped:
                        result.dropped = True
                        result.exchanges.append(Exchange(line, name, cmd_args, "", think))
                        return result
                if self.media_delay_s and name in PROMPTS | {"RECORD FILE", "WAIT FOR DIGIT"}:
                    time.sleep(self.media_delay_s)
                sock.sendall(f"{answer}\n".encode())
                answered_at = time.perf_counter()
                missing = name in PROMPTS and cmd_args[:1] != () and self._missing(cmd_args[0])
                result.exchanges.append(Exchange(line, name, cmd_args, answer, think, missing))
                caller_leaves = hang_up_after is not None and len(result.exchanges) >= hang_up_after
                if not dead and (ends_call or caller_leaves):
                    dead = True
                    result.hung_up_by_caller |= caller_leaves and not ends_call
                    sock.sendall(b"HANGUP\n")
            result.closed_by_server = True
        return result

    # -- Asterisk's answers -------------------------------------------------------------------
    def _answer(
        self, name: str, args: tuple[str, ...], pending: list[Action], result: CallResult
    ) -> tuple[str, bool]:
        """The answer line, and whether the channel is gone after it."""
        if name == "ANSWER":
            return "200 result=0", False
        if name == "CHANNEL STATUS":
            return "200 result=6", False  # AST_STATE_UP (a dead channel got DEAD already)
        if name in ("STREAM FILE", "SAY DIGITS"):
            escape = args[1] if len(args) > 1 else ""
            action = pending[0] if pending else None
            if isinstance(action, HangUp) and action.during_prompt:
                pending.pop(0)
                result.hung_up_by_caller = True
                return (
                    "200 result=-1 endpos=2400" if name == "STREAM FILE" else "200 result=-1"
                ), True
            if name == "STREAM FILE" and self._missing(args[0]):
                return "200 result=-1 endpos=0", False  # res_agi.c: cannot open the file
            if isinstance(action, Press) and action.barge_in and action.keys[:1] in escape:
                pending.pop(0)
                return f"200 result={ord(action.keys[0])} endpos=4000", False
            return "200 result=0 endpos=16000", False
        if name in ("GET DATA", "WAIT FOR DIGIT", "RECORD FILE"):
            action = pending.pop(0) if pending else Silence()
            if isinstance(action, Drop):
                raise _Dropped
            if isinstance(action, HangUp):
                result.hung_up_by_caller = True
                if name == "RECORD FILE":
                    return "200 result=-1 (hangup) endpos=0", True
                return "200 result=-1", True
            if name == "RECORD FILE":
                return self._record(args, action, result)
            keys = action.keys if isinstance(action, Press) else ""
            if name == "WAIT FOR DIGIT":
                return f"200 result={ord(keys[0]) if keys else 0}", False
            max_digits = int(args[2]) if len(args) > 2 else 255
            keys = keys.split("#", 1)[0][:max_digits]  # "#" ends the entry and is not returned
            return (f"200 result={keys}" if keys else "200 result= (timeout)"), False
        if name == "SET VARIABLE":
            result.variables[args[0]] = args[1] if len(args) > 1 else ""
            return "200 result=1", False
        if name == "GET VARIABLE":
            value = result.variables.get(args[0])
            return (f"200 result=1 ({value})" if value is not None else "200 result=0"), False
        if name == "VERBOSE":
            return "200 result=1", False
        if name == "HANGUP":
            return "200 result=1", True
        return "510 Invalid or unknown command", False

    def _missing(self, prompt: str) -> bool:
        return prompt in self.missing_prompts

    def _record(
        self, args: tuple[str, ...], action: Action, result: CallResult
    ) -> tuple[str, bool]:
        path = Path(f"{args[0]}.{args[1]}")
        path.parent.mkdir(parents=True, exist_ok=True)
        if isinstance(action, Say) and action.wav is not None:
            shutil.copyfile(action.wav, path)
        else:
            _write_silence(path, seconds=1.0)
        result.recordings.append(path)
        frames = _frames(path)
        ended_by = action.ended_by if isinstance(action, Say) else "timeout"
        if ended_by == "dtmf":
            digit = action.digit if isinstance(action, Say) else "#"
            return f"200 result={ord(digit)} (dtmf) endpos={frames}", False
        if ended_by == "hangup":
            result.hung_up_by_caller = True
            return f"200 result=-1 (hangup) endpos={frames}", True
        return f"200 result=0 (timeout) endpos={frames}", False  # silence or the time limit


class _Lines:
    def __init__(self, sock: socket.socket) -> None:
        self._file = sock.makefile("rb")

    def __iter__(self) -> Iterator[str]:
        while True:
            try:
                raw = self._file.readline()
            except (ConnectionResetError, TimeoutError):
                return
            if not raw:
                return
            yield raw.decode("utf-8").rstrip("\n")


def _parse(line: str) -> tuple[str, tuple[str, ...]]:
    upper = line.upper()
    for name in _COMMANDS:
        if upper.startswith(name):
            rest = line[len(name) :]
            try:
                return name, tuple(shlex.split(rest))
            except ValueError:
                return name, tuple(rest.split())
    return line.split(" ", 1)[0].upper(), ()


def _write_silence(path: Path, seconds: float) -> None:
    with wave.open(str(path), "wb") as out:
        out.setnchannels(1)
        out.setsampwidth(2)
        out.setframerate(8000)
        out.writeframes(b"\0\0" * int(8000 * seconds))


def _frames(path: Path) -> int:
    try:
        with wave.open(str(path), "rb") as audio:
            return audio.getnframes()
    except (wave.Error, EOFError):
        return 0
