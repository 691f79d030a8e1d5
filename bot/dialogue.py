"""The embedded dialogue engine: every conversation ends in a case, a registration, an answer or
a human.

It runs the forms the Rasa domain declares (`complaint_form`, `registration_form`) with the
domain's responses and the validators in `bot.flows`, so it behaves like the Rasa backend. Its
state lives in `Conversation.bot_state`, keyed by channel and sender: a restart loses nothing.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

from sqlalchemy.orm import Session

from bot import flows
from bot.nlu.engine import FALLBACK_INTENT, NluBackend
from bot.responses import Responses
from intake.clock import local_date
from intake.models import Channel, Conversation, ConversationState, Priority
from intake.services.cases import CaseSettings
from intake.services.conversations import (
    hand_off,
    open_conversation,
    record_inbound,
    record_outbound,
)

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
        )
        if turn.duplicate or turn.handed_off:
            return turn
        state = _State.of(conversation)
        run = _Run(self, session, conversation, state, turn, now)
        run.step(text or "", attachments or [], coordinates)
        conversation.bot_state = state.dump(conversation.bot_state)
        for reply in turn.replies:
            record_outbound(session, conversation, reply, now)
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
) -> tuple[Conversation, Turn]:
    """Store the message in the resident's conversation. The turn comes back marked
    `duplicate` (the provider delivered it twice: acknowledged once, answered once) or
    `handed_off` (an agent has the conversation: the bot stays silent), or ready to answer."""
    conversation = open_conversation(session, channel, sender_id, now, display_name=display_name)
    inbound = record_inbound(
        session, conversation, text or "", now, provider_message_id=provider_message_id
    )
    turn = Turn(conversation_id=conversation.id)
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

    def shared_location(self, coordinates: tuple[float, float]) -> None:
        latitude, longitude = coordinates
        slots = self.state.slots
        slots["latitude"], slots["longitude"] = latitude, longitude
        if self.state.form == "complaint" and not slots.get("location"):
            slots["location"] = f"vị trí đã gửi ({latitude:.5f}, {longitude:.5f})"

    def route(self, intent: str, text: str, parse: dict[str, Any]) -> None:
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
            self.start_registration()
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
    def start_registration(self) -> None:
        self.state.reset()
        self.state.form = "registration"
        self.next_registration_slot()

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
