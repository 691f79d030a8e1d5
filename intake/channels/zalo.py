"""Zalo Official Account webhooks.

`X-ZEvent-Signature: mac=<sha256 hex of app_id + raw body + timestamp + OA secret key>`, the
timestamp taken from the JSON body. Zalo wants a 200 within 2 seconds or it retries and in the
end disables the webhook: the delivery is stored and the bot runs later. User ids are big
integers and always kept as strings.
"""

from __future__ import annotations

import hashlib
import hmac
from typing import Any

from intake.channels.errors import coordinates, forbidden, malformed
from intake.config import Settings
from intake.models import Channel
from intake.services.inbox import Inbound

MESSAGE_EVENTS = {
    "user_send_text",
    "user_send_image",
    "user_send_location",
    "user_send_link",
    "user_send_sticker",
    "user_send_gif",
    "user_send_file",
    "user_send_audio",
    "user_send_video",
}


def signature(settings: Settings, raw_body: bytes, timestamp: str) -> str:
    data = settings.zalo_app_id.encode() + raw_body + timestamp.encode()
    return hashlib.sha256(data + settings.zalo_oa_secret_key.encode()).hexdigest()


def verify(settings: Settings, raw_body: bytes, header: str | None, body: dict[str, Any]) -> None:
    if not settings.zalo_oa_secret_key or not header:
        raise forbidden()
    given = header.strip()
    if given.startswith("mac="):
        given = given[len("mac=") :]
    expected = signature(settings, raw_body, str(body.get("timestamp", "")))
    if not hmac.compare_digest(given.strip().lower(), expected):
        raise forbidden()


def parse(body: dict[str, Any]) -> list[Inbound]:
    """The resident's message in a Zalo event; [] for events that carry none (follow, seen…)."""
    event = body.get("event_name")
    if not isinstance(event, str):
        raise malformed("event_name is required")
    if event not in MESSAGE_EVENTS:
        return []
    sender = body.get("sender")
    message = body.get("message")
    if not isinstance(sender, dict) or not isinstance(message, dict):
        raise malformed("sender and message are required")
    sender_id = str(sender.get("id") or "").strip()
    msg_id = str(message.get("msg_id") or "").strip()
    if not sender_id or not msg_id:
        raise malformed("sender.id and message.msg_id are required")
    text = message.get("text")
    text = text if isinstance(text, str) else ""
    item = Inbound(
        channel=Channel.ZALO, provider_message_id=msg_id, sender_id=sender_id, text=text, raw=body
    )
    attachments = message.get("attachments") or []
    if not isinstance(attachments, list):
        raise malformed("message.attachments must be a list")
    for attachment in attachments:
        payload = attachment.get("payload") if isinstance(attachment, dict) else None
        if not isinstance(payload, dict):
            continue
        place = payload.get("coordinates")
        if isinstance(place, dict):
            item.latitude, item.longitude = coordinates(
                place.get("latitude"), place.get("longitude")
            )
        elif isinstance(payload.get("url"), str):
            item.attachments.append(payload["url"])
    return [item]
