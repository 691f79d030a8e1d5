"""The web chat widget's JSON protocol: the page posts messages and polls for replies."""

from __future__ import annotations

import re
from typing import Any

from intake.channels.errors import malformed
from intake.models import Channel
from intake.services.inbox import Inbound

SESSION_RE = re.compile(r"^[A-Za-z0-9_-]{16,64}$")
MESSAGE_ID_RE = re.compile(r"^[A-Za-z0-9_-]{1,60}$")
MAX_TEXT = 4000


def check_session(value: Any) -> str:
    if not isinstance(value, str) or not SESSION_RE.match(value):
        raise malformed("session must be 16-64 letters, digits, '-' or '_'")
    return value


def parse(body: Any) -> Inbound:
    if not isinstance(body, dict):
        raise malformed("body must be a JSON object")
    session = check_session(body.get("session"))
    message_id = body.get("id")
    if not isinstance(message_id, str) or not MESSAGE_ID_RE.match(message_id):
        raise malformed("id must be 1-60 letters, digits, '-' or '_'")
    text = body.get("text")
    if not isinstance(text, str):
        raise malformed("text must be a string")
    if len(text) > MAX_TEXT:
        raise malformed(f"text is longer than {MAX_TEXT} characters")
    return Inbound(
        channel=Channel.WEB,
        provider_message_id=f"{session}:{message_id}",
        sender_id=session,
        text=text,
    )
