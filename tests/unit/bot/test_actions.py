"""Rasa custom actions, run the way rasa-sdk runs them: a Tracker in, events and messages out."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from rasa_sdk import Tracker
from rasa_sdk.events import AllSlotsReset, SlotSet, UserUtteranceReverted
from rasa_sdk.executor import CollectingDispatcher
from sqlalchemy import select

from bot.actions import actions as a
from intake.clock import utcnow
from intake.config import Settings
from intake.db import unit_of_work
from intake.migrate import upgrade
from intake.models import Case, Conversation, ConversationState, Registration
from intake.runtime import Runtime, set_runtime
from intake.seed import seed_demo


@pytest.fixture
def runtime(tmp_path) -> Iterator[Runtime]:
    rt = Runtime.from_settings(Settings(var_dir=tmp_path))
    upgrade(rt.engine)
    with unit_of_work(rt.sessions) as session:
        seed_demo(session, utcnow())
    set_runtime(rt)
    yield rt
    set_runtime(None)
    rt.close()


def tracker(
    text: str = "",
    *,
    slots: dict[str, Any] | None = None,
    entities=None,
    intent: str = "inform",
    sender: str = "web:u1",
    events=None,
    selector=None,
) -> Tracker:
    latest = {
        "text": text,
        "intent": {"name": intent, "confidence": 0.9},
        "entities": entities or [],
    }
    if selector:
        latest["response_selector"] = selector
    return Tracker(sender, slots or {}, latest, events or [], False, None, {}, "action_listen")


def responses(dispatcher: CollectingDispatcher) -> list[str]:
    return [m.get("response") for m in dispatcher.messages if m.get("response")]


def test_start_complaint_prefills_category_description_and_place():
    dispatcher = CollectingDispatcher()
    selector = {"complaint": {"response": {"intent_response_key": "complaint/environment"}}}
    events = a.ActionStartComplaint().run(
        dispatcher,
        tracker(
            "rác ở kiệt 12 nguyen hue phuong phu hoi không ai thu gom",
            selector=selector,
            sender="sms:+84905123456",
        ),
        {},
    )
    assert events[0] == AllSlotsReset()
    assert SlotSet("category", "environment") in events
    # Places are read from the text itself, with their proper spelling.
    assert SlotSet("location", "kiệt 12, Nguyễn Huệ, phường Phú Hội") in events
    assert SlotSet("ward", "Phú Hội") in events
    assert SlotSet("photo", "-") in events  # SMS cannot send a photo


def test_form_validation_reprompts_in_vietnamese():
    form = a.ValidateRegistrationForm()
    dispatcher = CollectingDispatcher()
    assert form.validate_cccd("04608500123", dispatcher, tracker(), {}) == {"cccd": None}
    assert responses(dispatcher) == ["utter_invalid_cccd"]
    assert "12" in dispatcher.messages[0]["error"]
    dispatcher = CollectingDispatcher()
    assert form.validate_phone("090512345", dispatcher, tracker(), {}) == {"phone": None}
    assert dispatcher.messages[0]["error"]
    ok = form.validate_date_of_birth(
        "04/03/1985", CollectingDispatcher(), tracker(slots={"cccd": "046085001234"}), {}
    )
    assert ok == {"date_of_birth": "1985-03-04"}
    location = a.ValidateComplaintForm().validate_location("", dispatcher, tracker(), {})
    assert location == {"location": None}


def test_open_case_writes_the_case_and_answers_with_its_code(runtime):
    dispatcher = CollectingDispatcher()
    slots = {
        "description": "Đèn đường hỏng",
        "location": "kiệt 5 Chi Lăng",
        "category": "roads_infrastructure",
    }
    a.ActionOpenCase().run(dispatcher, tracker("đúng", slots=slots, intent="affirm"), {})
    with unit_of_work(runtime.sessions) as session:
        case = session.scalars(select(Case)).one()
        assert case.category.code == "roads_infrastructure" and case.channel.value == "web"
        code = case.code
    assert responses(dispatcher) == ["utter_complaint_opened"]
    assert dispatcher.messages[0]["code"] == code
    assert dispatcher.messages[1]["custom"] == {"case_code": code}


def test_registration_duplicate_is_refused_kindly(runtime):
    slots = {
        "full_name": "Lê Thị Hoa",
        "cccd": "046185001122",
        "date_of_birth": "1985-05-05",
        "phone": "+84935111222",
        "address": "3 Đào Duy Anh",
        "household": "-",
    }
    first = CollectingDispatcher()
    a.ActionSubmitRegistration().run(first, tracker(slots=slots, sender="zalo:1"), {})
    second = CollectingDispatcher()
    a.ActionSubmitRegistration().run(second, tracker(slots=slots, sender="zalo:2"), {})
    assert responses(first) == ["utter_registration_done"]
    assert responses(second) == ["utter_registration_duplicate"]
    assert first.messages[0]["code"] in second.messages[0]["error"]
    with unit_of_work(runtime.sessions) as session:
        assert len(session.scalars(select(Registration)).all()) == 1


def test_emergency_opens_urgent_case_and_hands_off(runtime):
    dispatcher = CollectingDispatcher()
    a.ActionEmergency().run(dispatcher, tracker("nhà cháy có người kẹt", intent="emergency"), {})
    assert responses(dispatcher)[:2] == ["utter_emergency", "utter_emergency_case"]
    with unit_of_work(runtime.sessions) as session:
        assert session.scalars(select(Case)).one().priority == 1
        assert session.scalars(select(Conversation)).one().state == (
            ConversationState.WAITING_AGENT
        )


def test_two_fallbacks_in_a_row_hand_off(runtime):
    miss = {"event": "user", "parse_data": {"intent": {"name": "nlu_fallback"}}}
    fallback = {"event": "action", "name": "action_fallback"}
    once = CollectingDispatcher()
    events = a.ActionFallback().run(once, tracker(events=[miss]), {})
    assert responses(once) == ["utter_default"] and events == [UserUtteranceReverted()]
    twice = CollectingDispatcher()
    a.ActionFallback().run(twice, tracker(events=[miss, fallback, miss]), {})
    assert responses(twice) == ["utter_handoff"]


def test_status_of_unknown_code(runtime):
    dispatcher = CollectingDispatcher()
    a.ActionCaseStatus().run(
        dispatcher,
        tracker(
            "mã HUE-261126-0999",
            entities=[{"entity": "case_code", "value": "HUE-261126-0999"}],
            intent="status_query",
        ),
        {},
    )
    assert responses(dispatcher) == ["utter_case_not_found"]
