"""Facebook Messenger (Graph API) webhooks.

GET with `hub.mode=subscribe` and the verify token echoes `hub.challenge`; POSTs are signed
`X-Hub-Signature-256: sha256=<hex HMAC-SHA256 of the raw body with the app secret>`. One POST may
carry several messages; echoes of the page's own messages and delivery/read receipts are ignored.
"""

from __future__ import annotations

import hashlib
import hmac
from typing import Any

from intake.channels.errors import coordinates, forbidden, malformed
from intake.config import Settings
from intake.models import Channel
from intake.services.inbox import Inbound


def sign(secret: str, raw_body: bytes) -> str:
    return "sha256=" + hmac.new(secret.encode(), raw_body, hashlib.sha256).hexdigest()


def verify(settings: Settings, raw_body: bytes, header: str | None) -> None:
    if not settings.messenger_app_secret or not header:
        raise forbidden()
    if not hmac.compare_digest(
        header.strip().lower(), sign(settings.messenger_app_secret, raw_body)
    ):
        raise forbidden()


def challenge(settings: Settings, args: dict[str, str]) -> str:
    """The subscription handshake: the challenge back when the verify token matches."""
    token = args.get("hub.verify_token") or ""
    if (
        args.get("hub.mode") != "subscribe"
        or not settings.messenger_verify_token
        or not hmac.compare_digest(token, settings.messenger_verify_token)
    ):
        raise forbidden("verify token mismatch")
    return args.get("hub.challenge") or ""


def parse(body: dict[str, Any]) -> list[Inbound]:
    if body.get("object") != "page":
        return []
    entries = body.get("entry")
    if not isinstance(entries, list):
        raise malformed("entry must be a list")
    items: list[Inbound] = []
    for entry in entries:
        events = entry.get("messaging") if isinstance(entry, dict) else None
        if not isinstance(events, list):
            continue
        for event in events:
            item = _event(event) if isinstance(event, dict) else None
            if item is not None:
                items.append(item)
    return items


def _event(event: dict[str, Any]) -> Inbound | None:
    sender = event.get("sender")
    sender_id = str(sender.get("id") or "") if isinstance(sender, dict) else ""
    message = event.get("message")
    postback = event.get("postback")
    if isinstance(message, dict) and not message.get("is_echo"):
        mid = str(message.get("mid") or "")
        if not sender_id or not mid:
            raise malformed("sender.id and message.mid are required")
        text = message.get("text")
        text = text if isinstance(text, str) else ""
        quick = message.get("quick_reply")
        if not text and isinstance(quick, dict) and isinstance(quick.get("payload"), str):
            text = quick["payload"]
        item = Inbound(Channel.MESSENGER, mid, sender_id, text=text, raw=event)
        for attachment in message.get("attachments") or []:
            payload = attachment.get("payload") if isinstance(attachment, dict) else None
            if not isinstance(payload, dict):
                continue
            place = payload.get("coordinates")
            if isinstance(place, dict):
                item.latitude, item.longitude = coordinates(place.get("lat"), place.get("long"))
            elif isinstance(payload.get("url"), str):
                item.attachments.append(payload["url"])
        return item
    if isinstance(postback, dict) and sender_id:
        mid = str(postback.get("mid") or f"postback:{sender_id}:{event.get('timestamp')}")
        text = str(postback.get("payload") or postback.get("title") or "")
        return Inbound(Channel.MESSENGER, mid, sender_id, text=text, raw=event)
    return None  # delivery and read receipts, echoes, reactions
