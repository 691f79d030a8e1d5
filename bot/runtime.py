"""Wiring the bot from settings: which NLU backend, which dialogue engine."""

from __future__ import annotations

import json
import urllib.request
from datetime import datetime
from typing import Any

from sqlalchemy.orm import Session

from bot.dialogue import DialogueEngine, Turn, begin_turn
from bot.flows import MAX_DESCRIPTION
from bot.nlu.engine import EmbeddedNLU, NluBackend, RasaNLU
from bot.responses import Responses
from intake.config import Settings
from intake.models import Channel, Conversation, ConversationState
from intake.services.cases import CaseSettings
from intake.services.conversations import record_outbound


def make_nlu(settings: Settings) -> NluBackend:
    if settings.bot_backend == "rasa":
        return RasaNLU(settings.rasa_url)
    return EmbeddedNLU.load_or_train(
        settings.var_dir,
        threshold=settings.nlu_fallback_threshold,
        code_prefix=settings.case_code_prefix,
    )


def case_settings(settings: Settings) -> CaseSettings:
    return CaseSettings(
        code_prefix=settings.case_code_prefix, public_base_url=settings.public_base_url
    )


class RasaDialogue:
    """Dialogue run by a real Rasa server through its REST channel; Rasa's custom actions call
    the intake services. Messages are still stored here, and a handed-off conversation is not
    sent to Rasa at all."""

    def __init__(self, url: str, timeout: float = 30.0) -> None:
        self.url = url.rstrip("/")
        self.timeout = timeout
        self.responses = Responses.load()

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
        if not (text or "").strip() and not attachments:
            return self._local_reply(session, conversation, turn, now, "utter_empty")
        if len(text) > MAX_DESCRIPTION:
            self._local_reply(
                session, conversation, turn, now, "utter_too_long", limit=MAX_DESCRIPTION
            )
            text = text[:MAX_DESCRIPTION]
        # The actions find the conversation by this sender id; commit first so they see it.
        session.commit()
        payload: dict[str, Any] = {
            "sender": f"{channel.value}:{sender_id}",
            "message": text or "",
            "metadata": {
                "conversation_id": conversation.id,
                "attachments": attachments or [],
                "coordinates": list(coordinates) if coordinates else None,
            },
        }
        request = urllib.request.Request(  # noqa: S310 - the configured Rasa URL
            f"{self.url}/webhooks/rest/webhook",
            data=json.dumps(payload).encode("utf-8"),
            headers={"Content-Type": "application/json"},
            method="POST",
        )
        with urllib.request.urlopen(request, timeout=self.timeout) as response:  # noqa: S310
            messages = json.loads(response.read())
        session.refresh(conversation)
        for message in messages:
            if message.get("text"):
                turn.replies.append(message["text"])
                record_outbound(session, conversation, message["text"], now)
            custom = message.get("custom") or {}
            turn.case_code = custom.get("case_code", turn.case_code)
        turn.handed_off = conversation.state != ConversationState.BOT
        return turn

    def _local_reply(
        self,
        session: Session,
        conversation: Conversation,
        turn: Turn,
        now: datetime,
        response: str,
        **values: Any,
    ) -> Turn:
        """Answers that need no understanding, given the same way as the embedded engine."""
        reply = self.responses.render(response, **values)
        turn.replies.append(reply)
        record_outbound(session, conversation, reply, now)
        return turn


def make_dialogue(
    settings: Settings, nlu: NluBackend | None = None
) -> DialogueEngine | RasaDialogue:
    if settings.bot_backend == "rasa":
        return RasaDialogue(settings.rasa_url)
    return DialogueEngine(nlu or make_nlu(settings), Responses.load(), case_settings(settings))
