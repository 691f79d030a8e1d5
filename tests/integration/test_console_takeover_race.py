"""Live takeover on PostgreSQL: eight agents click "take" on one waiting conversation at the
same moment; exactly one gets it."""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime

import pytest
from sqlalchemy.engine import Engine

from intake.db import make_session_factory, unit_of_work
from intake.models import Channel, Conversation, ConversationState, Role
from intake.services import conversations as svc
from intake.services.users import create_user

pytestmark = pytest.mark.integration

AGENTS = 8


def test_eight_agents_take_one_conversation_one_wins(clean_db: Engine, now: datetime) -> None:
    factory = make_session_factory(clean_db)
    with unit_of_work(factory) as session:
        agent_ids = [
            create_user(
                session,
                username=f"agent{i}",
                full_name=f"Agent {i}",
                role=Role.AGENT,
                password="mat-khau-dung-2026",
                now=now,
            ).id
            for i in range(AGENTS)
        ]
        conversation = svc.open_conversation(session, Channel.SMS, "+84905000111", now)
        svc.hand_off(session, conversation, now, "request_agent")
        conversation_id = conversation.id
    start = threading.Barrier(AGENTS)

    def take(agent_id: int) -> bool:
        with unit_of_work(factory) as session:
            start.wait(timeout=10)
            return svc.take(session, conversation_id, agent_id)

    with ThreadPoolExecutor(max_workers=AGENTS) as pool:
        results = list(pool.map(take, agent_ids))
    assert results.count(True) == 1
    winner = agent_ids[results.index(True)]
    with unit_of_work(factory) as session:
        stored = session.get(Conversation, conversation_id)
        assert stored is not None
        assert (stored.state, stored.assigned_user_id) == (ConversationState.AGENT, winner)
