"""Admins maintain the reference data: complaint categories (with their SLA hours), agencies
and wards. Services flush, never commit; errors carry Vietnamese messages per field."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import Select, func, or_, select
from sqlalchemy.orm import Session

from intake.models import Agency, AgencyKind, Case, Category, RoutingRule, User, Ward
from intake.services.errors import DomainError, InvalidInput, NotFound
from intake.validation import fold_accents

ERR_CODE_TAKEN = "Mã “{code}” đã được dùng."
ERR_IN_USE = "Không thể xóa “{name}” vì đang được dùng ({uses}). Hãy ngừng sử dụng thay vì xóa."


@dataclass(frozen=True)
class CategoryData:
    code: str
    name: str
    description: str | None
    default_agency_id: int | None
    routes_to_ward: bool
    ack_hours: int
    resolve_hours: int
    active: bool


@dataclass(frozen=True)
class AgencyData:
    code: str
    name: str
    kind: AgencyKind
    phone: str | None
    email: str | None
    active: bool


@dataclass(frozen=True)
class WardData:
    code: str
    name: str
    district: str
    agency_id: int | None


def _code_taken(
    session: Session, model: type[Category | Agency | Ward], code: str, own: int | None
) -> bool:
    found = session.scalar(select(model.id).where(model.code == code))
    return found is not None and found != own


def _agency_ok(session: Session, agency_id: int | None, errors: dict[str, str], field: str) -> None:
    if agency_id is not None and session.get(Agency, agency_id) is None:
        errors[field] = "Đơn vị đã chọn không tồn tại."


def save_category(session: Session, data: CategoryData, category_id: int | None = None) -> Category:
    """Create (no id) or update a complaint category."""
    category = Category() if category_id is None else session.get(Category, category_id)
    if category is None:
        raise NotFound("Không tìm thấy lĩnh vực này.")
    errors: dict[str, str] = {}
    if _code_taken(session, Category, data.code, category_id):
        errors["code"] = ERR_CODE_TAKEN.format(code=data.code)
    if data.ack_hours > data.resolve_hours:
        errors["ack_hours"] = "Hạn tiếp nhận không được dài hơn hạn giải quyết."
    _agency_ok(session, data.default_agency_id, errors, "default_agency_id")
    if errors:
        raise InvalidInput(errors)
    for name, value in vars(data).items():
        setattr(category, name, value)
    session.add(category)
    session.flush()
    return category


def save_agency(session: Session, data: AgencyData, agency_id: int | None = None) -> Agency:
    agency = Agency() if agency_id is None else session.get(Agency, agency_id)
    if agency is None:
        raise NotFound("Không tìm thấy đơn vị này.")
    if _code_taken(session, Agency, data.code, agency_id):
        raise InvalidInput({"code": ERR_CODE_TAKEN.format(code=data.code)})
    for name, value in vars(data).items():
        setattr(agency, name, value)
    session.add(agency)
    session.flush()
    return agency


def save_ward(session: Session, data: WardData, ward_id: int | None = None) -> Ward:
    ward = Ward() if ward_id is None else session.get(Ward, ward_id)
    if ward is None:
        raise NotFound("Không tìm thấy phường/xã này.")
    errors: dict[str, str] = {}
    if _code_taken(session, Ward, data.code, ward_id):
        errors["code"] = ERR_CODE_TAKEN.format(code=data.code)
    _agency_ok(session, data.agency_id, errors, "agency_id")
    if errors:
        raise InvalidInput(errors)
    for name, value in vars(data).items():
        setattr(ward, name, value)
    ward.name_folded = fold_accents(data.name)
    session.add(ward)
    session.flush()
    return ward


def _refuse_if_used(name: str, uses: dict[str, int]) -> None:
    used = {what: n for what, n in uses.items() if n}
    if used:
        text = ", ".join(f"{n} {what}" for what, n in used.items())
        raise DomainError(ERR_IN_USE.format(name=name, uses=text))


def delete_category(session: Session, category_id: int) -> str:
    category = session.get(Category, category_id)
    if category is None:
        raise NotFound("Không tìm thấy lĩnh vực này.")
    cases = session.scalar(select(func.count(Case.id)).where(Case.category_id == category_id))
    _refuse_if_used(category.name, {"phản ánh": cases or 0})
    session.delete(category)
    session.flush()
    return category.name


def delete_agency(session: Session, agency_id: int) -> str:
    agency = session.get(Agency, agency_id)
    if agency is None:
        raise NotFound("Không tìm thấy đơn vị này.")

    def count(query: Select[tuple[int]]) -> int:
        return session.scalar(query) or 0

    uses = {
        "phản ánh": count(select(func.count(Case.id)).where(Case.agency_id == agency_id)),
        "người dùng": count(select(func.count(User.id)).where(User.agency_id == agency_id)),
        "phường/xã": count(select(func.count(Ward.id)).where(Ward.agency_id == agency_id)),
        "lĩnh vực": count(
            select(func.count(Category.id)).where(Category.default_agency_id == agency_id)
        ),
        "quy tắc phân công": count(
            select(func.count(RoutingRule.id)).where(RoutingRule.agency_id == agency_id)
        ),
    }
    _refuse_if_used(agency.name, uses)
    session.delete(agency)
    session.flush()
    return agency.name


def delete_ward(session: Session, ward_id: int) -> str:
    ward = session.get(Ward, ward_id)
    if ward is None:
        raise NotFound("Không tìm thấy phường/xã này.")
    cases = session.scalar(select(func.count(Case.id)).where(Case.ward_id == ward_id)) or 0
    rules = session.scalar(
        select(func.count(RoutingRule.id)).where(or_(RoutingRule.ward_id == ward_id))
    )
    _refuse_if_used(ward.name, {"phản ánh": cases, "quy tắc phân công": rules or 0})
    session.delete(ward)
    session.flush()
    return ward.name
