"""Plain AGI and EAGI entry points: Asterisk runs `hotline agi script NAME` (AGI) or
`hotline agi eagi NAME` (EAGI, audio on file descriptor 3) and talks on stdin/stdout.

The flow is the same function FastAGI would run; failures end at an agent, as in the server.
"""

from __future__ import annotations

import logging

from intake.runtime import Runtime
from ivr.agi import EAGI_AUDIO_FD, AgiCall
from ivr.call import CallHungUp
from ivr.registry import load_flows
from ivr.server import serve_call

log = logging.getLogger("ivr.agi_main")


def run_script(runtime: Runtime, name: str | None = None) -> int:
    """Serve one call over stdin/stdout with the flow `name` (default: the script Asterisk
    named in `agi_request`). Returns the exit status."""
    load_flows()
    try:
        call = AgiCall.over_stdio(script=name)
    except CallHungUp:
        return 0
    serve_call(call, runtime)
    return 0


def run_eagi(runtime: Runtime, name: str | None = None, audio_fd: int = EAGI_AUDIO_FD) -> int:
    """The same with the caller's audio readable through `call.audio()`."""
    load_flows()
    try:
        call = AgiCall.eagi(script=name, audio_fd=audio_fd)
    except CallHungUp:
        return 0
    serve_call(call, runtime)
    return 0
