"""Twilio Programmable Messaging: form-encoded SMS webhooks, replies through the REST client.

Twilio signs `X-Twilio-Signature` over the public URL it called plus the sorted POST fields,
keyed with the auth token; the twilio library's RequestValidator checks it.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any
from xml.sax.saxutils import escape, quoteattr

from twilio.request_validator import RequestValidator

from intake.channels.errors import forbidden, malformed
from intake.config import Settings
from intake.models import Channel
from intake.services.inbox import Inbound

MAX_MEDIA = 10
EMPTY_TWIML = '<?xml version="1.0" encoding="UTF-8"?><Response/>'


def verify(settings: Settings, url: str, form: Mapping[str, Any], signature: str | None) -> None:
    if not settings.twilio_auth_token or not signature:
        raise forbidden()
    if not RequestValidator(settings.twilio_auth_token).validate(url, form, signature):
        raise forbidden()


def parse_sms(form: Mapping[str, str]) -> Inbound:
    sid = (form.get("MessageSid") or form.get("SmsSid") or "").strip()
    sender = (form.get("From") or "").strip()
    if not sid or not sender:
        raise malformed("MessageSid and From are required")
    try:
        media_count = min(int(form.get("NumMedia") or 0), MAX_MEDIA)
    except ValueError as exc:
        raise malformed("NumMedia must be a whole number") from exc
    media = [form[f"MediaUrl{i}"] for i in range(media_count) if form.get(f"MediaUrl{i}")]
    return Inbound(
        channel=Channel.SMS,
        provider_message_id=sid,
        sender_id=sender,
        text=form.get("Body") or "",
        attachments=media,
        raw={k: v for k, v in form.items() if k not in {"Body"}},
    )


def voice_fallback_twiml(message: str, record_action: str) -> str:
    """Answer a call Asterisk could not take: apologise in Vietnamese and take a voicemail."""
    return (
        '<?xml version="1.0" encoding="UTF-8"?><Response>'
        f'<Say language="vi-VN">{escape(message)}</Say>'
        '<Record maxLength="60" finishOnKey="#" playBeep="true" '
        f"action={quoteattr(record_action)}/>"
        "</Response>"
    )


def parse_voicemail(form: Mapping[str, str]) -> Inbound:
    call = (form.get("CallSid") or "").strip()
    caller = (form.get("From") or "").strip()
    recording = (form.get("RecordingUrl") or "").strip()
    if not call or not caller:
        raise malformed("CallSid and From are required")
    return Inbound(
        channel=Channel.VOICE,
        provider_message_id=f"voicemail:{call}",
        sender_id=caller,
        attachments=[recording] if recording else [],
        raw=dict(form),
    )
