"""Open311 GeoReport v2 on top of the case rules: partner API keys, the categories offered as
services, finding requests, and opening a case from a partner's POST.

Keys are random, shown once, and stored only as their SHA-256. Requests are complaint cases:
support registrations and inquiries are people's own affairs and are never listed.
A repeated POST is harmless: the same key posting the same request again within
`REPEAT_WINDOW` gets the first request back, and a client that sends an `Idempotency-Key`
header gets the same case for the same key value whenever it retries.
"""

from __future__ import annotations

import hashlib
import json
import re
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import Select, select
from sqlalchemy.orm import Session, selectinload

from intake import messages_vi as msg
from intake.models import (
    Attachment,
    Case,
    CaseKind,
    CaseStatus,
    Category,
    Channel,
    Contact,
    Open311ApiKey,
    Open311Request,
    Ward,
)
from intake.services.cases import OPEN_STATUSES, Actor, CaseSettings, NewCase, open_case
from intake.services.codes import canonical_code
from intake.services.errors import InvalidInput, NotFound
from intake.services.public import OPEN311_CLOSED, OPEN311_OPEN
from intake.validation import fold_accents

KEY_PREFIX = "h311_"
DEFAULT_SPAN = timedelta(days=90)
MAX_RESULTS = 1000
REPEAT_WINDOW = timedelta(minutes=10)
OPEN311 = Actor("open311")

CLOSED_STATUSES = frozenset(set(CaseStatus) - OPEN_STATUSES)


# -- API keys -------------------------------------------------------------------------------
def hash_key(key: str) -> str:
    return hashlib.sha256(key.strip().encode("utf-8")).hexdigest()


def create_key(session: Session, name: str, *, now: datetime) -> tuple[Open311ApiKey, str]:
    """A new key for the partner system `name`; the clear key is returned this once only."""
    name = " ".join(name.split())
    if not name:
        raise InvalidInput({"name": "Vui lòng đặt tên cho hệ thống dùng khóa (--name)."})
    clear = KEY_PREFIX + secrets.token_urlsafe(32)
    key = Open311ApiKey(name=name[:200], key_hash=hash_key(clear), created_at=now)
    session.add(key)
    session.flush()
    return key, clear


def check_key(session: Session, clear: str | None) -> Open311ApiKey | None:
    """The active key matching `clear`, or None (missing, unknown or revoked)."""
    if not clear or not clear.strip():
        return None
    key = session.scalar(select(Open311ApiKey).where(Open311ApiKey.key_hash == hash_key(clear)))
    if key is None or key.revoked_at is not None:
        return None
    return key


def revoke_key(session: Session, key_id: int, *, now: datetime) -> Open311ApiKey:
    """Refuse this key from now on (revoking twice keeps the first time)."""
    key = session.get(Open311ApiKey, key_id)
    if key is None:
        raise NotFound(f"Không có khóa Open311 số {key_id}.")
    key.revoked_at = key.revoked_at or now
    session.flush()
    return key


def list_keys(session: Session) -> list[Open311ApiKey]:
    return list(session.scalars(select(Open311ApiKey).order_by(Open311ApiKey.id)))


# -- Services -------------------------------------------------------------------------------
def list_services(session: Session) -> list[Category]:
    return list(
        session.scalars(select(Category).where(Category.active.is_(True)).order_by(Category.id))
    )


def get_service(session: Session, code: str) -> Category:
    category = session.scalar(
        select(Category).where(Category.code == code, Category.active.is_(True))
    )
    if category is None:
        raise NotFound(msg.ERR_CATEGORY_UNKNOWN.format(category=code))
    return category


# -- Finding requests -----------------------------------------------------------------------
@dataclass(frozen=True)
class RequestFilter:
    """GeoReport's filters. `codes` overrides all the others, as the specification says."""

    codes: tuple[str, ...] = ()
    service_codes: tuple[str, ...] = ()
    start: datetime | None = None
    end: datetime | None = None
    statuses: tuple[str, ...] = ()  # "open", "closed"


def _requests() -> Select[tuple[Case]]:
    return (
        select(Case)
        .where(Case.kind == CaseKind.COMPLAINT)
        .options(
            selectinload(Case.category),
            selectinload(Case.ward),
            selectinload(Case.agency),
            selectinload(Case.events),
            selectinload(Case.extensions),
        )
    )


def find_requests(
    session: Session, query: RequestFilter, *, now: datetime, prefix: str = "HUE"
) -> list[Case]:
    """Complaints matching the filters, newest first; by default those of the last 90 days."""
    stmt = _requests()
    if query.codes:
        codes = {c for c in (canonical_code(code, prefix) for code in query.codes) if c}
        stmt = stmt.where(Case.code.in_(codes))
    else:
        end = query.end or now
        start = query.start or end - DEFAULT_SPAN
        stmt = stmt.where(Case.created_at >= start, Case.created_at <= end)
        if query.service_codes:
            stmt = stmt.join(Case.category).where(Category.code.in_(query.service_codes))
        statuses: set[CaseStatus] = set()
        if OPEN311_OPEN in query.statuses:
            statuses |= OPEN_STATUSES
        if OPEN311_CLOSED in query.statuses:
            statuses |= CLOSED_STATUSES
        if query.statuses:
            stmt = stmt.where(Case.status.in_(statuses))
    stmt = stmt.order_by(Case.created_at.desc(), Case.id.desc()).limit(MAX_RESULTS)
    return list(session.scalars(stmt))


def find_request(session: Session, code: str, *, prefix: str = "HUE") -> Case:
    """One complaint by its code (or digits); NotFound for anything else."""
    canonical = canonical_code(code, prefix)
    case = session.scalar(_requests().where(Case.code == canonical)) if canonical else None
    if case is None:
        raise NotFound(msg.ERR_CASE_NOT_FOUND.format(code=code.strip()[:40]))
    return case


def find_token(session: Session, token: str) -> Open311Request:
    request = session.scalar(select(Open311Request).where(Open311Request.token == token))
    if request is None:
        raise NotFound("Không có yêu cầu Open311 với mã token này.")
    return request


# -- Posting a request ----------------------------------------------------------------------
@dataclass(frozen=True)
class ServiceRequest:
    """A partner's POST, already checked for form (types, lengths, ranges)."""

    service_code: str
    description: str
    latitude: float | None = None
    longitude: float | None = None
    address: str | None = None
    phone_e164: str | None = None
    full_name: str | None = None
    media_url: str | None = None
    idempotency_key: str | None = None

    @property
    def fingerprint(self) -> str:
        parts = [
            self.service_code,
            " ".join(self.description.split()),
            self.latitude,
            self.longitude,
            self.address,
            self.phone_e164,
            self.media_url,
        ]
        return hashlib.sha256(json.dumps(parts, ensure_ascii=False).encode()).hexdigest()


def submit_request(
    session: Session,
    key: Open311ApiKey,
    data: ServiceRequest,
    *,
    now: datetime,
    settings: CaseSettings,
) -> tuple[Open311Request, bool]:
    """Open a complaint case for a partner's request; (request, True) if it is new, or the
    earlier request and False when this POST repeats one (see the module's docstring)."""
    category = get_service(session, data.service_code)
    intake_key = f"open311:{key.id}:{data.idempotency_key}" if data.idempotency_key else None
    earlier = _earlier_request(session, key, data, intake_key, now)
    if earlier is not None:
        return earlier, False
    reporter = _reporter(session, data, now)
    ward = ward_in_text(session, data.address) if data.address else None
    case = open_case(
        session,
        NewCase(
            channel=Channel.OPEN311,
            description=data.description,
            category_code=category.code,
            ward_code=ward.code if ward else None,
            location_text=data.address,
            latitude=data.latitude,
            longitude=data.longitude,
            reporter_contact_id=reporter.id if reporter else None,
            intake_key=intake_key,
            extra={"open311_key": key.id},
        ),
        now=now,
        actor=OPEN311,
        settings=settings,
    )
    if data.media_url:
        case.attachments.append(Attachment(url=data.media_url, created_at=now))
    request = Open311Request(
        case=case,
        api_key=key,
        token=secrets.token_urlsafe(18),
        fingerprint=data.fingerprint,
        created_at=now,
    )
    session.add(request)
    session.flush()
    return request, True


def _earlier_request(
    session: Session,
    key: Open311ApiKey,
    data: ServiceRequest,
    intake_key: str | None,
    now: datetime,
) -> Open311Request | None:
    if intake_key is not None:
        return session.scalar(
            select(Open311Request).join(Case).where(Case.intake_key == intake_key)
        )
    return session.scalar(
        select(Open311Request)
        .where(
            Open311Request.api_key_id == key.id,
            Open311Request.fingerprint == data.fingerprint,
            Open311Request.created_at >= now - REPEAT_WINDOW,
        )
        .order_by(Open311Request.id.desc())
        .limit(1)
    )


def _reporter(session: Session, data: ServiceRequest, now: datetime) -> Contact | None:
    """The citizen by phone number (they are told the code by SMS); a name given by a partner
    never overwrites the one a citizen already has."""
    if data.phone_e164 is None:
        return None
    contact = session.scalar(select(Contact).where(Contact.phone_e164 == data.phone_e164))
    if contact is None:
        contact = Contact(phone_e164=data.phone_e164, full_name=data.full_name, created_at=now)
        session.add(contact)
        session.flush()
    return contact


_WARD_ABBREVIATION = re.compile(r"\bp\s*\.\s*|\bp\s+(?=[a-z])")


def ward_in_text(session: Session, text: str) -> Ward | None:
    """The ward an address names ("kiệt 12 Nguyễn Huệ, phường Phú Hội", "P. Vỹ Dạ"), or None.

    Only a name after "phường"/"xã"/"P." counts: many streets share a ward's name.
    """
    folded = _WARD_ABBREVIATION.sub("phuong ", fold_accents(text))
    wards = sorted(session.scalars(select(Ward)), key=lambda w: -len(w.name_folded))
    for ward in wards:
        name = re.escape(ward.name_folded)
        pattern = rf"\b(?:phuong|xa) {name}\b"
        if ward.name_folded.startswith(("phuong ", "xa ")):
            pattern = rf"\b(?:(?:phuong|xa) )?{name}\b"
        if re.search(pattern, folded):
            return ward
    return None
