"""The review queue takes a chat message written over several lines: its label makes it one
training example on one line (an example line of Rasa's `examples: |` block)."""

from __future__ import annotations

import shutil
from pathlib import Path

import yaml
from flask import Flask

from bot.nlu.data import BOT_DIR, DATA_DIR
from bot.nlu.editing import TrainingFiles
from intake.db import unit_of_work
from intake.models import Channel, Conversation, ConversationState, Direction, Message
from intake.runtime import Runtime
from intake.services.contacts import contact_for_identity
from tests.conftest import NOW
from tests.unit.console.conftest import csrf_token, login

WRITTEN = "Chào ad\nCá chết trắng hồ Tịnh Tâm,\r\n  mùi hôi lắm"


def test_a_message_over_several_lines_is_labelled_as_one_example(
    app: Flask, runtime: Runtime, tmp_path: Path
) -> None:
    shutil.copytree(DATA_DIR, tmp_path / "bot" / "data")
    shutil.copy(BOT_DIR / "domain.yml", tmp_path / "bot" / "domain.yml")
    data_dir = tmp_path / "bot" / "data"
    app.config["HOTLINE_NLU_DATA_DIR"] = str(data_dir)
    with unit_of_work(runtime.sessions) as session:
        contact = contact_for_identity(session, Channel.WEB, "web-1", NOW)
        conversation = Conversation(
            contact_id=contact.id, channel=Channel.WEB, state=ConversationState.BOT
        )
        session.add(conversation)
        session.flush()
        message = Message(
            conversation_id=conversation.id,
            channel=Channel.WEB,
            direction=Direction.INBOUND,
            sender="citizen",
            text=WRITTEN,
            intent="nlu_fallback",
            confidence=0.2,
            created_at=NOW,
        )
        session.add(message)
        session.flush()
        message_id = message.id
    admin = app.test_client()
    login(admin, "minh.admin")
    response = admin.post(
        f"/console/training/review/message/{message_id}",
        data={
            "intent": "complaint",
            "category": "environment",
            "csrf_token": csrf_token(admin, "/console/training/review"),
        },
    )
    assert response.status_code == 302
    page = admin.get("/console/training/review").get_data(as_text=True)
    assert "Đã thêm vào dữ liệu huấn luyện" in page and "Không có mục nào chờ duyệt." in page
    one_line = "Chào ad Cá chết trắng hồ Tịnh Tâm, mùi hôi lắm"
    files = TrainingFiles(data_dir, data_dir.parent / "domain.yml")
    assert [e.intent for e in files.examples() if e.text == one_line] == ["complaint/environment"]
    nlu = yaml.safe_load((data_dir / "nlu.yml").read_text(encoding="utf-8"))["nlu"]
    assert any(f"- {one_line}" in item["examples"].splitlines() for item in nlu)
