"""Soak benchmark: a mixed load of chats, telephone calls and console use for 10 minutes, then
the counts in and out compared (nothing lost, nothing doubled).

The production shape on this machine: signed webhooks into gunicorn, PostgreSQL, the inbox relay,
Redis, two Celery workers running the embedded bot, `hotline agi serve` with the `hotline` call
flow, the providers played by the local server of the tests, Asterisk played by the tests' AGI
peer. Load, all at once:

- chats: residents on SMS, Zalo and Telegram each report a complaint and answer the bot until
  they get a case code (a new resident starts every 1/--chat-rate seconds);
- calls: callers report a complaint by keypad, with a recorded description (espeak-ng), one
  every 1/--call-rate seconds;
- console: the public tracking page of a case just reported and the Open311 request list.

    .venv/bin/python bench/soak.py [--minutes 10] [--chat-rate 1.5] [--call-rate 0.3]

Reported: messages in (acknowledged) and stored, replies out, cases out per channel, lost (a
message acknowledged but never answered, or a conversation or call without its case: goal 0),
duplicated (a delivery stored or answered twice, a conversation or call with two cases: goal 0),
and p50/p99 of the webhook acknowledgement, the bot's reply, the AGI command turnaround and the
console pages.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import re
import socket
import sys
import tempfile
import threading
import time
import uuid
from collections import defaultdict
from datetime import UTC, datetime
from pathlib import Path

import requests
from _stack import ROOT, Stack, percentile
from sqlalchemy import text

from tests import fakes
from tests.fixtures.speech import say
from tests.ivr.agi_peer import AgiPeer, Press, Say

CODE = re.compile(r"HUE-\d{6}-\d{4}")
COMPLAINTS = [
    "Rác thải đổ trộm đầy đầu kiệt 15 Nguyễn Trãi phường Tây Lộc mấy hôm nay bốc mùi",
    "Đèn đường trên đường Lê Lợi đoạn trước trường Quốc Học bị hỏng cả tuần nay",
    "Ổ gà lớn giữa đường Hùng Vương gần ngã tư Bà Triệu, xe máy té mấy lần rồi",
    "Quán karaoke ở kiệt 4 Chi Lăng phường Phú Hậu hát to đến nửa đêm",
]


class Tally:
    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.acks: list[float] = []
        self.replies: list[float] = []
        self.agi: list[float] = []
        self.console: list[float] = []
        self.sent: dict[str, int] = defaultdict(int)  # channel -> messages acknowledged
        self.refused: list[str] = []
        self.codes: dict[str, list[str]] = defaultdict(list)  # conversation/call -> codes
        self.unfinished: list[str] = []
        self.calls = 0
        self.call_problems: list[str] = []

    def add(self, series: str, value: float) -> None:
        with self.lock:
            getattr(self, series).append(value)


class ChatResident:
    """One resident on one channel, answering the bot until a case code arrives."""

    def __init__(self, channel: str, url: str, providers: fakes.FakeProviders, n: int) -> None:
        self.channel, self.url, self.providers = channel, url, providers
        self.address = {
            "sms": f"+8493{n:07d}",
            "zalo": f"8436{n:012d}",
            "telegram": str(7_000_000 + n),
        }[channel]
        self.n = n

    def post(self, text: str, tally: Tally) -> None:
        mid = f"{self.channel}-{uuid.uuid4().hex[:16]}"
        started = time.perf_counter()
        if self.channel == "sms":
            form = fakes.twilio_sms_form(self.address, text, "SM" + uuid.uuid4().hex)
            target = f"{self.url}/webhooks/twilio/sms"
            headers = {"X-Twilio-Signature": fakes.twilio_signature(target, form)}
            response = requests.post(target, data=form, headers=headers, timeout=30)
        elif self.channel == "zalo":
            event = fakes.zalo_event(self.address, text, mid)
            raw = json.dumps(event).encode()
            headers = {
                "X-ZEvent-Signature": fakes.zalo_signature(raw, event["timestamp"]),
                "Content-Type": "application/json",
            }
            response = requests.post(f"{self.url}/webhooks/zalo", data=raw, headers=headers)
        else:
            update = fakes.telegram_update(int(self.address), text, uuid.uuid4().int % 2**31)
            headers = {"X-Telegram-Bot-Api-Secret-Token": fakes.TELEGRAM_SECRET}
            response = requests.post(f"{self.url}/webhooks/telegram", json=update, headers=headers)
        tally.add("acks", time.perf_counter() - started)
        if response.status_code != 200:
            tally.refused.append(f"{self.channel} {response.status_code}")
        else:
            with tally.lock:
                tally.sent[self.channel] += 1

    def converse(self, tally: Tally, timeout: float = 120) -> None:
        said = 0
        text = COMPLAINTS[self.n % len(COMPLAINTS)]
        key = f"{self.channel}:{self.address}"
        for _ in range(5):
            before = len(self.providers.to(self.channel, self.address))
            started = time.perf_counter()
            self.post(text, tally)
            said += 1
            replies = self._wait(before + 1, timeout)
            if replies is None:
                tally.unfinished.append(f"{key}: no answer to message {said}")
                return
            tally.add("replies", time.perf_counter() - started)
            time.sleep(0.3)  # let a second reply to the same message arrive, if any
            replies = self.providers.to(self.channel, self.address)
            codes = CODE.findall(" ".join(replies[before:]))
            if codes:
                with tally.lock:
                    tally.codes[key].extend(codes)
                return
            last = replies[-1]
            text = "không có ảnh" if "ảnh" in last and "đúng" not in last else "đúng"
        tally.unfinished.append(f"{key}: no case code after {said} messages")

    def _wait(self, count: int, timeout: float) -> list[str] | None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            replies = self.providers.to(self.channel, self.address)
            if len(replies) >= count:
                return replies
            time.sleep(0.05)
        return None


def caller_loop(port: int, audio: Path, tally: Tally, stop: threading.Event, rate: float) -> None:
    threads = []
    n = 0
    while not stop.is_set():
        n += 1
        caller = f"+8491300{n:04d}"
        threads.append(threading.Thread(target=one_call, args=(port, caller, audio, tally)))
        threads[-1].start()
        stop.wait(1 / rate)
    for thread in threads:
        thread.join()


def one_call(port: int, caller: str, audio: Path, tally: Tally) -> None:
    peer = AgiPeer(port, caller=caller, media_delay_s=0.05, timeout_s=120)
    try:
        result = peer.call("hotline", [Press("1"), Say(audio, "dtmf"), Press("1"), Press("1")])
    except OSError as exc:
        tally.call_problems.append(f"{caller}: {exc}")
        return
    with tally.lock:
        tally.calls += 1
        tally.agi.extend(result.think_times)
    problems = result.silence_problems()
    if problems:
        tally.call_problems.append(f"{caller}: {problems[0]}")
    digits = getattr(result, "digits_said", [])
    if not digits:
        tally.unfinished.append(f"call {caller}: no case code read out")
    else:
        with tally.lock:
            tally.codes[f"voice:{caller}"].append(digits[0])


def chat_loop(stack: Stack, tally: Tally, stop: threading.Event, rate: float) -> None:
    threads = []
    n = 0
    channels = ("sms", "zalo", "telegram")
    while not stop.is_set():
        n += 1
        resident = ChatResident(channels[n % 3], stack.url, stack.providers, n)
        threads.append(threading.Thread(target=resident.converse, args=(tally,)))
        threads[-1].start()
        stop.wait(1 / rate)
    for thread in threads:
        thread.join()


def console_loop(stack: Stack, tally: Tally, stop: threading.Event) -> None:
    session = requests.Session()
    while not stop.is_set():
        with tally.lock:
            codes = [c for cs in tally.codes.values() for c in cs if c.startswith("HUE")]
        for path in ([f"/track/{codes[-1]}"] if codes else []) + [
            "/open311/v2/requests.json",
            "/login",
        ]:
            started = time.perf_counter()
            response = session.get(stack.url + path, timeout=30)
            tally.add("console", time.perf_counter() - started)
            if response.status_code != 200:
                tally.refused.append(f"GET {path} {response.status_code}")
        stop.wait(0.5)


def wait_for_port(port: int, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            return
        except OSError:
            time.sleep(0.2)
    raise RuntimeError(f"nothing listening on {port}")


def ms(values: list[float], q: float) -> float:
    return round(percentile(sorted(values), q / 100) * 1000, 1) if values else 0.0


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--minutes", type=float, default=10.0)
    parser.add_argument("--chat-rate", type=float, default=1.5, help="new chat residents per s")
    parser.add_argument("--call-rate", type=float, default=0.3, help="new calls per s")
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--out", type=Path, default=ROOT / "bench/results/soak.json")
    args = parser.parse_args()
    tally = Tally()
    with tempfile.TemporaryDirectory(prefix="hotline-soak-") as tmp, Stack(Path(tmp)) as stack:
        agi_port = fakes.free_port()
        stack.env.update(
            INBOX_RELAY="true",
            IVR_OPEN_HOURS="00:00-24:00",
            IVR_RECORDINGS_DIR=str(Path(tmp) / "recordings"),
        )
        stack.start_web()
        stack.start_workers(args.workers)
        stack.start_relay()
        stack._spawn(
            [sys.executable, "-m", "intake", "agi", "serve", "--port", str(agi_port)], "agi.log"
        )
        wait_for_port(agi_port)
        audio = say(COMPLAINTS[0], Path(tmp) / "complaint.wav")
        stop = threading.Event()
        loops = [
            threading.Thread(target=chat_loop, args=(stack, tally, stop, args.chat_rate)),
            threading.Thread(
                target=caller_loop, args=(agi_port, audio, tally, stop, args.call_rate)
            ),
            threading.Thread(target=console_loop, args=(stack, tally, stop)),
        ]
        started = time.monotonic()
        for loop in loops:
            loop.start()
        while time.monotonic() - started < args.minutes * 60:
            time.sleep(10)
            print(
                f"{time.monotonic() - started:6.0f} s: {sum(tally.sent.values())} messages, "
                f"{tally.calls} calls, {len(tally.codes)} cases reported back",
                flush=True,
            )
        stop.set()
        for loop in loops:
            loop.join()
        load_s = time.monotonic() - started
        time.sleep(5)  # the last outbox sends
        stored = stack.scalar("SELECT count(*) FROM inbound_deliveries")
        pending = stack.scalar("SELECT count(*) FROM inbound_deliveries WHERE status <> 'done'")
        doubled_deliveries = stack.scalar(
            "SELECT count(*) FROM (SELECT provider_message_id FROM inbound_deliveries "
            "GROUP BY channel, provider_message_id HAVING count(*) > 1) d"
        )
        with stack.engine.connect() as conn:
            rows = conn.execute(text("SELECT channel, count(*) FROM cases GROUP BY 1"))
            cases_by_channel = {str(channel): int(count) for channel, count in rows}
        calls_recorded = stack.scalar("SELECT count(*) FROM calls")
    sent = sum(tally.sent.values())
    reporters_with_two_codes = [k for k, codes in tally.codes.items() if len(set(codes)) > 1]
    chat_cases = sum(v for k, v in cases_by_channel.items() if k != "voice")
    chats_done = sum(1 for k in tally.codes if not k.startswith("voice:"))
    voice_done = sum(1 for k in tally.codes if k.startswith("voice:"))
    result = {
        "benchmark": "soak",
        "when": datetime.now(UTC).isoformat(timespec="seconds"),
        "machine": {"python": platform.python_version(), "cpus": os.cpu_count()},
        "minutes": round(load_s / 60, 1),
        "messages_in": sent,
        "messages_stored": stored,
        "messages_unanswered": pending,
        "calls": tally.calls,
        "calls_recorded": calls_recorded,
        "cases_out": cases_by_channel,
        "conversations_with_a_case": chats_done,
        "calls_with_a_case": voice_done,
        "lost": len(tally.unfinished) + pending + max(0, sent - stored),
        "lost_detail": tally.unfinished[:20],
        "duplicated": doubled_deliveries
        + len(reporters_with_two_codes)
        + max(0, chat_cases - chats_done),
        "refused": tally.refused[:20],
        "call_problems": tally.call_problems[:20],
        "ack_ms": {"p50": ms(tally.acks, 50), "p99": ms(tally.acks, 99)},
        "reply_ms": {"p50": ms(tally.replies, 50), "p99": ms(tally.replies, 99)},
        "agi_command_ms": {"p50": ms(tally.agi, 50), "p99": ms(tally.agi, 99)},
        "console_ms": {"p50": ms(tally.console, 50), "p99": ms(tally.console, 99)},
    }
    print(json.dumps(result, indent=2, ensure_ascii=False))
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(result, indent=2, ensure_ascii=False) + "\n")
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
