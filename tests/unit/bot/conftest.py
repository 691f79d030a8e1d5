"""The real embedded engine, trained once per run on the Rasa project's training files."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any

import pytest
from sqlalchemy.orm import Session

from bot.dialogue import DialogueEngine, Turn
from bot.nlu.engine import EmbeddedNLU
from bot.responses import Responses
from intake.models import Channel
from intake.services.cases import CaseSettings


@pytest.fixture(scope="session")
def nlu(tmp_path_factory: pytest.TempPathFactory) -> EmbeddedNLU:
    return EmbeddedNLU.load_or_train(tmp_path_factory.mktemp("var"))


@pytest.fixture(scope="session")
def responses() -> Responses:
    return Responses.load()


@pytest.fixture
def dialogue(nlu: EmbeddedNLU, responses: Responses) -> DialogueEngine:
    return DialogueEngine(nlu, responses, CaseSettings())


@pytest.fixture
def say(seeded: Session, dialogue: DialogueEngine, now: datetime) -> Callable[..., Turn]:
    """Send one message as a resident; each message is a minute after the previous one."""
    clock = {"now": now}

    def send(text: str, *, channel: Channel = Channel.WEB, sender: str = "u1", **kw: Any) -> Turn:
        clock["now"] += timedelta(minutes=1)
        turn = dialogue.handle(seeded, channel, sender, text, clock["now"], **kw)
        seeded.flush()
        return turn

    return send
