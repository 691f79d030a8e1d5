"""Verifying support registrations: who may see and decide what, the decision itself, and the
registration list's query (filters, keyset pages, exports).

Each registration has one verification per verifier of its ward: the ward's Fatherland Front
committee (`front`), the Labour department (`labour`) and the ward People's Committee (`ward`).
An agency officer decides for the verifier its agency is: a `front` agency for `front`, a
`labour` agency for `labour`, and a ward committee for `ward`, in its own wards only.
Supervisors and admins may record any verifier's decision (one phoned in, say); agents only read.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import Select, exists, false, func, or_, select
from sqlalchemy.orm import Session, selectinload

from intake.models import (
    AgencyKind,
    Case,
    CaseEvent,
    HouseholdMember,
    Programme,
    Registration,
    RegistrationVerification,
    Role,
    User,
    VerificationStatus,
    Verifier,
    Ward,
)
from intake.services.errors import DomainError, InvalidInput, NotFound

VERIFIER_AGENCY_KIND: dict[Verifier, AgencyKind] = {
    Verifier.FRONT: AgencyKind.FRONT,
    Verifier.LABOUR: AgencyKind.LABOUR,
    Verifier.WARD: AgencyKind.WARD_COMMITTEE,
}
DECISIONS = (
    VerificationStatus.APPROVED,
    VerificationStatus.REJECTED,
    VerificationStatus.NEEDS_INFO,
)


class NotAllowed(DomainError):
    code = "not_allowed"


@dataclass(frozen=True)
class Scope:
    """What one console user may do with registrations.

    `ward_ids` None means every ward; an empty `verifiers` set means read only."""

    may_view: bool
    verifiers: frozenset[Verifier]
    ward_ids: frozenset[int] | None
    # Agency officers export only their own verifier's list; the centre exports any.
    export_verifiers: frozenset[Verifier]

    def covers_ward(self, ward_id: int | None) -> bool:
        return self.ward_ids is None or (ward_id is not None and ward_id in self.ward_ids)

    def may_decide(self, registration: Registration, verifier: Verifier) -> bool:
        return verifier in self.verifiers and self.covers_ward(registration.ward_id)


NO_ACCESS = Scope(False, frozenset(), frozenset(), frozenset())


def scope_for(session: Session, user: User) -> Scope:
    """The registrations `user` may see, decide and export."""
    everything = frozenset(Verifier)
    if user.role in (Role.SUPERVISOR, Role.ADMIN):
        return Scope(True, everything, None, everything)
    if user.role == Role.AGENT:
        return Scope(True, frozenset(), None, everything)
    agency = user.agency
    if user.role != Role.AGENCY_OFFICER or agency is None or not agency.active:
        return NO_ACCESS
    mine = frozenset(v for v, kind in VERIFIER_AGENCY_KIND.items() if kind == agency.kind)
    if not mine:
        return NO_ACCESS
    wards: frozenset[int] | None = None
    if agency.kind == AgencyKind.WARD_COMMITTEE:
        wards = frozenset(session.scalars(select(Ward.id).where(Ward.agency_id == agency.id)))
    return Scope(True, mine, wards, mine)


@dataclass
class RegistrationFilter:
    programme_id: int | None = None
    ward_id: int | None = None
    verifier: Verifier | None = None
    status: VerificationStatus | None = None
    duplicate_phone: bool = False
    duplicate_household: bool = False
    text: str | None = None  # a name or a case code
    cccd: str | None = None  # only honoured for roles that see personal data


def registration_query(scope: Scope, filters: RegistrationFilter) -> Select[tuple[Registration]]:
    """The registrations matching `filters` inside `scope`, newest first (by id)."""
    stmt = select(Registration)
    if scope.ward_ids is not None:
        if not scope.ward_ids:
            return stmt.where(false())
        stmt = stmt.where(Registration.ward_id.in_(sorted(scope.ward_ids)))
    if filters.programme_id is not None:
        stmt = stmt.where(Registration.programme_id == filters.programme_id)
    if filters.ward_id is not None:
        stmt = stmt.where(Registration.ward_id == filters.ward_id)
    if filters.verifier is not None or filters.status is not None:
        check = select(RegistrationVerification.id).where(
            RegistrationVerification.registration_id == Registration.id
        )
        if filters.verifier is not None:
            check = check.where(RegistrationVerification.verifier == filters.verifier)
        if filters.status is not None:
            check = check.where(RegistrationVerification.status == filters.status)
        stmt = stmt.where(exists(check))
    if filters.duplicate_phone:
        stmt = stmt.where(Registration.duplicate_phone.is_(True))
    if filters.duplicate_household:
        stmt = stmt.where(Registration.duplicate_household.is_(True))
    if filters.text:
        needle = filters.text.strip()
        digits = "".join(ch for ch in needle if ch.isdigit())
        by_code = select(Case.id).where(
            Case.id == Registration.case_id,
            or_(Case.code == needle.upper(), *([Case.code.like(f"%{digits}%")] if digits else [])),
        )
        pattern = f"%{_escape_like(needle.lower())}%"
        stmt = stmt.where(
            or_(func.lower(Registration.full_name).like(pattern, escape="\\"), exists(by_code))
        )
    if filters.cccd:
        digits = "".join(ch for ch in filters.cccd if ch.isdigit())
        member = select(HouseholdMember.id).where(
            HouseholdMember.registration_id == Registration.id, HouseholdMember.cccd == digits
        )
        stmt = stmt.where(or_(Registration.cccd == digits, exists(member)))
    return stmt.order_by(Registration.id.desc())


def _escape_like(text: str) -> str:
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


def registration_page(
    session: Session,
    scope: Scope,
    filters: RegistrationFilter,
    *,
    before_id: int | None = None,
    size: int = 50,
) -> tuple[list[Registration], int | None]:
    """One keyset page (ids below `before_id`) and the id to continue from, or None at the end."""
    stmt = registration_query(scope, filters)
    if before_id is not None:
        stmt = stmt.where(Registration.id < before_id)
    stmt = stmt.options(
        selectinload(Registration.verifications), selectinload(Registration.ward)
    ).limit(size + 1)
    rows = list(session.scalars(stmt))
    more = len(rows) > size
    rows = rows[:size]
    return rows, (rows[-1].id if more and rows else None)


def get_registration(session: Session, scope: Scope, registration_id: int) -> Registration:
    registration = session.get(Registration, registration_id)
    if registration is None or not scope.covers_ward(registration.ward_id):
        raise NotFound("Không tìm thấy hồ sơ đăng ký.")
    return registration


@dataclass(frozen=True)
class ExportRow:
    registration: Registration
    case_code: str | None
    programme_code: str
    ward_name: str | None
    verification: RegistrationVerification | None


def export_batch(
    session: Session,
    scope: Scope,
    verifier: Verifier,
    *,
    ward_id: int | None = None,
    programme_id: int | None = None,
    after_id: int = 0,
    size: int = 1000,
) -> list[ExportRow]:
    """Up to `size` registrations of `verifier`'s list in scope with ids above `after_id`, by id.

    Exports read batch after batch, each in a short transaction of its own, so a long export
    never holds the database (SQLite's write lock, a PostgreSQL snapshot) for its whole run."""
    if verifier not in scope.export_verifiers:
        raise NotAllowed("Bạn không được xuất danh sách của bên xác minh này.")
    filters = RegistrationFilter(programme_id=programme_id, ward_id=ward_id)
    ids = (
        registration_query(scope, filters)
        .where(Registration.id > after_id)
        .order_by(None)
        .order_by(Registration.id)
        .limit(size)
        .with_only_columns(Registration.id)
        .subquery()
    )
    stmt = (
        select(Registration, Case.code, Programme.code, Ward.name, RegistrationVerification)
        .join(ids, ids.c.id == Registration.id)
        .join(Programme, Programme.id == Registration.programme_id)
        .outerjoin(Case, Case.id == Registration.case_id)
        .outerjoin(Ward, Ward.id == Registration.ward_id)
        .outerjoin(
            RegistrationVerification,
            (RegistrationVerification.registration_id == Registration.id)
            & (RegistrationVerification.verifier == verifier),
        )
        .options(selectinload(Registration.members))
        .order_by(Registration.id)
    )
    return [
        ExportRow(registration, code, programme_code, ward_name, verification)
        for registration, code, programme_code, ward_name, verification in session.execute(stmt)
    ]


def decide(
    session: Session,
    registration: Registration,
    verifier: Verifier,
    status: VerificationStatus,
    note: str | None,
    *,
    scope: Scope,
    user: User,
    now: datetime,
) -> RegistrationVerification:
    """Record `verifier`'s decision on `registration`, with an internal timeline event.

    Rejecting or asking for more information needs a note (the resident is told why)."""
    if not scope.may_decide(registration, verifier):
        raise NotAllowed("Bạn không được quyết định thay bên xác minh này.")
    note = (note or "").strip() or None
    if status not in DECISIONS:
        raise InvalidInput({"status": "Vui lòng chọn một quyết định."})
    if status != VerificationStatus.APPROVED and note is None:
        raise InvalidInput({"note": "Vui lòng ghi lý do khi từ chối hoặc yêu cầu bổ sung."})
    verification = next((v for v in registration.verifications if v.verifier == verifier), None)
    if verification is None:
        verification = RegistrationVerification(verifier=verifier)
        registration.verifications.append(verification)
    previous = verification.status
    verification.status = status
    verification.note = note
    verification.decided_by_user_id = user.id
    verification.decided_at = now
    if registration.case_id is not None:
        session.add(
            CaseEvent(
                case_id=registration.case_id,
                at=now,
                actor_user_id=user.id,
                actor=user.username,
                action="verification",
                data={
                    "verifier": verifier.value,
                    "from": previous.value if previous else None,
                    "to": status.value,
                },
                public=False,
            )
        )
    session.flush()
    return verification
