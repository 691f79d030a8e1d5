"""A resident writing from one channel through the real webhooks, for the integration tier."""

from __future__ import annotations

import json
import re
import time
import uuid
import zlib
from typing import Any

import requests

from tests import fakes


class Resident:
    """One resident writing from one channel, the way its provider delivers the messages."""

    def __init__(self, channel: str, url: str, providers: fakes.FakeProviders) -> None:
        self.channel = channel
        self.url = url
        self.providers = providers
        suffix = uuid.uuid4().int % 10**6
        self.address = {
            "sms": f"+84905{suffix:06d}",
            "zalo": f"84362897462758{suffix:06d}",
            "messenger": f"62000{suffix:06d}",
            "telegram": str(5_000_000 + suffix),
            "web": f"web-session-{suffix:06d}-abcdef",
        }[channel]
        self.last_id = ""

    def post(self, body: str, message_id: str | None = None, *, sign: bool = True) -> Any:
        mid = message_id or f"{self.channel}-{uuid.uuid4().hex[:12]}"
        self.last_id = mid
        if self.channel == "sms":
            form = fakes.twilio_sms_form(self.address, body, mid)
            target = f"{self.url}/webhooks/twilio/sms"
            signature = fakes.twilio_signature(target, form) if sign else "bm9wZQ=="
            return requests.post(target, data=form, headers={"X-Twilio-Signature": signature})
        if self.channel == "zalo":
            event = fakes.zalo_event(self.address, body, mid)
            raw = json.dumps(event).encode()
            signature = fakes.zalo_signature(raw, event["timestamp"]) if sign else "mac=00"
            headers = {"X-ZEvent-Signature": signature, "Content-Type": "application/json"}
            return requests.post(f"{self.url}/webhooks/zalo", data=raw, headers=headers)
        if self.channel == "messenger":
            raw = json.dumps(fakes.messenger_event(self.address, body, mid)).encode()
            signature = fakes.messenger_signature(raw) if sign else "sha256=00"
            headers = {"X-Hub-Signature-256": signature, "Content-Type": "application/json"}
            return requests.post(f"{self.url}/webhooks/messenger", data=raw, headers=headers)
        if self.channel == "telegram":
            update_id = zlib.crc32(mid.encode())
            update = fakes.telegram_update(int(self.address), body, update_id)
            secret = fakes.TELEGRAM_SECRET if sign else "wrong"
            headers = {"X-Telegram-Bot-Api-Secret-Token": secret}
            return requests.post(f"{self.url}/webhooks/telegram", json=update, headers=headers)
        payload = {"session": self.address, "id": re.sub(r"[^A-Za-z0-9_-]", "", mid), "text": body}
        return requests.post(f"{self.url}/chat/api/messages", json=payload)

    def replies(self) -> list[str]:
        if self.channel == "web":
            got = requests.get(f"{self.url}/chat/api/messages", params={"session": self.address})
            return [m["text"] for m in got.json()["messages"] if m["direction"] == "outbound"]
        return self.providers.to(self.channel, self.address)

    def wait_replies(self, count: int, timeout: float = 60) -> list[str]:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            texts = self.replies()
            if len(texts) >= count:
                return texts
            time.sleep(0.1)
        raise AssertionError(f"{self.channel}: wanted {count} replies, got {self.replies()}")

    def say(self, body: str, message_id: str | None = None) -> list[str]:
        """Send and wait for the bot's answer to this message."""
        before = len(self.replies())
        response = self.post(body, message_id)
        assert response.status_code in (200, 202), response.text
        return self.wait_replies(before + 1)[before:]
