"""What the bot's conversations do, shared by both backends: the embedded dialogue engine and the
Rasa custom actions call these same functions, so validation and outcomes are identical.

Each validator returns a `Check`: the cleaned value, or the response to re-prompt with and the
values that fill it.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from bot.nlu.text import fold
from intake.clock import format_local, local_date
from intake.messages_vi import STATUS_NAMES
from intake.models import (
    Attachment,
    Case,
    CaseStatus,
    Category,
    Channel,
    Priority,
    Programme,
)
from intake.services.cases import CITIZEN, CaseSettings, NewCase, get_case, open_case
from intake.services.errors import DuplicateRegistration, InvalidInput, NotFound
from intake.services.registrations import MemberInput, RegistrationInput, register
from intake.validation import ValidationError, normalize_phone, normalize_text, parse_cccd

MAX_DESCRIPTION = 4000
CHANNELS_WITH_PHOTOS = frozenset({Channel.WEB, Channel.ZALO, Channel.MESSENGER, Channel.TELEGRAM})
_NO_WORDS = {
    "khong",
    "ko",
    "k",
    "kg",
    "khg",
    "hong",
    "no",
    "chua",
    "khong co",
    "ko co",
    "k co",
    "khong can",
    "thoi",
    "bo qua",
    "skip",
}
_YES_WORDS = {
    "dung",
    "dung roi",
    "phai",
    "phai roi",
    "ok",
    "oke",
    "okay",
    "u",
    "uh",
    "um",
    "co",
    "yes",
    "dong y",
    "chuan",
    "gui",
    "gui di",
    "chinh xac",
    "da dung",
    "vang",
    "da",
    "da vang",
    "da phai",
    "dung vay",
    "rua la dung",
    "phai rua",
    "y",
}
_CANCEL_WORDS = {"huy", "huy bo", "thoi", "thoi khoi", "dung lai", "cancel", "khoi", "bo"}
_DATE = re.compile(r"(\d{1,2})\s*[/.\-\s]\s*(\d{1,2})\s*[/.\-\s]\s*(\d{4})")


@dataclass
class Check:
    value: Any = None
    response: str | None = None  # the re-prompt, when the value was refused
    values: dict[str, Any] = field(default_factory=dict)

    @property
    def ok(self) -> bool:
        return self.response is None


def folded_words(text: str) -> str:
    return " ".join(re.findall(r"[a-z0-9]+", fold(text)))


def yes_no(text: str, intent: str | None) -> bool | None:
    """A confirmation: True, False, or None when the answer is neither."""
    words = folded_words(text)
    if intent == "affirm" or words in _YES_WORDS:
        return True
    if intent == "deny" or words in _NO_WORDS or words in _CANCEL_WORDS:
        return False
    return None


def is_cancel(text: str) -> bool:
    return folded_words(text) in _CANCEL_WORDS


_NO_LEADS = {"khong", "ko", "k", "kg", "khg", "hong", "chua", "no"}
_DECLINE_FILLERS = {"co", "anh", "hinh", "gui", "can", "chup", "duoc", "a", "nha", "nhe", "roi"}


def declines(text: str) -> bool:
    """ "không", and also "không có ảnh", "chưa chụp được hình ạ"."""
    words = folded_words(text)
    if words in _NO_WORDS:
        return True
    first, *rest = words.split() or [""]
    return first in _NO_LEADS and bool(rest) and set(rest) <= _DECLINE_FILLERS


# Complaint ------------------------------------------------------------------------------------


def check_description(text: str) -> Check:
    cleaned = normalize_text(text)
    if not cleaned:
        return Check(response="utter_invalid_description")
    return Check(cleaned[:MAX_DESCRIPTION])


def location_from_entities(entities: list[dict[str, Any]]) -> tuple[str | None, str | None]:
    """(location text, ward name) from the alley, street and ward a message mentions."""
    parts: list[str] = []
    ward = None
    for kind in ("alley", "street", "ward"):
        for entity in entities:
            if entity["entity"] == kind:
                value = str(entity["value"])
                if kind == "ward":
                    ward = value
                    value = f"phường {value}"
                if value not in parts:
                    parts.append(value)
    return (", ".join(parts) if parts else None), ward


def check_location(text: str, entities: list[dict[str, Any]]) -> Check:
    cleaned = normalize_text(text)
    if not cleaned or declines(text):
        return Check(response="utter_invalid_location")
    _, ward = location_from_entities(entities)
    return Check(cleaned, values={"ward": ward})


def category_name(session: Session, code: str | None) -> str:
    if not code:
        return "chưa xác định"
    name = session.scalar(select(Category.name).where(Category.code == code))
    return name or code


def open_complaint(
    session: Session,
    *,
    channel: Channel,
    contact_id: int,
    conversation_id: int | None,
    slots: dict[str, Any],
    now: datetime,
    settings: CaseSettings,
    priority: Priority = Priority.NORMAL,
) -> dict[str, Any]:
    """Open the case and return the values of `utter_complaint_opened`."""
    case = open_case(
        session,
        NewCase(
            channel=channel,
            description=slots.get("description") or "",
            category_code=slots.get("category"),
            ward_code=slots.get("ward"),
            location_text=slots.get("location"),
            latitude=slots.get("latitude"),
            longitude=slots.get("longitude"),
            priority=priority,
            reporter_contact_id=contact_id,
            conversation_id=conversation_id,
            intake_key=slots.get("intake_key"),
        ),
        now=now,
        actor=CITIZEN,
        settings=settings,
        # The bot's own reply carries the code on every text channel; a call gets an SMS.
        notify=channel == Channel.VOICE and priority != Priority.EMERGENCY,
    )
    for url in slots.get("photos") or []:
        case.attachments.append(Attachment(url=url, created_at=now))
    session.flush()
    return {
        "code": case.code,
        "ack_due": format_local(case.ack_due_at),
        "resolve_due": format_local(case.resolve_due_at),
        "track_url": settings.track_url(case.code),
    }


# Registration ---------------------------------------------------------------------------------


def check_full_name(text: str) -> Check:
    cleaned = normalize_text(re.sub(r"[\d_@#*]+", " ", text))
    if len(cleaned.split()) < 2 or len(cleaned) > 120:
        return Check(response="utter_invalid_full_name")
    return Check(" ".join(w[:1].upper() + w[1:] for w in cleaned.split()))


def check_cccd(text: str, *, birth_date: date | None = None) -> Check:
    try:
        return Check(parse_cccd(text, birth_date=birth_date).number)
    except ValidationError as exc:
        return Check(response="utter_invalid_cccd", values={"error": exc.message_vi})


def parse_date(text: str) -> date | None:
    match = _DATE.search(text)
    if match is None:
        return None
    day, month, year = (int(g) for g in match.groups())
    try:
        return date(year, month, day)
    except ValueError:
        return None


def check_date_of_birth(text: str, *, cccd: str | None, today: date) -> Check:
    born = parse_date(text)
    if born is None:
        return Check(
            response="utter_invalid_date_of_birth",
            values={"error": "Tổng đài chưa đọc được ngày sinh."},
        )
    if born > today or born.year < today.year - 120:
        return Check(
            response="utter_invalid_date_of_birth", values={"error": "Ngày sinh chưa hợp lệ."}
        )
    if cccd:
        checked = check_cccd(cccd, birth_date=born)
        if not checked.ok:
            return Check(response="utter_invalid_date_of_birth", values=checked.values)
    return Check(born.isoformat())


def check_phone(text: str) -> Check:
    try:
        return Check(normalize_phone(text))
    except ValidationError as exc:
        return Check(response="utter_invalid_phone", values={"error": exc.message_vi})


def check_address(text: str, entities: list[dict[str, Any]]) -> Check:
    cleaned = normalize_text(text)
    if len(cleaned) < 4 or declines(text):
        return Check(response="utter_invalid_address")
    _, ward = location_from_entities(entities)
    return Check(cleaned, values={"ward": ward})


def parse_household(text: str) -> list[str]:
    """Household members' names, or [] when the resident registers alone."""
    if declines(text):
        return []
    names = [normalize_text(n) for n in re.split(r"[,;\n]+|\s+và\s+", text)]
    return [n for n in names if len(n.split()) >= 2][:20]


def current_programme(session: Session, now: datetime) -> Programme | None:
    today = local_date(now)
    # Programmes are set up by admins, never written with a registration: no flush first.
    with session.no_autoflush:
        programmes = list(session.scalars(select(Programme).where(Programme.active.is_(True))))
    for programme in programmes:
        if (programme.opens_on is None or programme.opens_on <= today) and (
            programme.closes_on is None or today <= programme.closes_on
        ):
            return programme
    return None


def submit_registration(
    session: Session,
    *,
    channel: Channel,
    contact_id: int | None,
    conversation_id: int | None,
    slots: dict[str, Any],
    now: datetime,
    settings: CaseSettings,
) -> tuple[str, dict[str, Any]]:
    """Register; returns the response to send and its values (done, duplicate or invalid)."""
    programme = current_programme(session, now)
    if programme is None:
        return "utter_registration_invalid", {"error": "hiện không có chương trình nào mở."}
    data = RegistrationInput(
        programme_code=programme.code,
        full_name=slots["full_name"],
        cccd=slots["cccd"],
        date_of_birth=date.fromisoformat(slots["date_of_birth"]),
        phone=slots["phone"],
        address=slots["address"],
        ward=slots.get("ward"),
        channel=channel,
        members=[MemberInput(full_name=n) for n in slots.get("household") or []],
        reporter_contact_id=contact_id,
        conversation_id=conversation_id,
    )
    # Nothing is written before a refusal, and a lost race is undone inside `register`.
    try:
        result = register(
            session,
            data,
            now=now,
            actor=CITIZEN,
            settings=settings,
            notify=channel == Channel.VOICE,
            programme=programme,
        )
    except DuplicateRegistration as exc:
        return "utter_registration_duplicate", {"error": exc.message_vi}
    except InvalidInput as exc:
        return "utter_registration_invalid", {"error": " ".join(exc.errors.values())}
    return "utter_registration_done", {
        "full_name": result.registration.full_name,
        "code": result.case.code,
        "track_url": settings.track_url(result.case.code),
    }


# Status ---------------------------------------------------------------------------------------


def case_status(session: Session, code: str, prefix: str) -> tuple[str, dict[str, Any]]:
    try:
        case = get_case(session, code, prefix=prefix)
    except NotFound:
        return "utter_case_not_found", {"code": code}
    return "utter_case_status", status_values(case)


def status_values(case: Case) -> dict[str, Any]:
    note = f" Kết quả: {case.resolution}" if case.resolution else ""
    return {
        "code": case.code,
        "status": STATUS_NAMES[CaseStatus(case.status)],
        "agency": case.agency.name if case.agency else "đang phân công",
        "resolve_due": format_local(case.resolve_due_at),
        "resolution_note": note,
    }


def recent_cases(session: Session, contact_id: int, limit: int = 3) -> list[Case]:
    return list(
        session.scalars(
            select(Case)
            .where(Case.reporter_contact_id == contact_id)
            .order_by(Case.created_at.desc(), Case.id.desc())
            .limit(limit)
        )
    )


def describe_cases(cases: list[Case]) -> str:
    return "; ".join(f"{c.code} ({STATUS_NAMES[CaseStatus(c.status)].lower()})" for c in cases)
