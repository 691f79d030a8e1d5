"""Live takeover (`/console/conversations`): the conversations the bot handed to a human, taken
by one agent (an atomic UPDATE: two agents cannot take the same one), answered on the
resident's channel, and handed back to the bot. The list and the open conversation poll small
JSON endpoints from a static script (the CSP allows no inline script)."""

from __future__ import annotations

import logging
import uuid
from typing import Any

from flask import Blueprint, abort, flash, jsonify, redirect, render_template, request, url_for
from flask.typing import ResponseReturnValue
from flask_babel import gettext
from sqlalchemy import select
from sqlalchemy.orm import joinedload

from agents_console.auth.access import current_user, require_role
from agents_console.conversations.forms import ReplyForm, TakeForm
from agents_console.web.db import db
from intake.clock import format_local, utcnow
from intake.models import Conversation, ConversationState, Message, Role, User
from intake.services import conversations as conversation_service
from intake.validation import mask_phone, mask_pii

log = logging.getLogger(__name__)


def _(text: str, **values: Any) -> str:
    return str(gettext(text, **values))


bp = Blueprint(
    "conversations",
    __name__,
    template_folder="templates",
    static_folder="static",
    static_url_path="/console/conversations/static",
)

DESK = (Role.AGENT, Role.SUPERVISOR, Role.ADMIN)
LIST_LIMIT = 100
POLL_SECONDS = 4


def _user() -> User:
    user = current_user()
    assert user is not None  # behind require_role
    return user


def _mask(text: str) -> str:
    return text if _user().sees_personal_data else mask_pii(text)


def _summary(conversation: Conversation) -> dict[str, Any]:
    handoff = (conversation.bot_state or {}).get("handoff") or {}
    phone = conversation.contact.phone_e164 if conversation.contact else None
    last = conversation.messages[-1].text if conversation.messages else ""
    return {
        "id": conversation.id,
        "channel": conversation.channel.value,
        "state": conversation.state.value,
        "contact": (phone if _user().sees_personal_data else mask_phone(phone)) if phone else "—",
        "reason": str(handoff.get("reason", "")),
        "last_message": _mask(last)[:160],
        "last_message_at": format_local(conversation.last_message_at),
        "assigned_user_id": conversation.assigned_user_id,
        "url": url_for("conversations.show", conversation_id=conversation.id),
        "take_url": url_for("conversations.take", conversation_id=conversation.id),
    }


def _lists() -> dict[str, list[dict[str, Any]]]:
    user = _user()
    rows = (
        db()
        .scalars(
            select(Conversation)
            .where(
                Conversation.state.in_([ConversationState.WAITING_AGENT, ConversationState.AGENT])
            )
            .order_by(Conversation.last_message_at)
            .limit(LIST_LIMIT)
            .options(joinedload(Conversation.contact))
        )
        .all()
    )
    waiting = [_summary(c) for c in rows if c.state == ConversationState.WAITING_AGENT]
    mine = [
        _summary(c)
        for c in rows
        if c.state == ConversationState.AGENT and c.assigned_user_id == user.id
    ]
    return {"waiting": waiting, "mine": mine}


@bp.get("/console/conversations")
@require_role(*DESK)
def index() -> ResponseReturnValue:
    return render_template(
        "conversations/index.html", lists=_lists(), take_form=TakeForm(), poll=POLL_SECONDS
    )


@bp.get("/console/conversations/poll.json")
@require_role(*DESK)
def poll() -> ResponseReturnValue:
    """The waiting conversations and the agent's own, for the list's script."""
    response = jsonify(_lists())
    response.headers["Cache-Control"] = "no-store"
    return response


def _load(conversation_id: int) -> Conversation:
    conversation = db().get(Conversation, conversation_id)
    if conversation is None:
        abort(404)
    return conversation


def _may_write(conversation: Conversation) -> bool:
    return (
        conversation.state == ConversationState.AGENT
        and conversation.assigned_user_id == _user().id
    )


@bp.post("/console/conversations/<int:conversation_id>/take")
@require_role(*DESK)
def take(conversation_id: int) -> ResponseReturnValue:
    if not TakeForm().validate_on_submit():
        abort(400)
    _load(conversation_id)
    if not conversation_service.take(db(), conversation_id, _user().id):
        flash(_("Hội thoại này đã có tổng đài viên khác nhận hoặc không còn chờ."), "error")
        return redirect(url_for("conversations.index"))
    log.info("conversation %s taken by %s", conversation_id, _user().username)
    return redirect(url_for("conversations.show", conversation_id=conversation_id))


def _message(message: Message) -> dict[str, Any]:
    return {
        "id": message.id,
        "sender": message.sender,
        "text": _mask(message.text),
        "at": format_local(message.created_at),
    }


@bp.get("/console/conversations/<int:conversation_id>")
@require_role(*DESK)
def show(conversation_id: int) -> ResponseReturnValue:
    conversation = _load(conversation_id)
    phone = conversation.contact.phone_e164 if conversation.contact else None
    return render_template(
        "conversations/show.html",
        conversation=conversation,
        messages=[_message(m) for m in conversation.messages],
        contact=(phone if _user().sees_personal_data else mask_phone(phone)) if phone else "—",
        may_write=_may_write(conversation),
        reply_form=ReplyForm(),
        take_form=TakeForm(),
        poll=POLL_SECONDS,
    )


@bp.get("/console/conversations/<int:conversation_id>/messages.json")
@require_role(*DESK)
def messages(conversation_id: int) -> ResponseReturnValue:
    """Messages after `after` (an id), and the conversation's state."""
    conversation = _load(conversation_id)
    try:
        after = int(request.args.get("after", "0"))
    except ValueError:
        abort(400)
    rows = db().scalars(
        select(Message)
        .where(Message.conversation_id == conversation.id, Message.id > after)
        .order_by(Message.id)
        .limit(200)
    )
    response = jsonify(
        state=conversation.state.value,
        mine=_may_write(conversation),
        messages=[_message(m) for m in rows],
    )
    response.headers["Cache-Control"] = "no-store"
    return response


@bp.post("/console/conversations/<int:conversation_id>/reply")
@require_role(*DESK)
def reply(conversation_id: int) -> ResponseReturnValue:
    conversation = _load(conversation_id)
    if not _may_write(conversation):
        abort(403)
    form = ReplyForm()
    back = redirect(url_for("conversations.show", conversation_id=conversation.id))
    if not form.validate_on_submit():
        for errors in form.errors.values():
            for error in errors:
                flash(str(error), "error")
        return back
    conversation_service.send_to_resident(
        db(),
        conversation,
        (form.text.data or "").strip(),
        utcnow(),
        sender="agent",
        key=f"conversation:{conversation.id}:agent:{uuid.uuid4().hex}",
    )
    return back


@bp.post("/console/conversations/<int:conversation_id>/hand-back")
@require_role(*DESK)
def hand_back(conversation_id: int) -> ResponseReturnValue:
    conversation = _load(conversation_id)
    if not TakeForm().validate_on_submit():
        abort(400)
    user = _user()
    if not (_may_write(conversation) or user.role in {Role.SUPERVISOR, Role.ADMIN}):
        abort(403)
    if conversation.state not in {ConversationState.AGENT, ConversationState.WAITING_AGENT}:
        flash(_("Hội thoại không do tổng đài viên phụ trách."), "error")
        return redirect(url_for("conversations.index"))
    conversation_service.hand_back(db(), conversation)
    log.info("conversation %s handed back to the bot by %s", conversation.id, user.username)
    flash(_("Đã trả hội thoại cho trợ lý tự động."), "success")
    return redirect(url_for("conversations.index"))
