"""The embedded dialogue engine: every conversation ends in a case, a registration, an answer or
a human.

It runs the forms the Rasa domain declares (`complaint_form`, `registration_form`) with the
domain's responses and the validators in `bot.flows`, so it behaves like the Rasa backend. Its
state lives in `Conversation.bot_state`, keyed by channel and sender: a restart loses nothing.
"""

from __future__ import annotations

import logging
import re
import unicodedata
from dataclasses import dataclass, field
from datetime import date, datetime
from itertools import takewhile
from typing import Any, TypeVar

from sqlalchemy.orm import Session

from bot import flows
from bot.nlu.engine import FALLBACK_INTENT, NluBackend
from bot.nlu.text import fold, fold_same_length
from bot.responses import Responses
from intake.clock import local_date
from intake.models import Channel, Conversation, ConversationState, Message, Priority
from intake.services.cases import CaseSettings
from intake.services.conversations import (
    hand_off,
    open_conversation,
    record_inbound,
    record_outbound,
)
from intake.validation import is_mobile

log = logging.getLogger(__name__)

COMPLAINT_SLOTS = ("description", "location", "photo")
REGISTRATION_SLOTS = ("full_name", "cccd", "date_of_birth", "phone", "address", "household")
INTERRUPT_CONFIDENCE = 0.6
MAX_FALLBACKS = 2


@dataclass
class Turn:
    """What one message produced: the replies, in order, and what happened."""

    replies: list[str] = field(default_factory=list)
    conversation_id: int | None = None
    handed_off: bool = False
    case_code: str | None = None
    duplicate: bool = False
    # The resident's message as stored (None for a duplicate delivery).
    inbound: Message | None = field(default=None, repr=False, compare=False)


class DialogueEngine:
    def __init__(self, nlu: NluBackend, responses: Responses, settings: CaseSettings) -> None:
        self.nlu = nlu
        self.responses = responses
        self.settings = settings

    def handle(
        self,
        session: Session,
        channel: Channel,
        sender_id: str,
        text: str,
        now: datetime,
        *,
        provider_message_id: str | None = None,
        attachments: list[str] | None = None,
        display_name: str | None = None,
        coordinates: tuple[float, float] | None = None,
        known_new: bool = False,
    ) -> Turn:
        """Take one message from a resident and answer it (the caller commits).

        `coordinates` is a location the resident shared (Zalo, Messenger, Telegram): it answers
        the complaint form's location question and is stored on the case."""
        conversation, turn = begin_turn(
            session,
            channel,
            sender_id,
            text,
            now,
            provider_message_id=provider_message_id,
            display_name=display_name,
            known_new=known_new,
        )
        if turn.duplicate or turn.handed_off:
            return turn
        state = _State.of(conversation)
        run = _Run(self, session, conversation, state, turn, now)
        run.step(text or "", attachments or [], coordinates)
        conversation.bot_state = state.dump(conversation.bot_state)
        for reply in turn.replies:
            record_outbound(session, conversation, reply, now, flush=False)
        return turn


def begin_turn(
    session: Session,
    channel: Channel,
    sender_id: str,
    text: str,
    now: datetime,
    *,
    provider_message_id: str | None,
    display_name: str | None,
    known_new: bool = False,
) -> tuple[Conversation, Turn]:
    """Store the message in the resident's conversation. The turn comes back marked
    `duplicate` (the provider delivered it twice: acknowledged once, answered once) or
    `handed_off` (an agent has the conversation: the bot stays silent), or ready to answer.
    `known_new`: the caller already knows the provider id is new (see `record_inbound`)."""
    conversation = open_conversation(session, channel, sender_id, now, display_name=display_name)
    inbound = record_inbound(
        session,
        conversation,
        text or "",
        now,
        provider_message_id=provider_message_id,
        known_new=known_new,
    )
    turn = Turn(conversation_id=conversation.id, inbound=inbound)
    if inbound is None:
        turn.duplicate = True
    elif conversation.state != ConversationState.BOT:
        turn.handed_off = True
    return conversation, turn


@dataclass
class _State:
    form: str | None = None
    requested: str | None = None
    slots: dict[str, Any] = field(default_factory=dict)
    confirming: bool = False
    awaiting_code: bool = False
    fallbacks: int = 0

    @classmethod
    def of(cls, conversation: Conversation) -> _State:
        raw = conversation.bot_state or {}
        return cls(
            form=raw.get("form"),
            requested=raw.get("requested"),
            slots=dict(raw.get("slots") or {}),
            confirming=bool(raw.get("confirming")),
            awaiting_code=bool(raw.get("awaiting_code")),
            fallbacks=int(raw.get("fallbacks") or 0),
        )

    def dump(self, previous: dict[str, Any] | None) -> dict[str, Any]:
        kept = {k: v for k, v in (previous or {}).items() if k == "handoff"}
        return {
            **kept,
            "form": self.form,
            "requested": self.requested,
            "slots": self.slots,
            "confirming": self.confirming,
            "awaiting_code": self.awaiting_code,
            "fallbacks": self.fallbacks,
        }

    def reset(self) -> None:
        self.form, self.requested, self.slots = None, None, {}
        self.confirming = self.awaiting_code = False


class _Run:
    """One message's worth of dialogue."""

    def __init__(
        self,
        engine: DialogueEngine,
        session: Session,
        conversation: Conversation,
        state: _State,
        turn: Turn,
        now: datetime,
    ) -> None:
        self.engine = engine
        self.session = session
        self.conversation = conversation
        self.state = state
        self.turn = turn
        self.now = now
        self.channel = Channel(conversation.channel)

    # -- helpers --------------------------------------------------------------------------
    def say(self, response: str, **values: Any) -> None:
        self.turn.replies.append(self.engine.responses.render(response, **values))

    def step(
        self, text: str, attachments: list[str], coordinates: tuple[float, float] | None = None
    ) -> None:
        if coordinates is not None:
            self.shared_location(coordinates)
            if not text.strip() and not attachments:
                if self.state.form == "complaint" and self.state.requested == "location":
                    self.next_complaint_slot()
                else:
                    self.say("utter_how_can_help")
                return
        if not text.strip() and not attachments:
            self.say("utter_empty")
            return
        if len(text) > flows.MAX_DESCRIPTION:
            self.say("utter_too_long", limit=flows.MAX_DESCRIPTION)
            text = text[: flows.MAX_DESCRIPTION]
        if attachments:
            self.state.slots.setdefault("photos", []).extend(attachments)
        parse = self.engine.nlu.parse(text) if text.strip() else _no_text()
        if text.strip() and not self.state.form and not self.state.awaiting_code:
            self.record_classification(parse)
        intent = parse["intent"]["name"]
        confident = parse["intent"]["confidence"] >= INTERRUPT_CONFIDENCE
        if intent == "emergency" and confident:
            self.emergency(text, parse)
            return
        if intent == "request_agent" and confident and not self.state.confirming:
            self.handoff("request_agent")
            return
        if self.state.form and flows.is_cancel(text):
            self.cancel()
            return
        if self.state.form == "complaint":
            self.complaint_turn(text, parse, attachments)
        elif self.state.form == "registration":
            self.registration_turn(text, parse)
        elif self.state.awaiting_code:
            self.state.awaiting_code = False
            self.status(text, parse, code_only=True)
        else:
            self.route(intent, text, parse)

    def record_classification(self, parse: dict[str, Any]) -> None:
        """Keep what the classifier made of a free-text message (not of answers to a form's
        questions): the training review queue offers the unsure ones to an admin."""
        message = self.turn.inbound
        if message is None:
            return
        name = parse["intent"]["name"]
        confidence = parse["intent"]["confidence"]
        if name == FALLBACK_INTENT:  # the fallback's own score is the threshold: keep the best
            ranked = [r for r in parse.get("intent_ranking") or [] if r["name"] != name]
            confidence = ranked[0]["confidence"] if ranked else confidence
        message.intent = str(name)[:40]
        message.confidence = float(confidence)

    def shared_location(self, coordinates: tuple[float, float]) -> None:
        latitude, longitude = coordinates
        slots = self.state.slots
        slots["latitude"], slots["longitude"] = latitude, longitude
        if self.state.form == "complaint" and not slots.get("location"):
            slots["location"] = f"vị trí đã gửi ({latitude:.5f}, {longitude:.5f})"

    def route(self, intent: str, text: str, parse: dict[str, Any]) -> None:
        if intent in (FALLBACK_INTENT, "inform") and self.is_registration(text, parse):
            intent = "support_registration"  # a long pasted registration the classifier missed
        if intent == FALLBACK_INTENT:
            self.state.fallbacks += 1
            if self.state.fallbacks >= MAX_FALLBACKS:
                self.handoff("two_fallbacks")
            else:
                self.say("utter_default")
            return
        self.state.fallbacks = 0
        if intent == "complaint":
            self.start_complaint(text, parse)
        elif intent == "support_registration":
            self.start_registration(text, parse)
        elif intent == "status_query":
            self.status(text, parse, code_only=False)
        elif intent == "emergency":
            self.emergency(text, parse)
        elif intent == "request_agent":
            self.handoff("request_agent")
        elif intent == "greeting":
            self.say("utter_greet")
        elif intent == "goodbye":
            self.say("utter_goodbye")
        elif intent == "info_request":
            self.say("utter_info")
        elif intent == "out_of_scope":
            self.say("utter_out_of_scope")
        else:  # affirm, deny or inform with nothing pending
            self.say("utter_how_can_help")

    # -- complaint ------------------------------------------------------------------------
    def start_complaint(self, text: str, parse: dict[str, Any]) -> None:
        self.state.reset()
        self.state.form = "complaint"
        slots = self.state.slots
        slots["category"] = parse.get("category")
        if len(flows.folded_words(text).split()) >= 4:
            slots["description"] = flows.check_description(text).value
        location, ward = flows.location_from_entities(parse.get("entities") or [])
        if location:
            slots["location"], slots["ward"] = location, ward
        if self.channel not in flows.CHANNELS_WITH_PHOTOS:
            slots["photo"] = "-"
        self.next_complaint_slot()

    def complaint_turn(self, text: str, parse: dict[str, Any], attachments: list[str]) -> None:
        slots = self.state.slots
        if self.state.confirming:
            answer = flows.yes_no(text, parse["intent"]["name"])
            if answer is None:
                self.say("utter_ask_yes_no")
            elif answer:
                values = flows.open_complaint(
                    self.session,
                    channel=self.channel,
                    contact_id=self.conversation.contact_id,
                    conversation_id=self.conversation.id,
                    slots=slots,
                    now=self.now,
                    settings=self.engine.settings,
                )
                self.turn.case_code = values["code"]
                self.say("utter_complaint_opened", **values)
                self.state.reset()
            else:
                self.say("utter_complaint_cancelled")
                self.state.reset()
            return
        requested = self.state.requested
        if requested == "description":
            check = flows.check_description(text)
            if check.ok:
                slots["description"] = check.value
                slots["category"] = slots.get("category") or parse.get("category")
                if not slots["category"]:
                    slots["category"] = self.engine.nlu.parse(text).get("category")
        elif requested == "location":
            check = flows.check_location(text, parse.get("entities") or [])
            if check.ok:
                slots["location"], slots["ward"] = check.value, check.values.get("ward")
        elif requested == "photo":
            check = flows.Check("photo" if attachments else "-")
            if not attachments and not flows.declines(text):
                check = flows.Check(response="utter_ask_photo")
            if check.ok:
                slots["photo"] = check.value
        else:
            check = flows.Check()
        if not check.ok and check.response:
            self.say(check.response, **check.values)
            return
        self.next_complaint_slot()

    def next_complaint_slot(self) -> None:
        slots = self.state.slots
        for name in COMPLAINT_SLOTS:
            if not slots.get(name):
                self.state.requested = name
                self.say(f"utter_ask_{name}")
                return
        self.state.requested = None
        self.state.confirming = True
        photos = len(slots.get("photos") or [])
        self.say(
            "utter_confirm_complaint",
            description=slots["description"],
            location=slots["location"],
            photo_note=f" (kèm {photos} ảnh)" if photos else "",
            category_name=flows.category_name(self.session, slots.get("category")).lower(),
        )

    # -- registration ---------------------------------------------------------------------
    def start_registration(self, text: str, parse: dict[str, Any]) -> None:
        """Start the form with whatever the message already gives, validated as if answered:
        "Đăng ký hỗ trợ: Nguyễn Văn An, CCCD 046085001234, sinh ngày 12/03/1985, ..." goes
        straight to the first field it lacks, or to the confirmation."""
        self.state.reset()
        self.state.form = "registration"
        self.state.slots.update(self.registration_in(text, parse))
        self.next_registration_slot()

    def registration_in(self, text: str, parse: dict[str, Any]) -> dict[str, Any]:
        """The registration slots one message fills (and "ward" with the address)."""
        nfc = unicodedata.normalize("NFC", text)
        if nfc != text:  # entity offsets must point into the text that is read
            parse = self.engine.nlu.parse(nfc)
        return read_registration(nfc, parse.get("entities") or [], local_date(self.now))

    def is_registration(self, text: str, parse: dict[str, Any]) -> bool:
        """A message that says "đăng ký" and carries at least three valid registration fields."""
        if _REGISTRATION_CUE.search(fold(text)) is None:
            return False
        filled = self.registration_in(text, parse)
        return sum(1 for name in REGISTRATION_SLOTS if name in filled) >= 3

    def registration_turn(self, text: str, parse: dict[str, Any]) -> None:
        slots = self.state.slots
        if self.state.confirming:
            answer = flows.yes_no(text, parse["intent"]["name"])
            if answer is None:
                self.say("utter_ask_yes_no")
                return
            if not answer:
                self.say("utter_registration_cancelled")
                self.state.reset()
                return
            response, values = flows.submit_registration(
                self.session,
                channel=self.channel,
                contact_id=self.conversation.contact_id,
                conversation_id=self.conversation.id,
                slots=slots,
                now=self.now,
                settings=self.engine.settings,
            )
            self.turn.case_code = values.get("code")
            self.say(response, **values)
            self.state.reset()
            return
        entities = parse.get("entities") or []
        today: date = local_date(self.now)
        requested = self.state.requested
        if requested == "full_name":
            check = flows.check_full_name(text)
        elif requested == "cccd":
            check = flows.check_cccd(text)
            if check.ok and slots.get("date_of_birth"):
                # The birth date came with the first message: the CCCD must agree with it, as
                # the birth date is checked against the CCCD when it is asked after it.
                born = date.fromisoformat(slots["date_of_birth"]).strftime("%d/%m/%Y")
                again = flows.check_date_of_birth(born, cccd=check.value, today=today)
                if not again.ok and again.response:
                    slots["cccd"] = check.value
                    del slots["date_of_birth"]
                    self.say(again.response, **again.values)
                    self.next_registration_slot()
                    return
        elif requested == "date_of_birth":
            check = flows.check_date_of_birth(text, cccd=slots.get("cccd"), today=today)
        elif requested == "phone":
            check = flows.check_phone(text)
        elif requested == "address":
            check = flows.check_address(text, entities)
            if check.ok:
                slots["ward"] = check.values.get("ward")
        elif requested == "household":
            check = flows.Check(flows.parse_household(text))
        else:
            check = flows.Check()
        if not check.ok and check.response:
            self.say(check.response, **check.values)
            self.say(f"utter_ask_{requested}")
            return
        if requested:
            slots[requested] = check.value
        self.next_registration_slot()

    def next_registration_slot(self) -> None:
        slots = self.state.slots
        for name in REGISTRATION_SLOTS:
            if name not in slots:
                self.state.requested = name
                self.say(f"utter_ask_{name}")
                return
        self.state.requested = None
        self.state.confirming = True
        members = slots.get("household") or []
        born = date.fromisoformat(slots["date_of_birth"])
        self.say(
            "utter_confirm_registration",
            full_name=slots["full_name"],
            cccd=slots["cccd"],
            date_of_birth=born.strftime("%d/%m/%Y"),
            phone=slots["phone"],
            address=slots["address"],
            household_note=f", cùng {len(members)} người: {', '.join(members)}" if members else "",
        )

    # -- status, emergency, hand-off -------------------------------------------------------
    def status(self, text: str, parse: dict[str, Any], *, code_only: bool) -> None:
        codes = [e["value"] for e in parse.get("entities") or [] if e["entity"] == "case_code"]
        if codes:
            response, values = flows.case_status(
                self.session, codes[0], self.engine.settings.code_prefix
            )
            self.say(response, **values)
            return
        if code_only:
            self.say("utter_case_not_found", code=text.strip()[:40])
            return
        cases = flows.recent_cases(self.session, self.conversation.contact_id)
        if cases:
            self.say("utter_recent_cases", cases=flows.describe_cases(cases))
            if len(cases) == 1:
                self.say("utter_case_status", **flows.status_values(cases[0]))
        else:
            self.state.awaiting_code = True
            self.say("utter_ask_case_code")

    def emergency(self, text: str, parse: dict[str, Any]) -> None:
        self.say("utter_emergency")
        location, ward = flows.location_from_entities(parse.get("entities") or [])
        values = flows.open_complaint(
            self.session,
            channel=self.channel,
            contact_id=self.conversation.contact_id,
            conversation_id=self.conversation.id,
            slots={
                "description": flows.check_description(text).value or "Khẩn cấp",
                "location": location,
                "ward": ward,
                "category": parse.get("category"),
            },
            now=self.now,
            settings=self.engine.settings,
            priority=Priority.EMERGENCY,
        )
        self.turn.case_code = values["code"]
        self.say("utter_emergency_case", **values)
        self.state.reset()
        self.handoff("emergency", announce=False)

    def handoff(self, reason: str, *, announce: bool = True) -> None:
        if announce:
            self.say("utter_handoff")
        self.state.reset()
        self.state.fallbacks = 0
        hand_off(self.session, self.conversation, self.now, reason)
        self.turn.handed_off = True

    def cancel(self) -> None:
        form = self.state.form
        self.state.reset()
        self.say(
            "utter_registration_cancelled"
            if form == "registration"
            else "utter_complaint_cancelled"
        )


def _no_text() -> dict[str, Any]:
    return {"text": "", "intent": {"name": "inform", "confidence": 1.0}, "entities": []}


# -- a registration given in one message ---------------------------------------------------------
# Field labels, matched on the accent-folded text (same length, so offsets carry over). A value
# belongs to the label before it: "CCCD 046085001234", "sđt: 0905 123 456", "địa chỉ ...". An
# `other` label (the CCCD's issue date) owns its value so that it is never taken for another
# field; a `stop` phrase ("đăng ký", "cảm ơn") only ends the field before it.
_LABELS = re.compile(
    r"\b(?:"
    r"(?P<full_name>(?:ho\s+va\s+ten|ho\s+ten|(?:toi|em|minh|con|chau)\s+ten"
    r"|ten(?:\s+(?:cua\s+)?(?:toi|em|minh))?)(?:\s+la)?)"
    r"|(?P<cccd>(?:so\s+)?(?:can\s+cuoc(?:\s+cong\s+dan)?|cccd|cmnd|cmt"
    r"|chung\s+minh(?:\s+nhan\s+dan|\s+thu)?|(?:ma\s+)?dinh\s+danh(?:\s+ca\s+nhan)?"
    r"|cc(?=[\s:.\-]*\d)))"
    r"|(?P<date_of_birth>sinh\s+ngay|ngay(?:\s+thang\s+nam)?\s+sinh|nam\s+sinh|dob"
    r"|(?:ns|sinh)(?=[\s:.\-]*\d))"
    r"|(?P<phone>(?:so\s+)?(?:dien\s+thoai(?:\s+di\s+dong)?|dtdd|dt|sdt|di\s+dong"
    r"|lien\s+he|zalo|phone|tel))"
    r"|(?P<address>dia\s+chi(?:\s+(?:thuong|tam)\s+tru)?|d\s*/\s*c(?=[\s:.\-]*\w)"
    r"|(?:noi|cho)\s+o(?:\s+hien\s+(?:tai|nay))?|(?:thuong|tam|cu)\s+tru(?:\s+tai)?"
    r"|tru\s+tai|o\s+tai)"
    r"|(?P<household>(?:ho(?:\s+gia\s+dinh)?|gia\s+dinh|nha)\s+gom(?:\s+co)?"
    r"(?:\s+\d+\s+(?:nguoi|thanh\s+vien))?"
    r"|(?:nguoi|thanh\s+vien)\s+cung\s+dang\s+k[yi]|thanh\s+vien(?:\s+ho)?(?=\s*:))"
    r"|(?P<other>ngay\s+cap|cap\s+ngay|noi\s+cap)"
    r"|(?P<stop>(?:(?:toi|em|minh|con|chau)\s+)?(?:(?:muon|xin)\s+)*"
    r"(?:dang\s+k[yi]|dky|dki|ghi\s+danh)|(?:xin\s+)?cam\s+on)"
    r")\b"
)
_REGISTRATION_CUE = re.compile(r"\b(?:dang\s+k[yi]|dky|dki|ghi\s+danh)\b")
_VALUE_LABELS = frozenset({"cccd", "date_of_birth", "phone", "other"})
_NUMBERS = frozenset({"cccd", "phone", "date", "case_code"})
_PLACES = frozenset({"alley", "street", "ward"})
_LEAD = re.compile(r"[\s:,.\-–]*")
# What ends a short value (a name, a number, a date); an address runs to the next label.
_DELIMITER = re.compile(r"[,;\n|()]|\s[-–]\s|\.(?:\s|$)")
_DIGIT = re.compile(r"\d")
_ADDRESS_TAIL = re.compile(
    r"(?:[\s,.\-–]*(?:(?:tp|thanh\s+pho|tinh|tt)\.?\s*)?(?:thua\s+thien\s+)?hue\b"
    r"|[\s,.\-–]*(?:to|khu\s+vuc|kv|thon|xom)\.?\s*\d+\b)*"
)
_PLACE_GAP = re.compile(r"[\s,.\-–]*(?:(?:phuong|p|duong|dg|d)[\s.]+)?")
_PLACE_LEAD = re.compile(  # what may come before the first place: "số 7 đường", "phường"
    r"(?:\b(?:(?:so\s+nha|so|nha|sn)\s*)?\d+[a-z]?(?:\s*/\s*\d+[a-z]?)*[\s,]*)?"
    r"(?:\b(?:phuong|p|duong|dg|d)[\s.]+)?$"
)
_HOUSEHOLD_SPLIT = re.compile(r"[,;\n]+|\s+và\s+")  # as flows.parse_household splits
_NOT_NAME_WORDS = frozenset({"toi", "la", "cua", "muon", "xin", "giup", "gium", "dum", "voi", "o"})
_TRIM = " \t\n,.;:-–"
_WORD = re.compile(r"\S+")


@dataclass(frozen=True)
class _Field:
    name: str
    start: int  # where the label starts
    body: int  # where the value starts, after the label and a colon
    end: int  # where the value ends
    value: str | None = None  # the name after a name label


def read_registration(text: str, entities: list[dict[str, Any]], today: date) -> dict[str, Any]:
    """The registration slots a message gives, each validated by the same `flows.check_*` as an
    answer to its question; a value that fails, or that the message leaves in doubt, is left out
    (and then asked). `text` is NFC and the entities' offsets point into it."""
    return _RegistrationReader(text, entities).slots(today)


class _RegistrationReader:
    def __init__(self, text: str, entities: list[dict[str, Any]]) -> None:
        self.text = text
        self.folded = fold_same_length(text)
        self.entities = sorted(
            (
                e
                for e in entities
                if isinstance(e.get("start"), int) and isinstance(e.get("end"), int)
            ),
            key=lambda e: int(e["start"]),
        )
        self.fields = self._fields()

    # -- where each field is ---------------------------------------------------------------
    def _fields(self) -> list[_Field]:
        labels: list[tuple[str, int, int]] = []
        for match in _LABELS.finditer(self.folded):
            name = match.lastgroup or "stop"
            if name == "full_name" and labels and labels[-1][0] == "household":
                continue  # "hộ gồm: vợ ..., con tên ...": a member, not the resident
            labels.append((name, match.start(), match.end()))
        fields: list[_Field] = []
        for i, (name, start, label_end) in enumerate(labels):
            limit = labels[i + 1][1] if i + 1 < len(labels) else len(self.folded)
            if name == "stop":
                fields.append(_Field(name, start, label_end, label_end))
                continue
            body = min(_skip(_LEAD, self.folded, label_end), limit)
            if name in _VALUE_LABELS:
                end = self._delimited(body, limit)
                numbers = self._numbers(start, end)
                if numbers:  # "CCCD 046085001234 0905123456": the label has its one value
                    end = min(end, int(numbers[0]["end"]))
                fields.append(_Field(name, start, body, end))
            elif name == "full_name":  # the field owns the name, if it is one, and no more
                end = self._delimited(body, limit)
                digit = _DIGIT.search(self.folded, body, end)
                found = _name(self.text, body, digit.start() if digit else end, bool(digit))
                value, end = found if found else (None, body)
                fields.append(_Field(name, start, body, end, value))
            else:  # address, household: up to the next label or a number that is no part of it
                numbers = self._numbers(body, limit)
                end = int(numbers[0]["start"]) if numbers else limit
                fields.append(_Field(name, start, body, end))
        return fields

    def _delimited(self, start: int, limit: int) -> int:
        found = _DELIMITER.search(self.folded, start, limit)
        return found.start() if found else limit

    def _numbers(self, start: int, end: int) -> list[dict[str, Any]]:
        """CCCD, phone, case code and full-date entities starting in [start, end) ("20/3" with no
        year is a house number as often as a date)."""
        return [
            e
            for e in self.entities
            if e["entity"] in _NUMBERS
            and start <= e["start"] < end
            and (e["entity"] != "date" or _as_date(e.get("value")) is not None)
        ]

    def owner(self, entity: dict[str, Any]) -> str | None:
        """The field whose label the entity follows, or None when no label is before it."""
        start = int(entity["start"])
        for f in self.fields:
            if f.start <= start < f.end:
                return f.name
        return None

    def labelled(self, name: str) -> bool:
        return any(f.name == name for f in self.fields)

    def values(self, kind: str, name: str) -> list[Any]:
        """The entities of `kind` under the label of `name`, or when the message has no such
        label, those under no label at all."""
        wanted = name if self.labelled(name) else None
        found: list[Any] = []
        for e in self.entities:
            if e["entity"] == kind and self.owner(e) == wanted and e.get("value") not in found:
                found.append(e.get("value"))
        return found

    # -- the values --------------------------------------------------------------------------
    def slots(self, today: date) -> dict[str, Any]:
        slots: dict[str, Any] = {}
        name = _only({check.value for c in self.names() if (check := flows.check_full_name(c)).ok})
        if name is not None:
            slots["full_name"] = name
        cccd = _only(
            {
                check.value
                for value in self.values("cccd", "cccd")
                if (check := flows.check_cccd(str(value))).ok
            }
        )
        born = self.birth_date(cccd)
        if born is not None:
            check = flows.check_date_of_birth(born.strftime("%d/%m/%Y"), cccd=None, today=today)
            if check.ok:
                slots["date_of_birth"] = check.value
                if cccd is not None and not flows.check_cccd(cccd, birth_date=born).ok:
                    cccd = None  # the two disagree: the CCCD is asked again
        if cccd is not None:
            slots["cccd"] = cccd
        phone = _only(
            {
                check.value
                for value in self.values("phone", "phone")
                if (check := flows.check_phone(str(value))).ok
                and (self.labelled("phone") or is_mobile(str(check.value)))
            }
        )
        if phone is not None:
            slots["phone"] = phone
        address = self.address()
        if address is not None:
            check = flows.check_address(*address)
            if check.ok:
                slots["address"], slots["ward"] = check.value, check.values.get("ward")
        household = self.household()
        if household is not None:
            slots["household"] = household
        return slots

    def names(self) -> list[str]:
        found = [f.value for f in self.fields if f.name == "full_name" and f.value]
        for e in self.entities:
            if e["entity"] == "person" and self.owner(e) in (None, "full_name"):
                found.append(str(e.get("value")))
        if not found:
            name = self.name_after_colon()
            if name is not None:
                found.append(name)
        return found

    def name_after_colon(self) -> str | None:
        """ "Đăng ký hỗ trợ: Nguyễn Văn An, CCCD ...": capitalised words right after the colon
        of a registration heading, and nothing else up to the next delimiter."""
        colon = self.folded.find(":")
        if colon < 0 or _REGISTRATION_CUE.search(self.folded, 0, colon) is None:
            return None
        if any(f.name != "stop" and f.start < colon for f in self.fields):
            return None
        body = _skip(_LEAD, self.folded, colon + 1)
        limit = min([f.start for f in self.fields if f.start >= body] or [len(self.folded)])
        end = self._delimited(body, limit)
        digit = _DIGIT.search(self.folded, body, end)
        end = digit.start() if digit else end
        found = _name(self.text, body, end, cut=False, whole=True)
        if found is None or any(
            e["entity"] in ("ward", "alley") and e["start"] < end and body < e["end"]
            for e in self.entities
        ):
            return None  # "Đăng ký hỗ trợ: Phường Phú Hội" is no name
        return found[0]

    def birth_date(self, cccd: str | None) -> date | None:
        if self.labelled("date_of_birth"):
            dates = {_as_date(v) for v in self.values("date", "date_of_birth")}
        elif cccd is not None:
            # An unlabelled date is a birth date only when the CCCD says that year.
            dates = {
                d
                for v in self.values("date", "date_of_birth")
                if (d := _as_date(v)) is not None and flows.check_cccd(cccd, birth_date=d).ok
            }
        else:
            return None
        return _only(dates)

    def address(self) -> tuple[str, list[dict[str, Any]]] | None:
        """The address text and the place entities in it."""
        fields = [f for f in self.fields if f.name == "address"]
        if not fields:
            return self.address_from_places()
        found: dict[str, list[dict[str, Any]]] = {}
        for f in fields:
            text, places = self.address_at(f.body, f.end)
            if text:
                found.setdefault(text, places)
        return next(iter(found.items())) if len(found) == 1 else None

    def address_at(self, start: int, end: int) -> tuple[str, list[dict[str, Any]]]:
        places = [e for e in self.entities if e["entity"] in _PLACES and start <= e["start"] < end]
        if places:  # up to the last kiệt, street or ward, and ", TP Huế" or "tổ 5" after it
            cut = max(int(e["end"]) for e in places)
            tail = _ADDRESS_TAIL.match(self.folded, cut, end)
            end = tail.end() if tail else cut
        return self.text[start:end].strip(_TRIM), places

    def address_from_places(self) -> tuple[str, list[dict[str, Any]]] | None:
        """No "địa chỉ" label: the one run of kiệt/street and ward entities under no label
        ("..., số 7 Đào Duy Anh, phường Phú Hậu"), with the house number before it."""
        places = [e for e in self.entities if e["entity"] in _PLACES and self.owner(e) is None]
        runs: list[list[dict[str, Any]]] = []
        for e in places:
            if runs and _PLACE_GAP.fullmatch(self.folded, int(runs[-1][-1]["end"]), e["start"]):
                runs[-1].append(e)
            else:
                runs.append([e])
        complete = [
            r
            for r in runs
            if any(e["entity"] == "ward" for e in r) and any(e["entity"] != "ward" for e in r)
        ]
        if len(complete) != 1:
            return None
        run = complete[0]
        start = int(run[0]["start"])
        before = max(
            [int(e["end"]) for e in self.entities if e["end"] <= start]
            + [f.end for f in self.fields if f.end <= start]
            + [0]
        )
        lead = _PLACE_LEAD.search(self.folded, before, start)
        if lead is not None:
            start = lead.start()
        return self.text[start : int(run[-1]["end"])].strip(_TRIM), run

    def household(self) -> list[str] | None:
        """Members only when the message names them after "hộ gồm", "gia đình gồm", ...; every
        piece must be a name, or nothing is taken."""
        fields = [f for f in self.fields if f.name == "household"]
        if len(fields) != 1:
            return None
        text = self.text[fields[0].body : fields[0].end].strip(_TRIM)
        if not text:
            return None
        if flows.declines(text):
            return []
        members = flows.parse_household(text)
        pieces = [p for p in _HOUSEHOLD_SPLIT.split(text) if p.strip()]
        if not members or len(members) != len(pieces):
            return None
        if not all(
            2 <= len(m.split()) <= 6 and all(w.isalpha() for w in m.split()) for m in members
        ):
            return None
        return members


def _skip(pattern: re.Pattern[str], text: str, position: int) -> int:
    match = pattern.match(text, position)
    return match.end() if match else position


_T = TypeVar("_T")


def _only(values: set[_T]) -> _T | None:
    return next(iter(values)) if len(values) == 1 else None


def _as_date(value: Any) -> date | None:
    """An NLU date entity: "1985-03-12" (embedded) or the text itself (Rasa); a date without a
    year ("--03-12") or a relative one ("hôm qua") is none."""
    text = str(value)
    if re.fullmatch(r"\d{4}-\d{2}-\d{2}", text):
        try:
            return date.fromisoformat(text)
        except ValueError:
            return None
    return flows.parse_date(text)


def _name(
    text: str, start: int, end: int, cut: bool, *, whole: bool = False
) -> tuple[str, int] | None:
    """A full name at the start of text[start:end], and where it ends: its capitalised words
    ("Nguyễn Văn An ở kiệt 5" -> "Nguyễn Văn An"), or, written in lower case, all of it, unless
    the value was `cut` short (by a digit) rather than ended by a delimiter, a label or the end
    of the text ("ten tran thi be cccd ..." -> "tran thi be"). With `whole`, only a capitalised
    name that is all of it."""
    words = list(_WORD.finditer(text, start, end))
    if len(words) < 2:
        return None
    if words[0].group()[:1].isupper():
        run = list(takewhile(lambda w: w.group()[:1].isupper() and w.group().isalpha(), words))
        if (whole and len(run) != len(words)) or not 2 <= len(run) <= 6:
            return None
        return " ".join(w.group() for w in run), run[-1].end()
    if whole or cut or not 2 <= len(words) <= 5:
        return None
    plain = [w.group() for w in words]
    folded = fold(" ".join(plain))
    if not all(w.isalpha() for w in plain) or set(folded.split()) & _NOT_NAME_WORDS:
        return None
    if "dang ky" in folded or "ho tro" in folded:
        return None
    return " ".join(plain), words[-1].end()
