"""Outbound messages through each provider's real client: the twilio library's REST client,
and the Zalo OA, Graph (Messenger) and Telegram Bot HTTP APIs.

A sender returns the provider's message id or raises DeliveryError. Refusals that a retry cannot
fix (HTTP 4xx other than 429: a blocked user, an invalid number) are permanent; network errors,
429 and 5xx are retried by the outbox with back-off.
"""

from __future__ import annotations

import abc
import logging
import os
from datetime import datetime
from typing import Any

import requests
from sqlalchemy.orm import Session
from twilio.base.exceptions import TwilioException, TwilioRestException
from twilio.http.http_client import TwilioHttpClient
from twilio.rest import Client

from intake.config import Settings
from intake.delivery import DeliveryError, Sender, web_chat_sender
from intake.models import Channel, OutboxMessage

log = logging.getLogger(__name__)

TIMEOUT = 10.0
# Longest text each provider takes in one message; longer bodies go as several messages.
LIMITS = {Channel.SMS: 1600, Channel.ZALO: 2000, Channel.MESSENGER: 2000, Channel.TELEGRAM: 4096}


def split_text(text: str, limit: int) -> list[str]:
    """Cut at whitespace into pieces of at most `limit` characters (never an empty list)."""
    pieces: list[str] = []
    rest = text.strip()
    while len(rest) > limit:
        cut = rest.rfind(" ", 0, limit + 1)
        cut = cut if cut > limit // 2 else limit
        pieces.append(rest[:cut].rstrip())
        rest = rest[cut:].lstrip()
    pieces.append(rest)
    return pieces


def _permanent(status: int) -> bool:
    return 400 <= status < 500 and status != 429


def provider_session(base_url: str, http: requests.Session | None = None) -> requests.Session:
    """A connection pool for one provider's API (a new one, or `http` set up).

    The environment's proxy and CA-bundle settings are read once, here, for that API's
    address, instead of on every request (requests re-reads os.environ each time otherwise,
    which cost a sizeable share of a worker's time per reply)."""
    http = http if http is not None else requests.Session()
    http.proxies.update(requests.utils.get_environ_proxies(base_url))
    bundle = os.environ.get("REQUESTS_CA_BUNDLE") or os.environ.get("CURL_CA_BUNDLE")
    if bundle:
        http.verify = bundle
    http.trust_env = False
    return http


class HttpSender(abc.ABC):
    """A JSON-over-HTTPS provider API, one connection pool per process."""

    channel: Channel

    def __init__(self, base_url: str) -> None:
        self.http = provider_session(base_url)

    def __call__(self, session: Session, message: OutboxMessage, now: datetime) -> str | None:
        ids = [self.send_text(message.recipient, part) for part in self.parts(message.body)]
        return ids[0]

    def parts(self, body: str) -> list[str]:
        return split_text(body, LIMITS[self.channel])

    @abc.abstractmethod
    def send_text(self, recipient: str, text: str) -> str:
        """Send one piece of text; the provider's message id."""

    def post(self, url: str, **kwargs: Any) -> dict[str, Any]:
        try:
            response = self.http.post(url, timeout=TIMEOUT, **kwargs)
        except requests.RequestException as exc:
            raise DeliveryError(f"{self.channel.value}: {type(exc).__name__}") from exc
        try:
            data = response.json()
        except ValueError:
            data = {}
        if response.status_code >= 400:
            raise DeliveryError(
                f"{self.channel.value}: HTTP {response.status_code} {str(data)[:300]}",
                permanent=_permanent(response.status_code),
            )
        if not isinstance(data, dict):
            raise DeliveryError(f"{self.channel.value}: unexpected answer {str(data)[:300]}")
        return data


class ZaloSender(HttpSender):
    channel = Channel.ZALO

    def __init__(self, access_token: str, base_url: str) -> None:
        super().__init__(base_url)
        self.url = base_url.rstrip("/") + "/v3.0/oa/message/cs"
        self.http.headers.update({"access_token": access_token})

    def send_text(self, recipient: str, text: str) -> str:
        data = self.post(
            self.url, json={"recipient": {"user_id": recipient}, "message": {"text": text}}
        )
        if data.get("error") not in (0, "0"):
            raise DeliveryError(f"zalo: error {data.get('error')} {data.get('message')}")
        return str((data.get("data") or {}).get("message_id") or "")


class MessengerSender(HttpSender):
    channel = Channel.MESSENGER

    def __init__(self, page_token: str, base_url: str) -> None:
        super().__init__(base_url)
        self.url = base_url.rstrip("/") + "/v19.0/me/messages"
        self.token = page_token

    def send_text(self, recipient: str, text: str) -> str:
        data = self.post(
            self.url,
            params={"access_token": self.token},
            json={
                "recipient": {"id": recipient},
                "messaging_type": "RESPONSE",
                "message": {"text": text},
            },
        )
        return str(data.get("message_id") or "")


class TelegramSender(HttpSender):
    channel = Channel.TELEGRAM

    def __init__(self, bot_token: str, base_url: str) -> None:
        super().__init__(base_url)
        self.url = f"{base_url.rstrip('/')}/bot{bot_token}/sendMessage"

    def send_text(self, recipient: str, text: str) -> str:
        data = self.post(self.url, json={"chat_id": recipient, "text": text})
        if not data.get("ok"):
            raise DeliveryError(f"telegram: {data.get('description')}")
        return str((data.get("result") or {}).get("message_id") or "")


class TwilioSmsSender:
    """SMS (and the SMS that follows a call) through the twilio library's REST client."""

    def __init__(self, settings: Settings) -> None:
        http_client = TwilioHttpClient(timeout=TIMEOUT)
        provider_session(settings.twilio_api_base_url, http_client.session)
        self.client = Client(
            settings.twilio_account_sid, settings.twilio_auth_token, http_client=http_client
        )
        self.client.api.base_url = settings.twilio_api_base_url
        self.from_number = settings.twilio_from_number

    def __call__(self, session: Session, message: OutboxMessage, now: datetime) -> str | None:
        parts = split_text(message.body, LIMITS[Channel.SMS])
        sids = [self.send_text(message.recipient, part) for part in parts]
        return sids[0]

    def send_text(self, recipient: str, text: str) -> str:
        try:
            sent = self.client.messages.create(to=recipient, from_=self.from_number, body=text)
        except TwilioRestException as exc:
            raise DeliveryError(
                f"twilio: HTTP {exc.status} {exc.code}: {exc.msg}"[:500],
                permanent=_permanent(exc.status),
            ) from exc
        except (TwilioException, requests.RequestException) as exc:
            raise DeliveryError(f"twilio: {type(exc).__name__}") from exc
        return str(sent.sid)


def configured_senders(settings: Settings) -> dict[Channel, Sender]:
    """A sender for every channel whose credentials are configured (web chat needs none)."""
    senders: dict[Channel, Sender] = {Channel.WEB: web_chat_sender}
    if settings.twilio_account_sid and settings.twilio_auth_token and settings.twilio_from_number:
        senders[Channel.SMS] = TwilioSmsSender(settings)
    if settings.zalo_access_token:
        senders[Channel.ZALO] = ZaloSender(settings.zalo_access_token, settings.zalo_api_base_url)
    if settings.messenger_page_token:
        senders[Channel.MESSENGER] = MessengerSender(
            settings.messenger_page_token, settings.messenger_api_base_url
        )
    if settings.telegram_bot_token:
        senders[Channel.TELEGRAM] = TelegramSender(
            settings.telegram_bot_token, settings.telegram_api_base_url
        )
    missing = [c.value for c in (Channel.SMS, Channel.ZALO, Channel.MESSENGER, Channel.TELEGRAM)]
    missing = [name for name in missing if Channel(name) not in senders]
    if missing:
        log.info("no credentials for %s: their messages wait in the outbox", ", ".join(missing))
    return senders
