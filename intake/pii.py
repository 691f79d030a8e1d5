"""Personal data never reaches the logs in full: phone numbers and CCCDs are masked."""

from __future__ import annotations

import logging
import sys
from typing import Any

from intake.validation import mask_pii


def masked(value: Any) -> str:
    return mask_pii(str(value))


class PiiMaskingFilter(logging.Filter):
    """Masks phone numbers and CCCDs in every record that passes through a handler."""

    def filter(self, record: logging.LogRecord) -> bool:
        record.msg = mask_pii(record.getMessage())
        record.args = None
        if record.exc_text:
            record.exc_text = mask_pii(record.exc_text)
        return True


class MaskingStream:
    """A text stream wrapper that masks what third-party code prints (pyst2 echoes caller
    numbers to stderr)."""

    def __init__(self, target: Any) -> None:
        self._target = target

    def write(self, text: str) -> int:
        self._target.write(mask_pii(text))
        return len(text)

    def flush(self) -> None:
        self._target.flush()


# Libraries whose INFO records are debugging detail: Alembic announces its context on every
# connection check, and the twilio client writes about ten lines per message sent (request
# line, headers, response headers), which cost a worker more than the send itself.
QUIET_LOGGERS = ("alembic", "twilio.http_client")


def quiet_libraries() -> None:
    """Keep only the warnings of `QUIET_LOGGERS`."""
    for name in QUIET_LOGGERS:
        logging.getLogger(name).setLevel(logging.WARNING)


def configure_logging(level: str = "INFO") -> None:
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    handler.addFilter(PiiMaskingFilter())
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level)
    quiet_libraries()
