"""Webhook routes and the web chat API.

Every provider request is checked in the same order: size (413), signature (403), body (400),
then the deliveries are stored in one transaction and the provider is answered. The bot runs
later in a Celery worker. Nothing is written for a refused request, and a repeated delivery is
acknowledged without a second effect. While the database is unreachable the answer is 503, so
the provider tries again.
"""

from __future__ import annotations

import logging
import secrets
from datetime import datetime
from typing import Any

from flask import Blueprint, Response, current_app, jsonify, render_template, request
from sqlalchemy import select
from sqlalchemy.exc import DBAPIError
from werkzeug.exceptions import RequestEntityTooLarge

from intake.channels import messenger, telegram, twilio_sms, webchat, zalo
from intake.channels.errors import WebhookError, load_object, malformed
from intake.clock import utcnow
from intake.config import Settings
from intake.db import unit_of_work
from intake.messages_vi import VOICE_FALLBACK, VOICE_THANKS
from intake.models import (
    Channel,
    ContactIdentity,
    Conversation,
    DeliveryStatus,
    InboundDelivery,
    Message,
)
from intake.pii import masked
from intake.runtime import Runtime
from intake.services import inbox

log = logging.getLogger(__name__)

WEBHOOK_MAX_BYTES = 256 * 1024
POLL_LIMIT = 100

bp = Blueprint(
    "channels",
    __name__,
    template_folder="templates",
    static_folder="static",
    static_url_path="/chat/static",
)


def _runtime() -> Runtime:
    runtime: Runtime = current_app.extensions["hotline.runtime"]
    return runtime


@bp.before_request
def _limit_body() -> None:
    request.max_content_length = WEBHOOK_MAX_BYTES


@bp.errorhandler(WebhookError)
def _refused(exc: WebhookError) -> Any:
    log.warning("%s %s refused: %d %s", request.method, request.path, exc.status, exc.message)
    return jsonify(error=exc.message), exc.status


@bp.errorhandler(RequestEntityTooLarge)
def _too_large(_exc: RequestEntityTooLarge) -> Any:
    log.warning(
        "%s %s refused: body over %d bytes", request.method, request.path, WEBHOOK_MAX_BYTES
    )
    return jsonify(error=f"body larger than {WEBHOOK_MAX_BYTES} bytes"), 413


@bp.errorhandler(DBAPIError)
def _database_down(exc: DBAPIError) -> Any:
    log.error("%s %s: database unavailable (%s)", request.method, request.path, type(exc).__name__)
    response = jsonify(error="temporarily unavailable, try again")
    response.headers["Retry-After"] = "5"
    return response, 503


def public_url() -> str:
    """The URL the provider called, as it signed it (behind the public base URL)."""
    base = _runtime().settings.public_base_url.rstrip("/")
    query = request.query_string.decode("latin-1")
    return f"{base}{request.path}" + (f"?{query}" if query else "")


def store(items: list[inbox.Inbound]) -> list[int]:
    """Write the deliveries in one transaction, then queue the new ones for the bot."""
    runtime = _runtime()
    now = utcnow()
    if len(items) == 1 and runtime.engine.dialect.name == "postgresql":
        # One statement is its own transaction: no BEGIN and no COMMIT round trips.
        ids = [_accept_alone(runtime, items[0], now)]
    else:
        with runtime.engine.begin() as connection:
            ids = [inbox.accept(connection, item, now) for item in items]
    new = [i for i in ids if i is not None]
    for item, delivery_id in zip(items, ids, strict=True):
        log.log(
            logging.DEBUG if delivery_id else logging.INFO,
            "%s delivery %s from %s: %s",
            item.channel.value,
            item.provider_message_id,
            masked(item.sender_id),
            f"stored as {delivery_id}" if delivery_id else "duplicate, acknowledged",
        )
    if not runtime.settings.inbox_relay:
        publish(new)
    return new


def _accept_alone(runtime: Runtime, item: inbox.Inbound, now: datetime) -> int | None:
    """One delivery in one autocommitted statement, tried again once if the pooled connection
    turns out to be dead (PostgreSQL restarted); a second failure is a 503."""
    try:
        with runtime.ingest_engine.connect() as connection:
            return inbox.accept(connection, item, now)
    except DBAPIError as exc:
        if not exc.connection_invalidated:
            raise
    with runtime.ingest_engine.connect() as connection:
        return inbox.accept(connection, item, now)


def publish(delivery_ids: list[int]) -> None:
    """Queue the bot's work from the request (without the relay: SQLite, small sites)."""
    from intake.channels.tasks import process_inbound_task

    for delivery_id in delivery_ids:
        try:
            process_inbound_task.delay(delivery_id)
        except Exception as exc:  # the broker is down: the stored delivery waits for the sweep
            log.warning("delivery %s stored but not queued (%s)", delivery_id, exc)


def _json_body() -> bytes:
    raw = request.get_data(cache=True)
    if not raw:
        raise malformed("empty body")
    return raw


def _twiml(body: str) -> Response:
    return Response(body, status=200, mimetype="text/xml")


# -- Twilio ---------------------------------------------------------------------------------
def _verified_twilio() -> Settings:
    settings = _runtime().settings
    signature = request.headers.get("X-Twilio-Signature")
    twilio_sms.verify(settings, public_url(), request.form, signature)
    return settings


@bp.post("/webhooks/twilio/sms")
def twilio_sms_webhook() -> Any:
    _verified_twilio()
    store([twilio_sms.parse_sms(request.form)])
    return _twiml(twilio_sms.EMPTY_TWIML)


@bp.post("/webhooks/twilio/voice")
def twilio_voice_webhook() -> Any:
    """A call Twilio could not pass to Asterisk: a Vietnamese apology and a voicemail."""
    settings = _verified_twilio()
    action = settings.public_base_url.rstrip("/") + "/webhooks/twilio/voice/recorded"
    return _twiml(twilio_sms.voice_fallback_twiml(VOICE_FALLBACK, action))


@bp.post("/webhooks/twilio/voice/recorded")
def twilio_voicemail_webhook() -> Any:
    _verified_twilio()
    store([twilio_sms.parse_voicemail(request.form)])
    return _twiml(
        '<?xml version="1.0" encoding="UTF-8"?><Response>'
        f'<Say language="vi-VN">{VOICE_THANKS}</Say><Hangup/></Response>'
    )


# -- Zalo -----------------------------------------------------------------------------------
@bp.post("/webhooks/zalo")
def zalo_webhook() -> Any:
    settings = _runtime().settings
    header = request.headers.get("X-ZEvent-Signature")
    if not header or not settings.zalo_oa_secret_key:
        raise WebhookError(403, "invalid or missing signature")
    raw = _json_body()
    body = load_object(raw)
    zalo.verify(settings, raw, header, body)
    items = zalo.parse(body)
    if not items:
        log.info("zalo event %r acknowledged, nothing to answer", body.get("event_name"))
    store(items)
    return jsonify(status="ok")


# -- Messenger ------------------------------------------------------------------------------
@bp.get("/webhooks/messenger")
def messenger_verify() -> Any:
    challenge = messenger.challenge(_runtime().settings, request.args.to_dict())
    return Response(challenge, mimetype="text/plain")


@bp.post("/webhooks/messenger")
def messenger_webhook() -> Any:
    raw = request.get_data(cache=True)
    messenger.verify(_runtime().settings, raw, request.headers.get("X-Hub-Signature-256"))
    body = load_object(raw)
    items = messenger.parse(body)
    if not items:
        log.info("messenger %r event acknowledged, nothing to answer", body.get("object"))
    store(items)
    return Response("EVENT_RECEIVED", mimetype="text/plain")


# -- Telegram -------------------------------------------------------------------------------
@bp.post("/webhooks/telegram")
def telegram_webhook() -> Any:
    telegram.verify(_runtime().settings, request.headers.get("X-Telegram-Bot-Api-Secret-Token"))
    body = telegram.load(_json_body())
    items = telegram.parse(body)
    if not items:
        log.info("telegram update %s acknowledged, nothing to answer", body.get("update_id"))
    store(items)
    return jsonify(ok=True)


# -- Web chat -------------------------------------------------------------------------------
@bp.get("/chat")
def chat_page() -> Any:
    return render_template("chat.html", session_hint=secrets.token_urlsafe(24))


@bp.post("/chat/api/messages")
def chat_send() -> Any:
    if not request.is_json:
        raise malformed("send JSON with Content-Type: application/json")
    body = request.get_json(silent=True)
    item = webchat.parse(body)
    new = store([item])
    return jsonify(accepted=True, duplicate=not new), 202


@bp.get("/chat/api/messages")
def chat_poll() -> Any:
    """The conversation so far (after `after`), for the widget to show."""
    session_id = webchat.check_session(request.args.get("session"))
    try:
        after = int(request.args.get("after", "0"))
    except ValueError as exc:
        raise malformed("after must be a message id") from exc
    with unit_of_work(_runtime().sessions) as session:
        conversation_ids = (
            select(Conversation.id)
            .join(ContactIdentity, ContactIdentity.contact_id == Conversation.contact_id)
            .where(
                ContactIdentity.channel == Channel.WEB,
                ContactIdentity.external_id == session_id,
                Conversation.channel == Channel.WEB,
            )
        )
        rows = session.scalars(
            select(Message)
            .where(Message.conversation_id.in_(conversation_ids), Message.id > after)
            .order_by(Message.id)
            .limit(POLL_LIMIT)
        ).all()
        pending = session.scalar(
            select(InboundDelivery.id)
            .where(
                InboundDelivery.channel == Channel.WEB,
                InboundDelivery.sender_id == session_id,
                InboundDelivery.status == DeliveryStatus.PENDING,
            )
            .limit(1)
        )
        messages = [
            {
                "id": m.id,
                "direction": m.direction.value,
                "sender": m.sender,
                "text": m.text,
                "at": m.created_at.isoformat(),
            }
            for m in rows
        ]
    return jsonify(messages=messages, typing=pending is not None)
