"""`echo`: a line test for operators. Dial the test extension (see ivr/asterisk/extensions.conf),
type some digits, hear them read back; nothing is stored. 0 alone asks for an agent, so the
queue can be tested from the same number.

`agi_arg_1` caps the rounds (default 5, at most 20); an empty entry (the timeout) ends the
call with a goodbye.
"""

from __future__ import annotations

from ivr.call import Call
from ivr.registry import FlowContext, flow

WELCOME = "hotline/echo-welcome"  # "Đây là đường thử của tổng đài 1900."
ENTER_DIGITS = "hotline/echo-enter-digits"  # "Mời bấm vài số, kết thúc bằng phím thăng."
YOU_ENTERED = "hotline/echo-you-entered"  # "Quý vị đã bấm:"
CONNECTING = "hotline/connecting-agent"  # "Xin chờ, tổng đài viên sẽ nghe máy."
GOODBYE = "hotline/goodbye"  # "Cảm ơn quý vị đã gọi. Xin chào."
MAX_ROUNDS = 20


@flow("echo")
def echo(call: Call, ctx: FlowContext) -> None:
    """Answer, then read back what the caller types until they stop or the rounds run out;
    0 alone sends the call to the agent queue."""
    rounds = _rounds(ctx.args)
    call.answer()
    call.verbose(f"echo: line test, {rounds} rounds")
    call.stream(WELCOME)
    for _ in range(rounds):
        digits = call.get_data(ENTER_DIGITS, timeout_ms=5000, max_digits=10)
        if not digits:
            break
        if digits == "0":
            call.set_variable("HOTLINE_NEXT", "agent")
            call.stream(CONNECTING)
            return
        call.stream(YOU_ENTERED)
        call.say_digits(digits)
    call.stream(GOODBYE)
    call.hangup()


def _rounds(args: tuple[str, ...]) -> int:
    try:
        return max(1, min(MAX_ROUNDS, int(args[0])))
    except (IndexError, ValueError):
        return 5
