"""Support-package registration: one per CCCD per programme, checked, flagged, verified."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

from sqlalchemy import exists, or_, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from intake import messages_vi as msg
from intake.clock import local_date
from intake.models import (
    Case,
    CaseKind,
    Channel,
    Contact,
    HouseholdMember,
    Programme,
    Registration,
    RegistrationVerification,
    VerificationStatus,
    Verifier,
)
from intake.services import outbox
from intake.services.cases import Actor, CaseSettings, NewCase, find_ward, open_case
from intake.services.contacts import reply_address
from intake.services.errors import DuplicateRegistration, InvalidInput, NotFound
from intake.validation import ValidationError, normalize_phone, normalize_text, parse_cccd


@dataclass
class MemberInput:
    full_name: str
    relation: str | None = None
    cccd: str | None = None
    date_of_birth: date | None = None


@dataclass
class RegistrationInput:
    programme_code: str
    full_name: str
    cccd: str
    date_of_birth: date
    phone: str
    address: str
    channel: Channel
    sex: str | None = None
    ward: str | None = None
    reason: str | None = None
    answers: dict[str, Any] = field(default_factory=dict)
    members: list[MemberInput] = field(default_factory=list)
    reporter_contact_id: int | None = None
    conversation_id: int | None = None
    # A recording that goes with the registration (a caller's name said on the hotline): it
    # is kept on the registration's case and transcribed there like any call recording.
    recording_path: str | None = None


@dataclass
class RegistrationResult:
    registration: Registration
    case: Case

    @property
    def flagged(self) -> bool:
        return self.registration.duplicate_phone or self.registration.duplicate_household


def register(
    session: Session,
    data: RegistrationInput,
    *,
    now: datetime,
    actor: Actor,
    settings: CaseSettings = CaseSettings(),  # noqa: B008 - frozen, shared default is safe
    notify: bool = True,
    programme: Programme | None = None,
) -> RegistrationResult:
    """Check and store a registration, open its case (the code residents follow) and queue
    one verification per verifier of the ward.

    A second registration with the same CCCD in the programme is refused with a Vietnamese
    message naming the first one's code; the same phone or household member is only flagged.
    """
    if programme is None or programme.code != data.programme_code:
        programme = session.scalar(select(Programme).where(Programme.code == data.programme_code))
    if programme is None:
        raise NotFound(msg.ERR_PROGRAMME_UNKNOWN.format(programme=data.programme_code))
    _check_open(programme, local_date(now))
    clean = _validated(session, data, today=local_date(now))

    # One query: the CCCD already registered (refused), the same phone or a household member
    # registered elsewhere (flagged for the verifiers).
    member_ids = [m.cccd for m in clean["members"] if m.cccd]
    household_ids = [*member_ids, clean["cccd"]]
    same_cccd = (
        select(Registration.id)
        .where(Registration.programme_id == programme.id, Registration.cccd == clean["cccd"])
        .scalar_subquery()
    )
    same_phone = exists().where(
        Registration.programme_id == programme.id, Registration.phone_e164 == clean["phone"]
    )
    same_household = exists(
        select(Registration.id)
        .outerjoin(HouseholdMember)
        .where(
            Registration.programme_id == programme.id,
            or_(Registration.cccd.in_(member_ids), HouseholdMember.cccd.in_(household_ids)),
        )
    )
    existing_id, duplicate_phone, duplicate_household = session.execute(
        select(same_cccd, same_phone, same_household)
    ).one()
    if existing_id is not None:
        raise _duplicate(session, programme, session.get(Registration, existing_id))

    # The case and the registration are written together under one savepoint: when another
    # registration with this CCCD wins a race (the unique constraint is the last word), both
    # are undone and the caller's transaction carries on with nothing half-written.
    try:
        with session.begin_nested():
            case = open_case(
                session,
                NewCase(
                    channel=data.channel,
                    kind=CaseKind.REGISTRATION,
                    description=f"{programme.name}: {clean['full_name']}",
                    ward=clean["ward"],
                    location_text=clean["address"],
                    reporter_contact_id=data.reporter_contact_id,
                    conversation_id=data.conversation_id,
                    recording_path=data.recording_path,
                    extra={"programme": programme.code},
                ),
                now=now,
                actor=actor,
                settings=settings,
            )
            registration = Registration(
                programme_id=programme.id,
                case_id=case.id,
                full_name=clean["full_name"],
                cccd=clean["cccd"],
                date_of_birth=data.date_of_birth,
                sex=clean["sex"],
                phone_e164=clean["phone"],
                address=clean["address"],
                ward=clean["ward"],
                reason=normalize_text(data.reason) if data.reason else None,
                answers=data.answers,
                duplicate_phone=duplicate_phone,
                duplicate_household=duplicate_household,
                created_at=now,
                members=clean["members"],
                verifications=[
                    RegistrationVerification(verifier=v, status=VerificationStatus.PENDING)
                    for v in Verifier
                ],
            )
            session.add(registration)
            session.flush()
    except IntegrityError:
        existing = _registration_by_cccd(session, programme.id, clean["cccd"])
        raise _duplicate(session, programme, existing) from None

    if not notify:  # the caller tells the resident itself (a chat reply carries the code)
        return RegistrationResult(registration=registration, case=case)
    contact_address = None
    if data.reporter_contact_id is not None:
        contact = session.get(Contact, data.reporter_contact_id)
        contact_address = reply_address(contact, data.channel) if contact else None
    channel, recipient = contact_address or (Channel.SMS, clean["phone"])
    outbox.enqueue(
        session,
        key=f"case:{case.code}:created",
        channel=channel,
        recipient=recipient,
        body=msg.NOTIFY_REGISTRATION.format(
            programme=programme.name,
            name=clean["full_name"],
            code=case.code,
            track_url=settings.track_url(case.code),
        ),
        now=now,
        case_id=case.id,
        conversation_id=data.conversation_id,
    )
    return RegistrationResult(registration=registration, case=case)


def _check_open(programme: Programme, today: date) -> None:
    opens, closes = programme.opens_on, programme.closes_on
    if (
        not programme.active
        or (opens is not None and today < opens)
        or (closes is not None and today > closes)
    ):
        raise InvalidInput(
            {
                "programme": msg.ERR_PROGRAMME_CLOSED.format(
                    programme=programme.name,
                    opens=opens.strftime("%d/%m/%Y") if opens else "…",
                    closes=closes.strftime("%d/%m/%Y") if closes else "…",
                )
            }
        )


def _validated(session: Session, data: RegistrationInput, *, today: date) -> dict[str, Any]:
    """Every field checked at once, so a resident hears all that is wrong in one answer."""
    errors: dict[str, str] = {}
    clean: dict[str, Any] = {"sex": data.sex, "ward": None}
    clean["full_name"] = normalize_text(data.full_name or "")
    if not clean["full_name"]:
        errors["full_name"] = msg.ERR_NAME_REQUIRED
    if data.date_of_birth > today:
        errors["date_of_birth"] = msg.ERR_DOB_FUTURE
    try:
        info = parse_cccd(data.cccd, birth_date=data.date_of_birth, sex=data.sex)
        clean["cccd"] = info.number
        clean["sex"] = info.sex
    except ValidationError as exc:
        errors["cccd"] = exc.message_vi
    try:
        clean["phone"] = normalize_phone(data.phone)
    except ValidationError as exc:
        errors["phone"] = exc.message_vi
    clean["address"] = normalize_text(data.address or "")
    if not clean["address"]:
        errors["address"] = msg.ERR_ADDRESS_REQUIRED
    if data.ward:
        try:
            clean["ward"] = find_ward(session, data.ward)
        except InvalidInput as exc:
            errors.update(exc.errors)
    members: list[HouseholdMember] = []
    for index, member in enumerate(data.members, start=1):
        name = normalize_text(member.full_name or "")
        if not name:
            errors[f"members.{index}.full_name"] = msg.ERR_NAME_REQUIRED
            continue
        member_cccd = None
        if member.cccd:
            try:
                member_cccd = parse_cccd(member.cccd, birth_date=member.date_of_birth).number
            except ValidationError as exc:
                errors[f"members.{index}.cccd"] = f"{name}: {exc.message_vi}"
        members.append(
            HouseholdMember(
                full_name=name,
                relation=member.relation,
                cccd=member_cccd,
                date_of_birth=member.date_of_birth,
            )
        )
    clean["members"] = members
    if errors:
        raise InvalidInput(errors)
    return clean


def _registration_by_cccd(session: Session, programme_id: int, cccd: str) -> Registration | None:
    return session.scalar(
        select(Registration).where(
            Registration.programme_id == programme_id, Registration.cccd == cccd
        )
    )


def _duplicate(
    session: Session, programme: Programme, existing: Registration | None
) -> DuplicateRegistration:
    code = None
    if existing is not None and existing.case_id is not None:
        case = session.get(Case, existing.case_id)
        code = case.code if case else None
    return DuplicateRegistration(
        msg.ERR_DUPLICATE_CCCD.format(programme=programme.name, code=code or "—"),
        existing_case_code=code,
    )
