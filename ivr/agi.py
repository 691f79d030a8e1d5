"""The pyst2 adapter: the one module that imports `asterisk.agi`.

`AgiCall` implements `ivr.call.Call` over pyst2's `AGI` for the three ways Asterisk runs us:
FastAGI (a TCP socket: `AgiCall.over_socket`), AGI (stdin/stdout: `AgiCall.over_stdio`) and EAGI
(the same plus the caller's audio on file descriptor 3: `AgiCall.eagi`, then `call.audio()`).

pyst2 parses the answers; this module turns them into the types of `ivr.call` and its
exceptions into two: `CallHungUp` (the caller is gone) and `AgiFailure` (anything else).
Asterisk's answers, from res_agi.c:
  STREAM FILE                200 result=<key code or 0> endpos=<n>; 200 result=-1 endpos=<n>
                             on hang-up *and* for a sound file it cannot open (the channel
                             stays up: the AGI goes on). Told apart by `CHANNEL STATUS`, which
                             a dead channel refuses with 511 (after the `HANGUP` line).
  SAY DIGITS                 200 result=<key code or 0>; -1 on hang-up
  GET DATA                   200 result=<digits> [(timeout)]; 200 result=-1 on hang-up
  WAIT FOR DIGIT             200 result=<key code or 0>; -1 on hang-up
  RECORD FILE                200 result=<key> (dtmf) endpos=<n> | 200 result=0 (timeout)
                             endpos=<n> (the timeout *or* silence) | 200 result=-1 (hangup)
                             endpos=<n> | 200 result=-1 (writefile) | (randomerror)
  GET VARIABLE               200 result=1 (<value>) | 200 result=0
  on a dead channel          511 Command Not Permitted on a dead channel or intercepted
Over FastAGI Asterisk also sends an unsolicited `HANGUP` line when the caller hangs up.
"""

from __future__ import annotations

import contextlib
import io
import logging
import os
import re
import socket
import sys
from collections.abc import Iterator, Mapping
from typing import IO, Any

from asterisk.agi import (
    AGI,
    AGIAppError,
    AGIError,
    AGIException,
    AGIHangup,
    AGIUnknownError,
)

from intake.pii import masked
from ivr.call import AgiFailure, CallHungUp, Recording
from ivr.registry import script_name

log = logging.getLogger("ivr.agi")
_pyst_log = logging.getLogger("ivr.agi.pyst2")

EAGI_AUDIO_FD = 3
EAGI_RATE = 8000  # EAGI audio: 8 kHz, 16-bit signed linear, mono
_RECORD_ANSWER = re.compile(
    r"^200 result=(?P<result>-?\d+)(?: \((?P<reason>[^)]*)\))?(?: endpos=(?P<endpos>-?\d+))?"
)
_STREAM_ANSWER = re.compile(r"^200 result=(?P<result>-?\d+)")
_SAMPLE_RATES = {"wav16": 16000, "sln16": 16000, "g722": 16000}


class _PystDebugSink:
    """Where pyst2's chatter (argv, every environment line with the caller's number, every
    command) goes instead of stderr: the debug log, masked, one record per line."""

    def __init__(self) -> None:
        self._pending = ""

    def write(self, text: str) -> int:
        if _pyst_log.isEnabledFor(logging.DEBUG):
            self._pending += text
            while "\n" in self._pending:
                line, self._pending = self._pending.split("\n", 1)
                if line.strip():
                    _pyst_log.debug("%s", masked(line))
        return len(text)

    def flush(self) -> None:
        return None


class _AsteriskInput:
    """Asterisk's side of the conversation as pyst2 reads it, minus the unsolicited `HANGUP`
    line (remembered instead); end of stream means the call is gone."""

    def __init__(self, raw: IO[Any]) -> None:
        self._raw = raw
        self.header_done = False
        self.hangup_seen = False

    def readline(self) -> str:
        while True:
            try:
                line = self._raw.readline()
            except OSError as exc:  # reset by peer, timeout
                raise CallHungUp(f"AGI connection lost: {exc}") from exc
            if isinstance(line, bytes):
                line = line.decode("utf-8", "replace")
            if not line:
                if not self.header_done:
                    return ""  # pyst2 ends the header on an empty line
                raise CallHungUp("Asterisk closed the AGI connection")
            if self.header_done and line.strip() == "HANGUP":
                self.hangup_seen = True
                continue
            return str(line)


class _Pyst(AGI):  # type: ignore[misc]  # pyst2 has no type hints
    def __init__(self, stdin: _AsteriskInput, stdout: IO[str]) -> None:
        super().__init__(stdin=stdin, stdout=stdout, stderr=_PystDebugSink())
        stdin.header_done = True

    def _raw(self, command: str, *args: str) -> str:
        """Send `command` and return Asterisk's answer line unparsed (pyst2's parsing loses
        RECORD FILE's reason)."""
        self.test_hangup()
        self.send_command(command, *args)
        line = str(self.stdin.readline()).strip()
        code = line.split(" ", 1)[0]
        if code == "511":
            raise AGIUnknownError(511, line)
        if code != "200":
            raise AGIError(f"{command}: {line}")
        return line


class AgiCall:
    """One call, driven through pyst2. Not thread-safe; one per process (pyst2 installs a
    SIGHUP handler, so it must be built in the main thread)."""

    def __init__(
        self,
        stdin: IO[Any],
        stdout: IO[str],
        *,
        script: str | None = None,
    ) -> None:
        self._input = _AsteriskInput(stdin)
        self._agi = _Pyst(self._input, stdout)
        self._env: dict[str, str] = {str(k): str(v) for k, v in self._agi.env.items()}
        raw_script = (
            script or self._env.get("agi_network_script") or self._env.get("agi_request", "")
        )
        self._script = script_name(raw_script)
        self._hung_up = False
        self._closers: list[IO[Any]] = []

    # -- transports ------------------------------------------------------------------------
    @classmethod
    def over_socket(cls, conn: socket.socket) -> AgiCall:
        """FastAGI: read the `agi_*` header from `conn`."""
        reader = conn.makefile("rb")
        writer = io.TextIOWrapper(
            conn.makefile("wb"), encoding="utf-8", newline="\n", write_through=True
        )
        call = cls(reader, writer)
        call._closers = [writer, reader]
        return call

    @classmethod
    def over_stdio(cls, script: str | None = None) -> AgiCall:
        """AGI: Asterisk runs us with the header and answers on stdin, commands on stdout."""
        return cls(sys.stdin, sys.stdout, script=script)

    @classmethod
    def eagi(cls, script: str | None = None, audio_fd: int = EAGI_AUDIO_FD) -> EagiCall:
        """EAGI: AGI plus the caller's audio on `audio_fd`."""
        return EagiCall(sys.stdin, sys.stdout, script=script, audio_fd=audio_fd)

    def close(self) -> None:
        for stream in self._closers:
            with contextlib.suppress(OSError):
                stream.close()

    # -- what Asterisk told us -------------------------------------------------------------
    @property
    def env(self) -> Mapping[str, str]:
        return self._env

    @property
    def script(self) -> str:
        return self._script

    @property
    def caller_id(self) -> str:
        return self._env.get("agi_callerid", "unknown")

    @property
    def unique_id(self) -> str:
        return self._env.get("agi_uniqueid", "")

    @property
    def args(self) -> tuple[str, ...]:
        """`agi_arg_1`, `agi_arg_2`, … in order."""
        found = []
        n = 1
        while f"agi_arg_{n}" in self._env:
            found.append(self._env[f"agi_arg_{n}"])
            n += 1
        return tuple(found)

    @property
    def hung_up(self) -> bool:
        return self._hung_up or self._input.hangup_seen

    # -- commands ---------------------------------------------------------------------------
    def _run(self, method: str, *args: Any) -> Any:
        """Call a pyst2 method, mapping its failures onto CallHungUp / AgiFailure."""
        if self.hung_up:
            raise CallHungUp("the caller has hung up")
        try:
            value = getattr(self._agi, method)(*args)
        except CallHungUp:
            self._hung_up = True
            raise
        except AGIHangup as exc:  # HANGUP in a result, SIGHUP, SIGPIPE
            self._hung_up = True
            raise CallHungUp(str(exc)) from exc
        except AGIUnknownError as exc:
            if exc.args and exc.args[0] == 511:  # dead channel
                self._hung_up = True
                raise CallHungUp("511 dead channel") from exc
            raise AgiFailure(f"{method}: {exc}") from exc
        except AGIAppError as exc:  # result=-1: the channel failed, in practice a hang-up
            self._hung_up = True
            raise CallHungUp(f"{method}: {exc}") from exc
        except (AGIError, AGIException) as exc:
            raise AgiFailure(f"{method}: {exc}") from exc
        except OSError as exc:
            self._hung_up = True
            raise CallHungUp(f"AGI connection lost: {exc}") from exc
        except (ValueError, IndexError, KeyError, TypeError) as exc:
            # pyst2's parser breaks on lines Asterisk never sends (an empty line, no code).
            raise AgiFailure(f"{method}: unreadable answer from Asterisk: {exc}") from exc
        if self._input.hangup_seen:
            raise CallHungUp("the caller hung up")
        return value

    def answer(self) -> None:
        self._run("answer")

    def stream(self, prompt: str, escape_digits: str = "") -> str | None:
        """STREAM FILE. A prompt Asterisk cannot open is logged and skipped (the caller hears
        the next one); a hang-up raises CallHungUp."""
        line = str(self._run("_raw", "STREAM FILE", prompt, f'"{escape_digits}"', "0"))
        match = _STREAM_ANSWER.match(line)
        if match is None:
            raise AgiFailure(f"STREAM FILE: unexpected answer {line!r}")
        result = int(match["result"])
        if result > 0:
            return chr(result)
        if result < 0:
            # Both a hang-up and a missing file answer -1: a dead channel refuses this one
            # (CallHungUp); a live one answers it (or, on an odd Asterisk, refuses it otherwise).
            with contextlib.suppress(AgiFailure):
                self._run("_raw", "CHANNEL STATUS")
            log.warning("prompt %s was not played (no such sound file?); going on", prompt)
        return None

    def get_data(self, prompt: str, timeout_ms: int = 5000, max_digits: int = 1) -> str:
        return str(self._run("get_data", prompt, timeout_ms, max_digits))

    def wait_for_digit(self, timeout_ms: int = 5000) -> str | None:
        return str(self._run("wait_for_digit", timeout_ms)) or None

    def say_digits(self, digits: str, escape_digits: str = "") -> str | None:
        return str(self._run("say_digits", digits, escape_digits)) or None

    def record(
        self,
        path: str,
        *,
        fmt: str = "wav",
        escape_digits: str = "#",
        timeout_ms: int = 60_000,
        silence_s: int = 3,
        beep: bool = True,
    ) -> Recording:
        args = [f'"{path}"', fmt, f'"{escape_digits}"', str(timeout_ms)]
        if beep:
            args.append("BEEP")
        if silence_s > 0:
            args.append(f"s={silence_s}")
        line = self._run("_raw", "RECORD FILE", *args)
        match = _RECORD_ANSWER.match(line)
        if match is None:
            raise AgiFailure(f"RECORD FILE: unexpected answer {line!r}")
        result, reason = int(match["result"]), match["reason"] or ""
        file = f"{path}.{fmt}"
        if reason == "hangup" or (result == -1 and not reason):
            self._hung_up = True  # keep what was said; the next command raises CallHungUp
            return Recording(path=file, ended_by="hangup")
        if reason == "dtmf":
            return Recording(path=file, ended_by="dtmf", digit=chr(result))
        if reason == "timeout":
            # Asterisk says "timeout" for both; silence stops the recording before the limit.
            heard_ms = int(match["endpos"] or 0) * 1000 // _SAMPLE_RATES.get(fmt, 8000)
            ended_early = silence_s > 0 and heard_ms < timeout_ms - 500
            return Recording(path=file, ended_by="silence" if ended_early else "timeout")
        raise AgiFailure(f"RECORD FILE {path}.{fmt} failed: {line.strip()!r}")

    def set_variable(self, name: str, value: str) -> None:
        self._run("set_variable", name, _safe(value))

    def get_variable(self, name: str) -> str | None:
        result = self._run("execute", "GET VARIABLE", f'"{name}"')
        flag, value = result["result"]
        return str(value) if flag == "1" else None

    def verbose(self, message: str, level: int = 1) -> None:
        self._run("verbose", _safe(message), level)

    def hangup(self) -> None:
        self._run("hangup")
        self._hung_up = True


class EagiCall(AgiCall):
    """An AGI call with the caller's audio: an `ivr.call.AudioSource`."""

    def __init__(
        self,
        stdin: IO[Any],
        stdout: IO[str],
        *,
        script: str | None = None,
        audio_fd: int = EAGI_AUDIO_FD,
    ) -> None:
        super().__init__(stdin, stdout, script=script)
        self._audio_fd = audio_fd

    def audio(self, chunk_ms: int = 100) -> Iterator[bytes]:
        """The caller's audio: chunks of about `chunk_ms` of 8 kHz 16-bit signed linear mono,
        until the stream ends."""
        size = EAGI_RATE * 2 * chunk_ms // 1000
        while True:
            try:
                chunk = os.read(self._audio_fd, size)
            except OSError:
                return
            if not chunk:
                return
            yield chunk

    def discard_buffered_audio(self) -> int:
        """Read and drop whatever audio is waiting on the descriptor, without blocking."""
        dropped = 0
        blocking = os.get_blocking(self._audio_fd)
        try:
            os.set_blocking(self._audio_fd, False)
            while True:
                try:
                    chunk = os.read(self._audio_fd, 65536)
                except (BlockingIOError, InterruptedError):
                    break
                except OSError:
                    break
                if not chunk:
                    break
                dropped += len(chunk)
        finally:
            with contextlib.suppress(OSError):
                os.set_blocking(self._audio_fd, blocking)
        return dropped


def _safe(text: str) -> str:
    """A value pyst2 can quote: one line, no double quotes."""
    return " ".join(text.replace('"', "'").split())
