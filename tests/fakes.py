"""Stand-ins for the outside world: the providers' APIs and the providers' signatures.

`FakeProviders` is a real HTTP server on 127.0.0.1 that answers like the Twilio REST API, the
Zalo OA API, the Graph API and the Telegram Bot API, and records every request it receives.
The `sign_*` helpers sign webhook requests the way each provider does.
"""

from __future__ import annotations

import hashlib
import hmac
import itertools
import json
import re
import socket
import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlencode, urlparse

from twilio.request_validator import RequestValidator

TWILIO_SID = "AC" + "0" * 32
TWILIO_TOKEN = "twilio-auth-token-for-tests"
TWILIO_FROM = "+19005550100"
ZALO_APP_ID = "1234567890123456789"
ZALO_SECRET = "zalo-oa-secret-for-tests"
ZALO_TOKEN = "zalo-access-token"
MESSENGER_SECRET = "messenger-app-secret"
MESSENGER_VERIFY = "messenger-verify-token"
MESSENGER_PAGE_TOKEN = "messenger-page-token"
TELEGRAM_TOKEN = "123456:telegram-bot-token"
TELEGRAM_SECRET = "telegram-secret-token"


@dataclass
class Sent:
    """One request a provider API received."""

    channel: str
    recipient: str
    text: str
    path: str
    headers: dict[str, str]
    body: Any


@dataclass
class FakeProviders:
    host: str = "127.0.0.1"
    sent: list[Sent] = field(default_factory=list)
    fail_next: list[int] = field(default_factory=list)  # HTTP statuses to answer, in order
    delay: float = 0.0
    on_sent: Any = None  # called with each Sent, e.g. to answer the bot in a benchmark
    # Files served on GET (Twilio recordings): path -> bytes; each GET's headers are kept.
    files: dict[str, bytes] = field(default_factory=dict)
    fetched: list[tuple[str, dict[str, str]]] = field(default_factory=list)
    _ids: Any = field(default_factory=lambda: itertools.count(1))
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def start(self) -> FakeProviders:
        providers = self

        class Handler(BaseHTTPRequestHandler):
            # Keep-alive, as the real APIs: a sender reuses its connection (every answer
            # carries its Content-Length).
            protocol_version = "HTTP/1.1"
            disable_nagle_algorithm = True  # headers and body go out as two writes

            def log_message(self, *args: Any) -> None:
                pass

            def do_GET(self) -> None:
                providers.fetched.append((self.path, dict(self.headers)))
                body = providers.files.get(self.path)
                self.send_response(200 if body is not None else 404)
                self.send_header("Content-Length", str(len(body or b"")))
                self.end_headers()
                self.wfile.write(body or b"")

            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                raw = self.rfile.read(length)
                status, answer = providers.handle(self.path, dict(self.headers), raw)
                data = json.dumps(answer).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

        self.server = ThreadingHTTPServer((self.host, 0), Handler)
        self.server.daemon_threads = True
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()
        return self

    @property
    def url(self) -> str:
        host, port = self.server.server_address[:2]
        return f"http://{host}:{port}"

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()

    def settings(self) -> dict[str, str]:
        """Provider credentials and API addresses, as `Settings` field values."""
        return {
            "twilio_account_sid": TWILIO_SID,
            "twilio_auth_token": TWILIO_TOKEN,
            "twilio_from_number": TWILIO_FROM,
            "twilio_api_base_url": self.url,
            "zalo_app_id": ZALO_APP_ID,
            "zalo_oa_secret_key": ZALO_SECRET,
            "zalo_access_token": ZALO_TOKEN,
            "zalo_api_base_url": self.url,
            "messenger_app_secret": MESSENGER_SECRET,
            "messenger_verify_token": MESSENGER_VERIFY,
            "messenger_page_token": MESSENGER_PAGE_TOKEN,
            "messenger_api_base_url": self.url,
            "telegram_bot_token": TELEGRAM_TOKEN,
            "telegram_secret_token": TELEGRAM_SECRET,
            "telegram_api_base_url": self.url,
        }

    def environ(self) -> dict[str, str]:
        """The same, as environment variables for a worker process."""
        return {key.upper(): value for key, value in self.settings().items()}

    def handle(self, path: str, headers: dict[str, str], raw: bytes) -> tuple[int, Any]:
        if self.delay:
            time.sleep(self.delay)
        parsed = urlparse(path)
        with self._lock:
            if self.fail_next:
                return self.fail_next.pop(0), {"error": "provider says no"}
            n = next(self._ids)
            if re.fullmatch(r"/2010-04-01/Accounts/[^/]+/Messages\.json", parsed.path):
                form = {k: v[0] for k, v in parse_qs(raw.decode()).items()}
                self._record(
                    Sent("sms", form.get("To", ""), form.get("Body", ""), path, headers, form)
                )
                sid = f"SM{n:032x}"
                return 201, {
                    "sid": sid,
                    "status": "queued",
                    "to": form.get("To"),
                    "body": form.get("Body"),
                }
            body = json.loads(raw or b"{}")
            if parsed.path == "/v3.0/oa/message/cs":
                recipient = body["recipient"]["user_id"]
                self._record(Sent("zalo", recipient, body["message"]["text"], path, headers, body))
                return 200, {"error": 0, "message": "Success", "data": {"message_id": f"z{n}"}}
            if parsed.path == "/v19.0/me/messages":
                recipient = body["recipient"]["id"]
                self._record(
                    Sent("messenger", recipient, body["message"]["text"], path, headers, body)
                )
                return 200, {"recipient_id": recipient, "message_id": f"m_{n}"}
            if parsed.path.endswith("/sendMessage"):
                chat = str(body["chat_id"])
                self._record(Sent("telegram", chat, body["text"], path, headers, body))
                return 200, {"ok": True, "result": {"message_id": n, "chat": {"id": chat}}}
            return 404, {"error": f"unknown path {parsed.path}"}

    def _record(self, sent: Sent) -> None:
        self.sent.append(sent)
        if self.on_sent is not None:
            self.on_sent(sent)

    def to(self, channel: str, recipient: str) -> list[str]:
        with self._lock:
            return [s.text for s in self.sent if s.channel == channel and s.recipient == recipient]

    def wait_for(
        self, channel: str, recipient: str, count: int = 1, timeout: float = 30.0
    ) -> list[str]:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            texts = self.to(channel, recipient)
            if len(texts) >= count:
                return texts
            time.sleep(0.05)
        raise AssertionError(
            f"{channel} {recipient}: expected {count} messages, got {self.to(channel, recipient)}"
        )


def free_port() -> int:
    """A TCP port nobody listens on right now, for a server a test or benchmark starts."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


# -- signing webhook requests as the providers do ------------------------------------------
def twilio_signature(url: str, form: dict[str, str], token: str = TWILIO_TOKEN) -> str:
    return str(RequestValidator(token).compute_signature(url, form))


def twilio_sms_form(sender: str, body: str, sid: str, **extra: str) -> dict[str, str]:
    return {
        "MessageSid": sid,
        "SmsSid": sid,
        "AccountSid": TWILIO_SID,
        "From": sender,
        "To": TWILIO_FROM,
        "Body": body,
        "NumMedia": "0",
        **extra,
    }


def zalo_event(
    user_id: str, text: str, msg_id: str, event: str = "user_send_text", **message: Any
) -> dict[str, Any]:
    return {
        "app_id": ZALO_APP_ID,
        "user_id_by_app": "55" + user_id[-6:],
        "event_name": event,
        "timestamp": str(int(time.time() * 1000)),
        "sender": {"id": user_id},
        "recipient": {"id": "579745863508352884"},
        "message": {"msg_id": msg_id, "text": text, **message},
    }


def zalo_signature(
    raw: bytes, timestamp: str, app_id: str = ZALO_APP_ID, secret: str = ZALO_SECRET
) -> str:
    return (
        "mac="
        + hashlib.sha256(app_id.encode() + raw + timestamp.encode() + secret.encode()).hexdigest()
    )


def messenger_event(psid: str, text: str, mid: str, **message: Any) -> dict[str, Any]:
    return {
        "object": "page",
        "entry": [
            {
                "id": "1122334455",
                "time": int(time.time() * 1000),
                "messaging": [
                    {
                        "sender": {"id": psid},
                        "recipient": {"id": "1122334455"},
                        "timestamp": int(time.time() * 1000),
                        "message": {"mid": mid, "text": text, **message},
                    }
                ],
            }
        ],
    }


def messenger_signature(raw: bytes, secret: str = MESSENGER_SECRET) -> str:
    return "sha256=" + hmac.new(secret.encode(), raw, hashlib.sha256).hexdigest()


def telegram_update(chat_id: int, text: str, update_id: int, **message: Any) -> dict[str, Any]:
    return {
        "update_id": update_id,
        "message": {
            "message_id": update_id % 100000,
            "from": {"id": chat_id, "is_bot": False, "first_name": "Lan", "last_name": "Trần"},
            "chat": {"id": chat_id, "type": "private"},
            "date": int(time.time()),
            "text": text,
            **message,
        },
    }


def form_body(form: dict[str, str]) -> str:
    return urlencode(form)
