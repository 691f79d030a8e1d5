"""Whatever Asterisk (or something pretending to be it) sends, the AGI adapter returns a value
or raises one of its two errors (CallHungUp, AgiFailure): never anything else, so a call flow
always reaches its fallback instead of dying silently."""

from __future__ import annotations

import io

from hypothesis import given, settings
from hypothesis import strategies as st

from ivr.agi import AgiCall
from ivr.call import AgiFailure, CallHungUp, Recording

PROPERTY = settings(database=None, deadline=None, max_examples=300)

line_text = st.text(
    alphabet=st.characters(blacklist_categories=("Cs",), blacklist_characters="\r\n"), max_size=60
)
answers = st.one_of(
    line_text,
    st.builds(
        lambda code, result, extra: f"{code} result={result}{extra}",
        st.sampled_from(["200", "510", "511", "520", "999", "2OO", ""]),
        st.one_of(st.integers(-5, 300).map(str), line_text),
        st.sampled_from(["", " (timeout)", " (dtmf) endpos=1", " (hangup)", " endpos=x", " ("]),
    ),
    st.just("HANGUP"),
)
headers = st.lists(
    st.tuples(
        st.sampled_from(["agi_network_script", "agi_callerid", "agi_uniqueid", "x"]), line_text
    ),
    max_size=6,
)


@PROPERTY
@given(header=headers, lines=st.lists(answers, max_size=12))
def test_any_answer_gives_a_value_or_one_of_the_adapters_errors(
    header: list[tuple[str, str]], lines: list[str]
) -> None:
    text = "".join(f"{key}: {value}\n" for key, value in header) + "\n"
    text += "".join(f"{line}\n" for line in lines)
    call = AgiCall(io.BytesIO(text.encode("utf-8", "replace")), io.StringIO())
    assert isinstance(call.script, str) and isinstance(call.caller_id, str)
    operations = [
        lambda: call.answer(),
        lambda: call.stream("hotline/greeting", "0123456789"),
        lambda: call.get_data("hotline/main-menu", 3000, 1),
        lambda: call.wait_for_digit(1000),
        lambda: call.record("/tmp/hotline-prop", timeout_ms=1000, silence_s=1),
        lambda: call.get_variable("HOTLINE_NEXT"),
        lambda: call.say_digits("0905"),
        lambda: call.set_variable("HOTLINE_NEXT", "agent"),
    ]
    for operation in operations:
        try:
            value = operation()
        except (CallHungUp, AgiFailure):
            continue
        assert value is None or isinstance(value, str | Recording)
