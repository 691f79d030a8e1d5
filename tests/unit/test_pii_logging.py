from __future__ import annotations

import logging

from intake.channels.senders import TwilioSmsSender
from intake.config import Settings
from intake.pii import MaskingStream, PiiMaskingFilter, quiet_libraries


def test_log_records_never_carry_full_phone_or_cccd(caplog):
    logger = logging.getLogger("test.pii")
    handler_filter = PiiMaskingFilter()
    caplog.handler.addFilter(handler_filter)
    try:
        with caplog.at_level(logging.INFO, logger="test.pii"):
            logger.info("call from %s, CCCD %s", "+84905123456", "046085001234")
    finally:
        caplog.handler.removeFilter(handler_filter)
    text = caplog.text
    assert "+84905123456" not in text and "046085001234" not in text
    assert "56" in text and "234" in text


def test_masking_stream_for_third_party_prints():
    class Sink:
        def __init__(self):
            self.data = ""

        def write(self, s):
            self.data += s

        def flush(self):
            pass

    sink = Sink()
    MaskingStream(sink).write("agi_callerid: 0905123456\n")
    assert "0905123456" not in sink.data and sink.data.startswith("agi_callerid: 090")


def test_an_sms_sent_through_twilio_leaves_no_http_exchange_in_the_logs(caplog, providers):
    sender = TwilioSmsSender(Settings(**providers.settings()))
    quiet_libraries()
    try:
        with caplog.at_level(logging.INFO):
            sender.send_text("+84905123456", "Xin chào")
    finally:
        logging.getLogger("twilio.http_client").setLevel(logging.NOTSET)
    assert providers.to("sms", "+84905123456") == ["Xin chào"]
    # Without it, the twilio client writes about ten INFO lines per message.
    assert [r.getMessage() for r in caplog.records if r.name.startswith("twilio")] == []
