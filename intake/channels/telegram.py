"""Telegram Bot API webhooks: the secret token header must equal TELEGRAM_SECRET_TOKEN."""

from __future__ import annotations

import hmac
from typing import Any

from intake.channels.errors import coordinates, forbidden, load_object, malformed
from intake.config import Settings
from intake.models import Channel
from intake.services.inbox import Inbound

FILE_PREFIX = "telegram-file:"


def verify(settings: Settings, header: str | None) -> None:
    if not settings.telegram_secret_token or not header:
        raise forbidden()
    if not hmac.compare_digest(header.encode(), settings.telegram_secret_token.encode()):
        raise forbidden()


def load(raw_body: bytes) -> dict[str, Any]:
    body = load_object(raw_body)
    if not isinstance(body.get("update_id"), int):
        raise malformed("an Update object with update_id is required")
    return body


def parse(body: dict[str, Any]) -> list[Inbound]:
    """The message in an Update; [] for updates that carry none (edits, member changes…)."""
    message = body.get("message")
    if not isinstance(message, dict):
        return []
    chat = message.get("chat")
    if not isinstance(chat, dict) or chat.get("id") is None:
        raise malformed("message.chat.id is required")
    person = message.get("from")
    person = person if isinstance(person, dict) else {}
    name = " ".join(str(person.get(k)) for k in ("first_name", "last_name") if person.get(k))
    text = message.get("text") or message.get("caption") or ""
    item = Inbound(
        channel=Channel.TELEGRAM,
        provider_message_id=str(body["update_id"]),
        sender_id=str(chat["id"]),
        text=text if isinstance(text, str) else "",
        display_name=name or None,
        raw=body,
    )
    photos = message.get("photo")
    if isinstance(photos, list) and photos and isinstance(photos[-1], dict):
        item.attachments.append(FILE_PREFIX + str(photos[-1].get("file_id")))  # largest size
    location = message.get("location")
    if isinstance(location, dict):
        item.latitude, item.longitude = coordinates(
            location.get("latitude"), location.get("longitude")
        )
    return [item]
