"""The FastAGI server: one forked process per call.

The parent only accepts, forks and reaps. Each child reads the `agi_*` header, runs the flow
named by `agi_network_script` and exits; pyst2 needs the process to itself (it installs a
SIGHUP handler) and a crashing call cannot take the others down. Whatever goes wrong in a
child, the caller hears a prompt and the dialplan is told to queue the call for an agent
(`HOTLINE_NEXT=agent`): never silence.

Beyond `max_calls` the server still answers a few more calls (a tenth more) to say the lines
are busy and hand them to the agent queue; beyond that it closes the connection at once, and
the dialplan's `AGISTATUS=FAILURE` branch does the same.
"""

from __future__ import annotations

import contextlib
import gc
import logging
import os
import selectors
import signal
import socket
import time
import traceback
from dataclasses import dataclass
from types import FrameType

from intake.pii import masked
from intake.runtime import Runtime
from ivr.agi import AgiCall
from ivr.call import AgiFailure, Call, CallHungUp
from ivr.registry import FlowContext, lookup

log = logging.getLogger("ivr.server")

# Prompts the server itself plays (sound files under Asterisk's sounds directory).
FALLBACK_PROMPT = "hotline/sorry-transfer"  # "Xin lỗi, hệ thống đang gặp sự cố. Xin chờ …"
BUSY_PROMPT = "hotline/lines-busy"  # "Tất cả các đường dây đang bận. Xin chờ …"
NEXT_VARIABLE = "HOTLINE_NEXT"
FALLBACK_VARIABLE = "HOTLINE_FALLBACK"


@dataclass(frozen=True)
class ServerConfig:
    host: str = "127.0.0.1"
    port: int = 4573
    max_calls: int = 200
    shutdown_timeout_s: float = 30.0
    backlog: int = 256

    @property
    def max_busy(self) -> int:
        """Calls beyond `max_calls` that still get the busy prompt instead of a reset."""
        return max(1, self.max_calls // 10)


def send_to_agent(call: Call, reason: str, prompt: str = FALLBACK_PROMPT) -> None:
    """Tell the dialplan to queue the call for an agent, then play `prompt`. The variables
    go first so the transfer happens even when the prompt cannot be played."""
    call.set_variable(NEXT_VARIABLE, "agent")
    call.set_variable(FALLBACK_VARIABLE, reason)
    try:
        call.stream(prompt)
    except AgiFailure:
        log.warning("cannot play %s; the dialplan transfers anyway", prompt)


def serve_call(call: AgiCall, runtime: Runtime, *, busy: bool = False) -> None:
    """Run the flow the call asked for (or the busy answer); every failure ends at an agent."""
    who = f"call {call.unique_id} from {masked(call.caller_id)}"
    try:
        if busy:
            log.warning("%s refused: all lines busy", who)
            send_to_agent(call, "busy", BUSY_PROMPT)
            return
        handler = lookup(call.script)
        if handler is None:
            log.error("%s asked for unknown AGI script %r", who, call.script)
            send_to_agent(call, "unknown-script")
            return
        log.info("%s: flow %s", who, call.script)
        try:
            handler(call, FlowContext(runtime=runtime, args=call.args))
        except CallHungUp:
            raise
        except Exception as exc:
            # The traceback is formatted here so the masking covers it too.
            log.error("%s: flow %s failed:\n%s", who, call.script, masked(traceback.format_exc()))
            send_to_agent(call, f"error:{type(exc).__name__}")
    except CallHungUp:
        log.info("%s: the caller hung up", who)
    except AgiFailure as exc:
        log.error("%s: Asterisk refused a command: %s", who, masked(str(exc)))


class AgiServer:
    """Accept FastAGI connections and fork one child per call."""

    def __init__(self, runtime: Runtime, config: ServerConfig) -> None:
        self.runtime = runtime
        self.config = config
        self._children: dict[int, bool] = {}  # pid -> is a busy refusal
        self._stopping = False
        self._listener: socket.socket | None = None

    # -- parent ------------------------------------------------------------------------------
    def bind(self) -> tuple[str, int]:
        listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        listener.bind((self.config.host, self.config.port))
        listener.listen(self.config.backlog)
        listener.setblocking(False)
        self._listener = listener
        host, port = listener.getsockname()[:2]
        return str(host), int(port)

    def serve_forever(self) -> None:
        """Serve until SIGTERM or SIGINT, then let the calls in progress finish (up to the
        shutdown timeout)."""
        if self._listener is None:
            self.bind()
        assert self._listener is not None
        wake_r, wake_w = socket.socketpair()
        wake_r.setblocking(False)
        wake_w.setblocking(False)
        old_wakeup = signal.set_wakeup_fd(wake_w.fileno(), warn_on_full_buffer=False)
        previous = {
            sig: signal.signal(sig, self._on_signal)
            for sig in (signal.SIGCHLD, signal.SIGTERM, signal.SIGINT)
        }
        # Everything loaded so far is shared with the call processes; frozen, the collector
        # leaves it alone there, so their pages stay shared instead of being copied.
        gc.collect()
        gc.freeze()
        selector = selectors.DefaultSelector()
        selector.register(self._listener, selectors.EVENT_READ)
        selector.register(wake_r, selectors.EVENT_READ)
        try:
            while not self._stopping:
                for key, _ in selector.select(timeout=1.0):
                    if key.fileobj is wake_r:
                        _drain(wake_r)
                    elif not self._stopping:
                        self._accept_all()
                self._reap()
            self._listener.close()
            log.info("stopped accepting; waiting for %d call(s) to end", len(self._children))
            self._wait_for_children(self.config.shutdown_timeout_s, wake_r)
        finally:
            selector.close()
            signal.set_wakeup_fd(old_wakeup)
            for sig, handler in previous.items():
                signal.signal(sig, handler)
            wake_r.close()
            wake_w.close()

    def _on_signal(self, signum: int, _frame: FrameType | None) -> None:
        if signum in (signal.SIGTERM, signal.SIGINT):
            self._stopping = True

    def _accept_all(self) -> None:
        assert self._listener is not None
        while True:
            try:
                conn, _address = self._listener.accept()
            except (BlockingIOError, InterruptedError):
                return
            self._reap()
            self._dispatch(conn)

    def _dispatch(self, conn: socket.socket) -> None:
        busy_children = sum(self._children.values())
        calls = len(self._children) - busy_children
        busy = calls >= self.config.max_calls
        if busy and busy_children >= self.config.max_busy:
            log.error("over capacity (%d calls): connection closed", calls)
            conn.close()  # Asterisk sets AGISTATUS=FAILURE; the dialplan queues the call
            return
        try:
            pid = os.fork()
        except OSError:
            log.exception("cannot fork for a call")
            conn.close()
            return
        if pid == 0:  # the child never returns from here
            self._run_child(conn, busy)
        conn.close()
        self._children[pid] = busy

    def _reap(self) -> None:
        while self._children:
            try:
                pid, status = os.waitpid(-1, os.WNOHANG)
            except ChildProcessError:
                self._children.clear()
                return
            if pid == 0:
                return
            self._children.pop(pid, None)
            if os.waitstatus_to_exitcode(status) not in (0, -signal.SIGTERM):
                log.warning("call process %d ended with status %d", pid, status)

    def _wait_for_children(self, timeout_s: float, wake_r: socket.socket) -> None:
        deadline = time.monotonic() + timeout_s
        while self._children and time.monotonic() < deadline:
            self._reap()
            time.sleep(0.05)
            _drain(wake_r)
        if self._children:
            log.warning("%d call(s) still running at shutdown: ending them", len(self._children))
            for pid in list(self._children):
                with contextlib.suppress(ProcessLookupError):
                    os.kill(pid, signal.SIGTERM)
            end = time.monotonic() + 2.0
            while self._children and time.monotonic() < end:
                self._reap()
                time.sleep(0.05)

    # -- child -------------------------------------------------------------------------------
    def _run_child(self, conn: socket.socket, busy: bool) -> None:
        code = 0
        try:
            signal.set_wakeup_fd(-1)
            signal.signal(signal.SIGTERM, signal.SIG_DFL)
            signal.signal(signal.SIGCHLD, signal.SIG_DFL)
            signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C stops the server, not calls
            if self._listener is not None:
                self._listener.close()
            # The parent's pooled connections stay the parent's.
            self.runtime.engine.dispose(close=False)
            conn.setblocking(True)
            conn.settimeout(None)
            call = None
            try:
                call = AgiCall.over_socket(conn)
                serve_call(call, self.runtime, busy=busy)
            except CallHungUp:
                log.info("the connection closed before the call started")
            finally:
                if call is not None:
                    call.close()
                conn.close()
        except BaseException:
            code = 1
            with contextlib.suppress(BaseException):
                log.error("call process failed:\n%s", masked(traceback.format_exc()))
        finally:
            logging.shutdown()
            os._exit(code)


def _drain(sock: socket.socket) -> None:
    try:
        while sock.recv(512):
            pass
    except (BlockingIOError, InterruptedError):
        pass
