"""Rasa custom actions (rasa_sdk). They call the same `bot.flows` functions as the embedded
engine, with a database session per action run, so both backends behave alike.

The sender id Rasa sees is `<channel>:<id on that channel>` (see bot.runtime.RasaDialogue).
"""

from __future__ import annotations

import functools
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import date
from typing import Any

from rasa_sdk import Action, FormValidationAction, Tracker
from rasa_sdk.events import ActiveLoop, AllSlotsReset, EventType, SlotSet, UserUtteranceReverted
from rasa_sdk.executor import CollectingDispatcher
from rasa_sdk.types import DomainDict
from sqlalchemy.orm import Session

from bot import flows
from bot.nlu.data import load_directory
from bot.nlu.engine import extractor_for
from bot.nlu.entities import EntityExtractor
from intake.clock import local_date, utcnow
from intake.db import unit_of_work
from intake.models import Channel, Conversation, Priority
from intake.runtime import get_runtime
from intake.services.cases import CaseSettings
from intake.services.conversations import hand_off, open_conversation


@contextmanager
def _conversation(tracker: Tracker) -> Iterator[tuple[Session, Conversation, CaseSettings]]:
    runtime = get_runtime()
    channel_name, _, sender = (tracker.sender_id or "web:unknown").partition(":")
    try:
        channel = Channel(channel_name)
    except ValueError:
        channel, sender = Channel.WEB, tracker.sender_id
    with unit_of_work(runtime.sessions) as session:
        conversation = open_conversation(session, channel, sender, utcnow())
        yield session, conversation, runtime.case_settings


@functools.cache
def _extractor() -> EntityExtractor:
    return extractor_for(load_directory())


def _entities(tracker: Tracker) -> list[dict[str, Any]]:
    """Entities of the latest message, found by the same extractor the embedded engine uses
    (E.164 phones, checked CCCDs, case codes, wards and streets with their proper spelling),
    so both backends see a message the same way."""
    return _extractor().extract(_text(tracker))


def _text(tracker: Tracker) -> str:
    return str((tracker.latest_message or {}).get("text") or "")


class ActionStartComplaint(Action):
    """Pre-fill the complaint form from the first message: its text, category and place."""

    def name(self) -> str:
        return "action_start_complaint"

    def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> list[EventType]:
        text = _text(tracker)
        selector = (tracker.latest_message or {}).get("response_selector") or {}
        key = ((selector.get("complaint") or {}).get("response") or {}).get(
            "intent_response_key"
        ) or ""
        events: list[EventType] = [AllSlotsReset()]
        if "/" in key:
            events.append(SlotSet("category", key.split("/", 1)[1]))
        if len(flows.folded_words(text).split()) >= 4:
            events.append(SlotSet("description", flows.check_description(text).value))
        location, ward = flows.location_from_entities(_entities(tracker))
        if location:
            events.append(SlotSet("location", location))
            events.append(SlotSet("ward", ward))
        channel = tracker.sender_id.partition(":")[0]
        if channel not in {c.value for c in flows.CHANNELS_WITH_PHOTOS}:
            events.append(SlotSet("photo", "-"))
        return events


class ValidateComplaintForm(FormValidationAction):
    def name(self) -> str:
        return "validate_complaint_form"

    def validate_description(
        self, value: Any, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> dict[str, Any]:
        check = flows.check_description(str(value or ""))
        if not check.ok:
            dispatcher.utter_message(response=check.response, **check.values)
            return {"description": None}
        return {"description": check.value}

    def validate_location(
        self, value: Any, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> dict[str, Any]:
        check = flows.check_location(str(value or ""), _entities(tracker))
        if not check.ok:
            dispatcher.utter_message(response=check.response, **check.values)
            return {"location": None}
        return {"location": check.value, "ward": check.values.get("ward")}

    def validate_photo(
        self, value: Any, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> dict[str, Any]:
        attachments = ((tracker.latest_message or {}).get("metadata") or {}).get("attachments")
        if attachments:
            return {"photo": "photo"}
        if flows.declines(str(value or "")):
            return {"photo": "-"}
        dispatcher.utter_message(response="utter_ask_photo")
        return {"photo": None}


class ActionConfirmComplaint(Action):
    def name(self) -> str:
        return "action_confirm_complaint"

    def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> list[EventType]:
        with _conversation(tracker) as (session, _conv, _settings):
            category = flows.category_name(session, tracker.get_slot("category")).lower()
        dispatcher.utter_message(
            response="utter_confirm_complaint",
            description=tracker.get_slot("description"),
            location=tracker.get_slot("location"),
            photo_note="",
            category_name=category,
        )
        return []


class ActionOpenCase(Action):
    def name(self) -> str:
        return "action_open_case"

    def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> list[EventType]:
        with _conversation(tracker) as (session, conversation, settings):
            values = flows.open_complaint(
                session,
                channel=Channel(conversation.channel),
                contact_id=conversation.contact_id,
                conversation_id=conversation.id,
                slots={
                    "description": tracker.get_slot("description"),
                    "location": tracker.get_slot("location"),
                    "category": tracker.get_slot("category"),
                    "ward": tracker.get_slot("ward"),
                },
                now=utcnow(),
                settings=settings,
            )
        dispatcher.utter_message(response="utter_complaint_opened", **values)
        dispatcher.utter_message(json_message={"case_code": values["code"]})
        return [AllSlotsReset()]


class ValidateRegistrationForm(FormValidationAction):
    def name(self) -> str:
        return "validate_registration_form"

    def _refuse(
        self, dispatcher: CollectingDispatcher, slot: str, check: flows.Check
    ) -> dict[str, Any]:
        dispatcher.utter_message(response=check.response, **check.values)
        return {slot: None}

    def validate_full_name(
        self, value: Any, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> dict[str, Any]:
        check = flows.check_full_name(str(value or ""))
        return (
            {"full_name": check.value} if check.ok else self._refuse(dispatcher, "full_name", check)
        )

    def validate_cccd(
        self, value: Any, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> dict[str, Any]:
        check = flows.check_cccd(str(value or ""))
        return {"cccd": check.value} if check.ok else self._refuse(dispatcher, "cccd", check)

    def validate_date_of_birth(
        self, value: Any, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> dict[str, Any]:
        check = flows.check_date_of_birth(
            str(value or ""), cccd=tracker.get_slot("cccd"), today=local_date(utcnow())
        )
        if check.ok:
            return {"date_of_birth": check.value}
        return self._refuse(dispatcher, "date_of_birth", check)

    def validate_phone(
        self, value: Any, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> dict[str, Any]:
        check = flows.check_phone(str(value or ""))
        return {"phone": check.value} if check.ok else self._refuse(dispatcher, "phone", check)

    def validate_address(
        self, value: Any, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> dict[str, Any]:
        check = flows.check_address(str(value or ""), _entities(tracker))
        if not check.ok:
            return self._refuse(dispatcher, "address", check)
        return {"address": check.value, "ward": check.values.get("ward")}

    def validate_household(
        self, value: Any, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> dict[str, Any]:
        # Slots are text: members are kept one per line.
        return {"household": "\n".join(flows.parse_household(str(value or ""))) or "-"}


def _members(tracker: Tracker) -> list[str]:
    raw = tracker.get_slot("household") or ""
    return [] if raw == "-" else [m for m in raw.split("\n") if m]


class ActionConfirmRegistration(Action):
    def name(self) -> str:
        return "action_confirm_registration"

    def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> list[EventType]:
        members = _members(tracker)
        born = date.fromisoformat(tracker.get_slot("date_of_birth"))
        dispatcher.utter_message(
            response="utter_confirm_registration",
            full_name=tracker.get_slot("full_name"),
            cccd=tracker.get_slot("cccd"),
            date_of_birth=born.strftime("%d/%m/%Y"),
            phone=tracker.get_slot("phone"),
            address=tracker.get_slot("address"),
            household_note=f", cùng {len(members)} người: {', '.join(members)}" if members else "",
        )
        return []


class ActionSubmitRegistration(Action):
    def name(self) -> str:
        return "action_submit_registration"

    def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> list[EventType]:
        slots = {
            name: tracker.get_slot(name)
            for name in ("full_name", "cccd", "date_of_birth", "phone", "address")
        }
        slots["household"] = _members(tracker)
        slots["ward"] = tracker.get_slot("ward")
        with _conversation(tracker) as (session, conversation, settings):
            response, values = flows.submit_registration(
                session,
                channel=Channel(conversation.channel),
                contact_id=conversation.contact_id,
                conversation_id=conversation.id,
                slots=slots,
                now=utcnow(),
                settings=settings,
            )
        dispatcher.utter_message(response=response, **values)
        if values.get("code"):
            dispatcher.utter_message(json_message={"case_code": values["code"]})
        return [AllSlotsReset()]


class ActionCaseStatus(Action):
    def name(self) -> str:
        return "action_case_status"

    def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> list[EventType]:
        codes = [e["value"] for e in _entities(tracker) if e.get("entity") == "case_code"]
        with _conversation(tracker) as (session, conversation, settings):
            if codes:
                response, values = flows.case_status(session, codes[0], settings.code_prefix)
                dispatcher.utter_message(response=response, **values)
                return []
            cases = flows.recent_cases(session, conversation.contact_id)
            if not cases:
                dispatcher.utter_message(response="utter_ask_case_code")
                return []
            dispatcher.utter_message(
                response="utter_recent_cases", cases=flows.describe_cases(cases)
            )
            if len(cases) == 1:
                dispatcher.utter_message(
                    response="utter_case_status", **flows.status_values(cases[0])
                )
        return []


class ActionEmergency(Action):
    """Tell the resident to call 113/114/115 at once, open an urgent case, hand off."""

    def name(self) -> str:
        return "action_emergency"

    def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> list[EventType]:
        dispatcher.utter_message(response="utter_emergency")
        location, ward = flows.location_from_entities(_entities(tracker))
        with _conversation(tracker) as (session, conversation, settings):
            values = flows.open_complaint(
                session,
                channel=Channel(conversation.channel),
                contact_id=conversation.contact_id,
                conversation_id=conversation.id,
                slots={
                    "description": flows.check_description(_text(tracker)).value or "Khẩn cấp",
                    "location": location,
                    "ward": ward,
                },
                now=utcnow(),
                settings=settings,
                priority=Priority.EMERGENCY,
            )
            hand_off(session, conversation, utcnow(), "emergency")
        dispatcher.utter_message(response="utter_emergency_case", **values)
        dispatcher.utter_message(json_message={"case_code": values["code"]})
        return [AllSlotsReset(), ActiveLoop(None)]


class ActionHandoff(Action):
    def name(self) -> str:
        return "action_handoff"

    def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> list[EventType]:
        dispatcher.utter_message(response="utter_handoff")
        with _conversation(tracker) as (session, conversation, _settings):
            hand_off(session, conversation, utcnow(), "request_agent")
        return [AllSlotsReset(), ActiveLoop(None)]


class ActionFallback(Action):
    """Ask to rephrase; when the previous answer was already a fallback, hand off to a human.

    Also Rasa's core fallback: the message is reverted so the conversation waits for the next
    one instead of predicting again."""

    def name(self) -> str:
        return "action_fallback"

    def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> list[EventType]:
        if _previous_action(tracker) == self.name():
            return [*ActionHandoff().run(dispatcher, tracker, domain), UserUtteranceReverted()]
        dispatcher.utter_message(response="utter_default")
        return [UserUtteranceReverted()]


def _previous_action(tracker: Tracker) -> str | None:
    """The last action the bot ran before the resident's latest message."""
    seen_user = False
    for event in reversed(tracker.events):
        kind = event.get("event")
        if kind == "user":
            seen_user = True
        elif seen_user and kind == "action" and event.get("name") != "action_listen":
            return str(event.get("name"))
    return None


class ActionCancel(Action):
    def name(self) -> str:
        return "action_cancel"

    def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> list[EventType]:
        if tracker.get_slot("full_name"):
            dispatcher.utter_message(response="utter_registration_cancelled")
        else:
            dispatcher.utter_message(response="utter_complaint_cancelled")
        return [AllSlotsReset(), ActiveLoop(None)]
