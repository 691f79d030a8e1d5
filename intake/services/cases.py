"""The case rules: opening, acknowledging, routing, status changes, extensions, duplicates.

Every service takes the session, `now` and the acting person explicitly, flushes, and never
commits: the caller's unit of work decides.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import case as sql_case
from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from intake import messages_vi as msg
from intake.clock import format_local
from intake.models import (
    Agency,
    Case,
    CaseEvent,
    CaseExtension,
    CaseKind,
    CaseStatus,
    Category,
    Channel,
    Contact,
    Conversation,
    Priority,
    User,
    Ward,
)
from intake.services import outbox
from intake.services.codes import allocate_case_code, canonical_code
from intake.services.contacts import reply_address
from intake.services.conversations import send_to_resident
from intake.services.errors import InvalidInput, InvalidTransition, NotFound
from intake.services.routing import agency_for
from intake.validation import fold_accents, mask_pii, normalize_text

DEFAULT_ACK_HOURS = 1
DEFAULT_RESOLVE_HOURS = 7 * 24

# Which status may follow which. Anything else is refused and changes nothing.
TRANSITIONS: dict[CaseStatus, frozenset[CaseStatus]] = {
    CaseStatus.NEW: frozenset({CaseStatus.ACKNOWLEDGED, CaseStatus.REJECTED, CaseStatus.DUPLICATE}),
    CaseStatus.ACKNOWLEDGED: frozenset(
        {CaseStatus.IN_PROGRESS, CaseStatus.RESOLVED, CaseStatus.REJECTED, CaseStatus.DUPLICATE}
    ),
    CaseStatus.IN_PROGRESS: frozenset(
        {CaseStatus.RESOLVED, CaseStatus.REJECTED, CaseStatus.DUPLICATE}
    ),
    CaseStatus.RESOLVED: frozenset({CaseStatus.CLOSED, CaseStatus.REOPENED}),
    CaseStatus.CLOSED: frozenset({CaseStatus.REOPENED}),
    CaseStatus.REJECTED: frozenset({CaseStatus.REOPENED}),
    CaseStatus.DUPLICATE: frozenset({CaseStatus.REOPENED}),
    CaseStatus.REOPENED: frozenset(
        {
            CaseStatus.ACKNOWLEDGED,
            CaseStatus.IN_PROGRESS,
            CaseStatus.RESOLVED,
            CaseStatus.REJECTED,
            CaseStatus.DUPLICATE,
        }
    ),
}

OPEN_STATUSES = frozenset(
    {CaseStatus.NEW, CaseStatus.ACKNOWLEDGED, CaseStatus.IN_PROGRESS, CaseStatus.REOPENED}
)


@dataclass(frozen=True)
class Actor:
    """Who did something: a console user, or the system, the bot or the citizen."""

    name: str
    user_id: int | None = None

    @classmethod
    def of(cls, user: User) -> Actor:
        return cls(name=user.username, user_id=user.id)


SYSTEM = Actor("system")
CITIZEN = Actor("citizen")
BOT = Actor("bot")


@dataclass(frozen=True)
class CaseSettings:
    """The deployment's code prefix and the public URL residents follow a case at."""

    code_prefix: str = "HUE"
    public_base_url: str = "http://127.0.0.1:5000"

    def track_url(self, code: str) -> str:
        return f"{self.public_base_url.rstrip('/')}/track/{code}"


@dataclass
class NewCase:
    """What a channel, the bot, an agent or the IVR knows when a case is opened."""

    channel: Channel
    description: str
    kind: CaseKind = CaseKind.COMPLAINT
    category_code: str | None = None
    ward_code: str | None = None
    ward: Ward | None = None  # already found by the caller (then `ward_code` is not looked up)
    location_text: str | None = None
    latitude: float | None = None
    longitude: float | None = None
    priority: Priority = Priority.NORMAL
    reporter_contact_id: int | None = None
    conversation_id: int | None = None
    anonymous: bool = False
    transcript: str | None = None
    recording_path: str | None = None
    intake_key: str | None = None
    extra: dict[str, Any] = field(default_factory=dict)


def open_case(
    session: Session,
    data: NewCase,
    *,
    now: datetime,
    actor: Actor,
    settings: CaseSettings = CaseSettings(),
    notify: bool = True,
) -> Case:
    """Open a case with a unique code, route it, start both SLA clocks and tell the reporter.

    With `data.intake_key` set, opening the same report again returns the first case.
    """
    if data.intake_key:
        existing = session.scalar(select(Case).where(Case.intake_key == data.intake_key))
        if existing is not None:
            return existing
    description = normalize_text(data.description)
    if not description and not data.transcript:
        raise InvalidInput({"description": msg.ERR_DESCRIPTION_REQUIRED})
    # Everything is built first and written in one flush at the end; the code is taken last,
    # so whatever serialises code allocation is held as briefly as possible.
    with session.no_autoflush:
        category = _category(session, data.category_code)
        ward = data.ward if data.ward is not None else find_ward(session, data.ward_code)
        agency = agency_for(session, category, ward)
        ack_hours = category.ack_hours if category else DEFAULT_ACK_HOURS
        resolve_hours = category.resolve_hours if category else DEFAULT_RESOLVE_HOURS
        created_text = (
            msg.EVENT_REGISTRATION_CREATED
            if data.kind == CaseKind.REGISTRATION
            else msg.EVENT_CREATED
        )
        events = [
            _new_event(
                now, actor, "created", {"channel": data.channel.value, **data.extra}, created_text
            )
        ]
        if agency is not None:
            events.append(
                _new_event(
                    now,
                    SYSTEM,
                    "routed",
                    {"agency": agency.code},
                    msg.EVENT_ROUTED.format(agency=agency.name),
                )
            )
        case = Case(
            code=allocate_case_code(session, now, settings.code_prefix),
            intake_key=data.intake_key,
            kind=data.kind,
            category=category,
            status=CaseStatus.NEW,
            priority=int(data.priority),
            channel=data.channel,
            description=description,
            transcript=data.transcript,
            recording_path=data.recording_path,
            location_text=normalize_text(data.location_text) if data.location_text else None,
            ward=ward,
            latitude=data.latitude,
            longitude=data.longitude,
            agency=agency,
            reporter_contact_id=data.reporter_contact_id,
            conversation_id=data.conversation_id,
            anonymous=data.anonymous,
            created_at=now,
            updated_at=now,
            ack_due_at=now + timedelta(hours=ack_hours),
            resolve_due_at=now + timedelta(hours=resolve_hours),
            events=events,
        )
        session.add(case)
        if notify and data.kind != CaseKind.REGISTRATION:
            _notify(
                session,
                case,
                "created",
                now,
                msg.NOTIFY_CREATED.format(code=case.code, track_url=settings.track_url(case.code)),
            )
    session.flush()
    return case


def get_case(session: Session, code_or_digits: str, *, prefix: str = "HUE") -> Case:
    """Find a case by its code or by the digits alone; NotFound in Vietnamese otherwise."""
    code = canonical_code(code_or_digits, prefix)
    case = session.scalar(select(Case).where(Case.code == code)) if code else None
    if case is None:
        raise NotFound(msg.ERR_CASE_NOT_FOUND.format(code=code_or_digits.strip()))
    return case


def change_status(
    session: Session,
    case: Case,
    new_status: CaseStatus,
    *,
    now: datetime,
    actor: Actor,
    reason: str | None = None,
    resolution: str | None = None,
    master: Case | None = None,
) -> Case:
    """Move a case along its life cycle; a transition not in TRANSITIONS is refused."""
    old_status = case.status
    if new_status not in TRANSITIONS[old_status]:
        raise InvalidTransition(
            msg.ERR_TRANSITION.format(
                code=case.code,
                src=msg.STATUS_NAMES[old_status],
                dst=msg.STATUS_NAMES[new_status],
            )
        )
    reason = normalize_text(reason) if reason else None
    resolution = normalize_text(resolution) if resolution else None
    if new_status in {CaseStatus.REJECTED, CaseStatus.REOPENED} and not reason:
        raise InvalidInput({"reason": msg.ERR_REASON_REQUIRED})
    if new_status == CaseStatus.RESOLVED and not resolution:
        raise InvalidInput({"resolution": msg.ERR_RESOLUTION_REQUIRED})
    if new_status == CaseStatus.DUPLICATE and (
        master is None or master.id == case.id or master.status == CaseStatus.DUPLICATE
    ):
        raise InvalidInput({"master": msg.ERR_MASTER_CASE})

    data: dict[str, Any] = {"from": old_status.value, "to": new_status.value}
    public_text: str | None = None
    if new_status == CaseStatus.ACKNOWLEDGED:
        case.acknowledged_at = case.acknowledged_at or now
        public_text = msg.EVENT_ACKNOWLEDGED
    elif new_status == CaseStatus.IN_PROGRESS:
        public_text = msg.EVENT_IN_PROGRESS
    elif new_status == CaseStatus.RESOLVED:
        case.acknowledged_at = case.acknowledged_at or now
        case.resolved_at = now
        case.resolution = resolution
        public_text = msg.EVENT_RESOLVED.format(resolution=resolution)
    elif new_status == CaseStatus.CLOSED:
        case.closed_at = now
        public_text = msg.EVENT_CLOSED
    elif new_status == CaseStatus.REJECTED:
        case.closed_at = now
        public_text = msg.EVENT_REJECTED.format(reason=reason)
    elif new_status == CaseStatus.DUPLICATE:
        assert master is not None
        case.master_case_id = master.id
        case.closed_at = now
        data["master"] = master.code
        public_text = msg.EVENT_DUPLICATE.format(master_code=master.code)
    elif new_status == CaseStatus.REOPENED:
        case.resolved_at = None
        case.closed_at = None
        case.master_case_id = None
        case.resolve_overdue_at = None
        hours = case.category.resolve_hours if case.category else DEFAULT_RESOLVE_HOURS
        case.resolve_due_at = max(case.resolve_due_at, now + timedelta(hours=hours))
        public_text = msg.EVENT_REOPENED.format(reason=reason)
    if reason:
        data["reason"] = reason
    case.status = new_status
    case.updated_at = now
    _event(case, now, actor, "status_changed", data, public_text)
    if new_status == CaseStatus.RESOLVED:
        body = msg.NOTIFY_RESOLVED.format(code=case.code, resolution=resolution)
    else:
        body = msg.NOTIFY_STATUS.format(code=case.code, status=msg.STATUS_NAMES[new_status])
    _notify(session, case, f"status:{len(case.events)}:{new_status.value}", now, body)
    session.flush()
    return case


def acknowledge(session: Session, case: Case, *, now: datetime, actor: Actor) -> Case:
    """Stop the acknowledgement clock: the centre has seen the case."""
    return change_status(session, case, CaseStatus.ACKNOWLEDGED, now=now, actor=actor)


def start_work(session: Session, case: Case, *, now: datetime, actor: Actor) -> Case:
    return change_status(session, case, CaseStatus.IN_PROGRESS, now=now, actor=actor)


def resolve(session: Session, case: Case, resolution: str, *, now: datetime, actor: Actor) -> Case:
    """Record the result (published on the tracking page) and stop the resolution clock."""
    return change_status(
        session, case, CaseStatus.RESOLVED, now=now, actor=actor, resolution=resolution
    )


def close(session: Session, case: Case, *, now: datetime, actor: Actor) -> Case:
    return change_status(session, case, CaseStatus.CLOSED, now=now, actor=actor)


def reject(session: Session, case: Case, reason: str, *, now: datetime, actor: Actor) -> Case:
    return change_status(session, case, CaseStatus.REJECTED, now=now, actor=actor, reason=reason)


def reopen(session: Session, case: Case, reason: str, *, now: datetime, actor: Actor) -> Case:
    """Reopen a finished case (an incomplete fix); the resolution clock runs again."""
    return change_status(session, case, CaseStatus.REOPENED, now=now, actor=actor, reason=reason)


def mark_duplicate(
    session: Session, case: Case, master: Case, *, now: datetime, actor: Actor
) -> Case:
    """Link a case to the master case that will be worked instead."""
    return change_status(session, case, CaseStatus.DUPLICATE, now=now, actor=actor, master=master)


def assign(session: Session, case: Case, user: User | None, *, now: datetime, actor: Actor) -> Case:
    """Give the case to an agent (or take it back with None); internal to the centre."""
    case.assignee = user
    case.updated_at = now
    _event(case, now, actor, "assigned", {"assignee": user.username if user else None}, None)
    session.flush()
    return case


def route(
    session: Session,
    case: Case,
    agency_code: str,
    *,
    now: datetime,
    actor: Actor,
    reason: str | None = None,
) -> Case:
    """Re-route a case to another agency."""
    agency = session.scalar(select(Agency).where(Agency.code == agency_code))
    if agency is None:
        raise InvalidInput({"agency": msg.ERR_AGENCY_UNKNOWN.format(agency=agency_code)})
    previous = case.agency.code if case.agency else None
    case.agency = agency
    case.updated_at = now
    data = {"from": previous, "to": agency.code, "reason": reason}
    _event(case, now, actor, "routed", data, msg.EVENT_ROUTED.format(agency=agency.name))
    session.flush()
    return case


def extend(
    session: Session,
    case: Case,
    new_due_at: datetime,
    reason: str,
    *,
    now: datetime,
    actor: Actor,
) -> CaseExtension:
    """Move the resolution deadline later. A reason is required and the extension is recorded."""
    reason = normalize_text(reason or "")
    if not reason:
        raise InvalidInput({"reason": msg.ERR_REASON_REQUIRED})
    if new_due_at <= case.resolve_due_at:
        raise InvalidInput(
            {"due": msg.ERR_EXTENSION_NOT_LATER.format(due=format_local(case.resolve_due_at))}
        )
    extension = CaseExtension(
        at=now,
        by_user_id=actor.user_id,
        reason=reason,
        previous_due_at=case.resolve_due_at,
        new_due_at=new_due_at,
    )
    case.extensions.append(extension)
    case.resolve_due_at = new_due_at
    if new_due_at > now:
        case.resolve_overdue_at = None
    case.updated_at = now
    _event(
        case,
        now,
        actor,
        "extended",
        {
            "previous_due_at": extension.previous_due_at.isoformat(),
            "new_due_at": new_due_at.isoformat(),
            "reason": reason,
        },
        msg.EVENT_EXTENDED.format(due=format_local(new_due_at), reason=reason),
    )
    session.flush()
    return extension


def attach_transcript(
    case: Case,
    text: str,
    confidence: float,
    *,
    now: datetime,
    actor: Actor,
    audio_s: float,
    engine: str,
) -> Case:
    """Put the speech recogniser's transcript of the case's recording on the case, with an
    internal timeline event (agents check an unsure transcript against the audio)."""
    case.transcript = text
    case.transcript_confidence = round(max(0.0, min(1.0, confidence)), 3)
    case.updated_at = now
    _event(
        case,
        now,
        actor,
        "transcribed",
        {
            "confidence": case.transcript_confidence,
            "audio_s": round(audio_s, 2),
            "engine": engine,
            "words": len(text.split()),
        },
        None,
    )
    return case


def note_transcription_unavailable(case: Case, reason: str, *, now: datetime, actor: Actor) -> bool:
    """Say once on the timeline why the recording has no transcript (no model installed, an
    unreadable recording): agents then listen to it. False if it was already said."""
    if any(event.action == "transcription_unavailable" for event in case.events):
        return False
    _event(case, now, actor, "transcription_unavailable", {"reason": reason[:500]}, None)
    return True


def untranscribed_ids(session: Session, now: datetime, *, limit: int = 200) -> list[int]:
    """Cases of the last two days with a recording and no transcript, waiting over a minute
    (the sweep queues them again in case their task was lost)."""
    stmt = (
        select(Case.id)
        .where(
            Case.recording_path.is_not(None),
            Case.transcript.is_(None),
            Case.created_at >= now - timedelta(days=2),
            Case.created_at <= now - timedelta(minutes=1),
            ~Case.events.any(CaseEvent.action == "transcription_unavailable"),
        )
        .order_by(Case.id)
        .limit(limit)
    )
    return list(session.scalars(stmt))


def mark_draft(case: Case, reason: str, *, now: datetime, actor: Actor, **details: Any) -> Case:
    """Say on the timeline (internally) that the case holds an unfinished report, e.g. a caller
    who hung up before confirming: agents check it and call back. The case is otherwise a
    normal case, so it is routed, clocked and followed like any other."""
    _event(case, now, actor, "draft", {"reason": reason, **details}, None)
    return case


def is_draft(case: Case) -> bool:
    return any(event.action == "draft" for event in case.events)


def cases_reported_by_phone(session: Session, phone_e164: str, *, limit: int = 3) -> list[Case]:
    """The latest cases reported from this phone number (on any channel), newest first."""
    stmt = (
        select(Case)
        .join(Contact, Contact.id == Case.reporter_contact_id)
        .where(Contact.phone_e164 == phone_e164)
        .order_by(Case.created_at.desc(), Case.id.desc())
        .limit(limit)
    )
    return list(session.scalars(stmt))


def add_note(session: Session, case: Case, text: str, *, now: datetime, actor: Actor) -> CaseEvent:
    """An internal note on the timeline (never shown on the tracking page)."""
    text = normalize_text(text or "")
    if not text:
        raise InvalidInput({"text": msg.ERR_NOTE_REQUIRED})
    event = _event(case, now, actor, "note", {"text": text}, None)
    case.updated_at = now
    session.flush()
    return event


def reply_publicly(
    session: Session, case: Case, text: str, *, now: datetime, actor: Actor
) -> CaseEvent:
    """Answer the reporter on the channel they used, and publish the answer on the timeline.

    A case opened in a conversation is answered in that conversation (web chat shows it in the
    widget; other channels go through the outbox); otherwise the reporter's reply address
    (SMS for calls). The tracking page shows the answer with phone numbers and CCCDs masked."""
    text = normalize_text(text or "")
    if not text:
        raise InvalidInput({"text": msg.ERR_REPLY_REQUIRED})
    event = _event(case, now, actor, "public_reply", {"text": text}, mask_pii(text))
    case.updated_at = now
    session.flush()
    key = f"case:{case.code}:reply:{event.id}"
    if case.conversation_id is not None:
        conversation = session.get(Conversation, case.conversation_id)
        if conversation is not None:
            send_to_resident(session, conversation, text, now, sender="agent", key=key)
            event.data = {**event.data, "delivered_via": conversation.channel.value}
            return event
    contact = session.get(Contact, case.reporter_contact_id) if case.reporter_contact_id else None
    address = reply_address(contact, case.channel) if contact else None
    if address is not None:
        channel, recipient = address
        outbox.enqueue(
            session,
            key=key,
            channel=channel,
            recipient=recipient,
            body=text,
            now=now,
            case_id=case.id,
        )
        event.data = {**event.data, "delivered_via": channel.value}
    session.flush()
    return event


def public_events(case: Case) -> list[CaseEvent]:
    """The timeline the public may see: public events only, and only their public text."""
    return [event for event in case.events if event.public]


def _event(
    case: Case,
    now: datetime,
    actor: Actor,
    action: str,
    data: dict[str, Any],
    public_text: str | None,
) -> CaseEvent:
    event = _new_event(now, actor, action, data, public_text)
    case.events.append(event)
    return event


def _new_event(
    now: datetime,
    actor: Actor,
    action: str,
    data: dict[str, Any],
    public_text: str | None,
) -> CaseEvent:
    return CaseEvent(
        at=now,
        actor=actor.name,
        actor_user_id=actor.user_id,
        action=action,
        data=data,
        public=public_text is not None,
        public_text=public_text,
    )


def _notify(session: Session, case: Case, what: str, now: datetime, body: str) -> None:
    """Queue a message to the reporter on the channel they used (works before the first flush)."""
    if case.reporter_contact_id is None:
        return
    contact = session.get(Contact, case.reporter_contact_id)
    address = reply_address(contact, case.channel) if contact else None
    if address is None:
        return
    channel, recipient = address
    message = outbox.new_message(
        key=f"case:{case.code}:{what}",
        channel=channel,
        recipient=recipient,
        body=body,
        now=now,
        conversation_id=case.conversation_id,
    )
    message.case = case
    session.add(message)


def _category(session: Session, code: str | None) -> Category | None:
    if not code:
        return None
    category = session.scalar(select(Category).where(Category.code == code))
    if category is None:
        raise InvalidInput({"category": msg.ERR_CATEGORY_UNKNOWN.format(category=code)})
    return category


def find_ward(session: Session, code_or_name: str | None) -> Ward | None:
    """Find a ward by code or by name, with or without diacritics ("Phu Hoi" finds Phú Hội)."""
    if not code_or_name:
        return None
    # One query: the ward with this code first, else the first ward with this name.
    # "Phường Đúc" is itself a ward's name: the words as given are tried before dropping a
    # "phường"/"xã" prefix.
    folded = fold_accents(code_or_name)
    candidates = [folded]
    for prefix in ("phuong ", "xa ", "p. ", "p "):
        if folded.startswith(prefix):
            candidates.append(folded.removeprefix(prefix))
    by_code = Ward.code == code_or_name
    # Wards are reference data, never written with a case: the query need not flush first
    # (a worker's batch keeps its other residents' rows for one write).
    with session.no_autoflush:
        ward = session.scalars(
            select(Ward)
            .where(or_(by_code, Ward.name_folded.in_(candidates)))
            .order_by(sql_case((by_code, 0), else_=1), Ward.id)
            .limit(1)
        ).first()
    if ward is None:
        raise InvalidInput({"ward": msg.ERR_WARD_UNKNOWN.format(ward=code_or_name)})
    return ward
