"""Benchmark: a support-registration wave, end to end.

N residents (default 20,000) register for the support package by SMS at once, as in Huế's 2021
wave. Each resident is a small program that answers whatever the bot asks: the first message
carries the whole registration ("Đăng ký hỗ trợ: <name>, CCCD …, sinh ngày …, SĐT …, địa chỉ …"),
then the household question and the confirmation are answered. A share of residents (default
2 %) reuse a CCCD registered by someone else and must be refused.

The stack is the production one on this machine: signed Twilio webhooks into the web app under
gunicorn, PostgreSQL, the inbox relay, Redis, Celery worker processes running the embedded bot,
and replies sent through the twilio library to a local server standing in for Twilio.

    .venv/bin/python bench/registration_wave.py [--residents 20000] [--in-flight 300]

Reported: the time until every resident got a final answer, messages in and out, registrations
stored, duplicates refused, residents lost (no final answer: the goal is 0), reply latency.
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import platform
import queue
import tempfile
import threading
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from urllib.parse import urlencode

from _stack import Stack, percentile

from tests import fakes

SURNAMES = ["Nguyễn", "Trần", "Lê", "Phạm", "Hoàng", "Phan", "Võ", "Đặng", "Bùi", "Đỗ", "Hồ", "Ngô"]
MIDDLE = ["Văn", "Thị", "Đức", "Minh", "Thanh", "Ngọc", "Quang", "Hữu", "Thu", "Xuân"]
GIVEN = [
    "An",
    "Bình",
    "Cúc",
    "Dũng",
    "Hà",
    "Hải",
    "Hoa",
    "Hùng",
    "Lan",
    "Long",
    "Mai",
    "Nam",
    "Phúc",
    "Quỳnh",
    "Sơn",
    "Tâm",
    "Thảo",
    "Trung",
    "Tuấn",
    "Vy",
]
STREETS = [
    "Lê Lợi",
    "Nguyễn Huệ",
    "Trần Hưng Đạo",
    "Hùng Vương",
    "Phan Đình Phùng",
    "Bà Triệu",
    "Nguyễn Trãi",
    "Chi Lăng",
    "Điện Biên Phủ",
    "Lê Duẩn",
]
WARDS = [
    "Phú Hội",
    "Vĩnh Ninh",
    "An Cựu",
    "Tây Lộc",
    "Thuận Hòa",
    "Phú Nhuận",
    "Xuân Phú",
    "Vỹ Dạ",
    "Kim Long",
    "Phú Hậu",
]

ASKS = {
    "họ và tên đầy đủ": "name",
    "Số căn cước công dân": "cccd",
    "Ngày sinh của bạn": "dob",
    "Số điện thoại để liên hệ": "phone",
    "Địa chỉ nơi ở hiện tại": "address",
    "Hộ gia đình bạn còn ai": "household",
    "Tổng đài xin đọc lại": "confirm",
}
DONE = "Đã nhận hồ sơ đăng ký"
DUPLICATE = "Số CCCD này đã được đăng ký"


@dataclass
class Resident:
    index: int
    phone: str
    name: str
    cccd: str
    dob: str
    address: str
    duplicate: bool
    sent_at: float = 0.0
    latencies: list[float] = field(default_factory=list)
    outcome: str | None = None
    messages: int = 0

    def first_message(self) -> str:
        return (
            f"Đăng ký nhận hỗ trợ: {self.name}, CCCD {self.cccd}, sinh ngày {self.dob}, "
            f"SĐT {self.phone_local}, địa chỉ {self.address}"
        )

    @property
    def phone_local(self) -> str:
        return "0" + self.phone[3:]

    def answer(self, question: str) -> str | None:
        return {
            "name": self.name,
            "cccd": self.cccd,
            "dob": self.dob,
            "phone": self.phone_local,
            "address": self.address,
            "household": "không",
            "confirm": "đúng",
        }.get(question)


def make_residents(count: int, duplicate_share: float) -> list[Resident]:
    people = []
    every = int(1 / duplicate_share) if duplicate_share > 0 else 0
    for i in range(count):
        year = 1950 + i % 50
        day, month = 1 + i % 28, 1 + (i // 28) % 12
        duplicate = bool(every) and i % every == every - 1 and i > every
        serial = (i - every + 1) if duplicate else i  # reuse an earlier resident's CCCD
        source_year = 1950 + serial % 50
        source_sex = serial % 2
        cccd = f"046{source_sex}{source_year % 100:02d}{serial:06d}"
        if duplicate:
            year = source_year
            day, month = 1 + serial % 28, 1 + (serial // 28) % 12
        name = f"{SURNAMES[i % 12]} {MIDDLE[(i // 12) % 10]} {GIVEN[(i // 120) % 20]}"
        address = f"số {1 + i % 200} {STREETS[i % 10]}, phường {WARDS[(i // 10) % 10]}"
        people.append(
            Resident(
                index=i,
                phone=f"+8493{i:07d}",
                name=name,
                cccd=cccd,
                dob=f"{day:02d}/{month:02d}/{year}",
                address=address,
                duplicate=duplicate,
            )
        )
    return people


class Wave:
    def __init__(
        self, stack: Stack, residents: list[Resident], in_flight: int, senders: int
    ) -> None:
        self.stack = stack
        self.by_phone = {r.phone: r for r in residents}
        self.waiting: queue.Queue[Resident] = queue.Queue()
        self.outbox: queue.Queue[tuple[Resident, str] | None] = queue.Queue()
        self.slots = threading.Semaphore(in_flight)
        self.residents = residents
        self.senders = senders
        self.finished = 0
        self.unexpected: list[str] = []
        self.lock = threading.Lock()
        self.all_done = threading.Event()
        self.url = f"{stack.url}/webhooks/twilio/sms"
        self.counter = 0
        stack.providers.on_sent = self.on_reply

    def on_reply(self, sent: fakes.Sent) -> None:
        resident = self.by_phone.get(sent.recipient)
        if resident is None:
            return
        now = time.perf_counter()
        text = sent.text
        if DONE in text or DUPLICATE in text:
            resident.latencies.append(now - resident.sent_at)
            resident.outcome = "registered" if DONE in text else "refused"
            self.finish()
            return
        for marker, question in ASKS.items():
            if marker in text:
                resident.latencies.append(now - resident.sent_at)
                self.outbox.put((resident, resident.answer(question) or ""))
                return
        with self.lock:
            self.unexpected.append(f"{resident.phone}: {text[:120]}")

    def finish(self) -> None:
        self.slots.release()
        with self.lock:
            self.finished += 1
            if self.finished == len(self.residents):
                self.all_done.set()

    def feeder(self) -> None:
        for resident in self.residents:
            self.slots.acquire()
            self.outbox.put((resident, resident.first_message()))

    def sender(self) -> None:
        conn = http.client.HTTPConnection("127.0.0.1", self.stack.port, timeout=60)
        while True:
            item = self.outbox.get()
            if item is None:
                return
            resident, body = item
            with self.lock:
                self.counter += 1
                sid = f"SM{self.counter:032d}"
            form = fakes.twilio_sms_form(resident.phone, body, sid)
            headers = {
                "Content-Type": "application/x-www-form-urlencoded",
                "X-Twilio-Signature": fakes.twilio_signature(self.url, form),
            }
            resident.messages += 1
            for _attempt in range(5):  # as Twilio does: retry until the webhook says 200
                resident.sent_at = time.perf_counter()
                try:
                    conn.request("POST", "/webhooks/twilio/sms", urlencode(form), headers)
                    response = conn.getresponse()
                    response.read()
                    if response.status == 200:
                        break
                except (http.client.HTTPException, OSError):
                    conn.close()
                    conn = http.client.HTTPConnection("127.0.0.1", self.stack.port, timeout=60)
                time.sleep(0.5)

    def run(self, timeout: float) -> float:
        threads = [threading.Thread(target=self.sender, daemon=True) for _ in range(self.senders)]
        for t in threads:
            t.start()
        started = time.perf_counter()
        feeder = threading.Thread(target=self.feeder, daemon=True)
        feeder.start()
        last = -1
        while not self.all_done.wait(5.0):
            elapsed = time.perf_counter() - started
            print(f"  {elapsed:6.0f} s: {self.finished}/{len(self.residents)} residents answered")
            if elapsed > timeout or (
                self.finished == last and elapsed > 120 and self.outbox.empty() and self._stalled()
            ):
                break
            last = self.finished
        elapsed = time.perf_counter() - started
        for _ in threads:
            self.outbox.put(None)
        return elapsed

    def _stalled(self) -> bool:
        pending = self.stack.scalar(
            "SELECT count(*) FROM inbound_deliveries WHERE status = 'pending'"
        )
        return pending == 0


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--residents", type=int, default=20_000)
    parser.add_argument("--in-flight", type=int, default=300, help="residents writing at once")
    parser.add_argument("--duplicates", type=float, default=0.02, help="share reusing a CCCD")
    parser.add_argument("--workers", type=int, default=3, help="Celery worker processes")
    parser.add_argument("--senders", type=int, default=16, help="client connections")
    parser.add_argument("--timeout", type=float, default=1800)
    parser.add_argument("--out", type=Path, default=Path("bench/results/registration_wave.json"))
    args = parser.parse_args()
    residents = make_residents(args.residents, args.duplicates)
    with tempfile.TemporaryDirectory() as tmp, Stack(Path(tmp)) as stack:
        stack.env["INBOX_RELAY"] = "true"
        stack.start_web()
        stack.start_workers(args.workers)
        stack.start_relay()
        wave = Wave(stack, residents, args.in_flight, args.senders)
        print(f"{args.residents} residents, {args.in_flight} at a time, {args.workers} workers")
        elapsed = wave.run(args.timeout)
        time.sleep(2)
        stored = stack.scalar("SELECT count(*) FROM registrations")
        messages_in = stack.scalar("SELECT count(*) FROM inbound_deliveries")
        pending = stack.scalar("SELECT count(*) FROM inbound_deliveries WHERE status <> 'done'")
        failed_out = stack.scalar("SELECT count(*) FROM outbox WHERE status <> 'sent'")
        messages_out = len(stack.providers.sent)
        distinct_cccd = stack.scalar("SELECT count(DISTINCT cccd) FROM registrations")
    expected_dups = sum(r.duplicate for r in residents)
    outcomes = {"registered": 0, "refused": 0, None: 0}
    for r in residents:
        outcomes[r.outcome] = outcomes.get(r.outcome, 0) + 1
    wrong = [r.phone for r in residents if r.outcome and (r.outcome == "refused") != r.duplicate]
    latencies = sorted(x for r in residents for x in r.latencies)
    report = {
        "benchmark": "registration_wave",
        "when": datetime.now(UTC).isoformat(timespec="seconds"),
        "machine": {"python": platform.python_version(), "cpus": os.cpu_count()},
        "residents": args.residents,
        "in_flight": args.in_flight,
        "celery_workers": args.workers,
        "seconds": round(elapsed, 1),
        "residents_per_second": round(args.residents / elapsed, 1),
        "messages_in": messages_in,
        "messages_out": messages_out,
        "messages_per_second": round(messages_in / elapsed, 1),
        "registrations_stored": stored,
        "distinct_cccd": distinct_cccd,
        "duplicates_expected": expected_dups,
        "duplicates_refused": outcomes["refused"],
        "wrong_outcomes": len(wrong),
        "lost_residents": outcomes[None],
        "deliveries_not_done": pending,
        "outbox_not_sent": failed_out,
        "unexpected_replies": wave.unexpected[:10],
        "reply_latency_ms_p50": round(percentile(latencies, 0.5) * 1000, 1),
        "reply_latency_ms_p95": round(percentile(latencies, 0.95) * 1000, 1),
        "reply_latency_ms_p99": round(percentile(latencies, 0.99) * 1000, 1),
    }
    print(json.dumps(report, indent=2, ensure_ascii=False))
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(report, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
