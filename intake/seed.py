"""Demo and reference data: Huế's wards, the agencies cases go to, the complaint categories,
a support programme, and an admin account. Running it twice adds nothing the second time."""

from __future__ import annotations

import secrets
from dataclasses import dataclass, field
from datetime import date, datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from intake.models import Agency, AgencyKind, Category, Programme, Role, User, Ward
from intake.services.users import create_user
from intake.validation import fold_accents

# Huế city's wards (phường) and the communes (xã) folded into the city in 2021.
HUE_WARDS: tuple[str, ...] = (
    "An Cựu",
    "An Đông",
    "An Hòa",
    "An Tây",
    "Đông Ba",
    "Gia Hội",
    "Hương An",
    "Hương Long",
    "Hương Sơ",
    "Hương Vinh",
    "Kim Long",
    "Phú Hậu",
    "Phú Hội",
    "Phú Nhuận",
    "Phú Thượng",
    "Phước Vĩnh",
    "Phường Đúc",
    "Tây Lộc",
    "Thuận An",
    "Thuận Hòa",
    "Thuận Lộc",
    "Thủy Biều",
    "Thủy Vân",
    "Thủy Xuân",
    "Trường An",
    "Vĩnh Ninh",
    "Vỹ Dạ",
    "Xuân Phú",
    "Hương Phong",
    "Hương Thọ",
    "Phú Dương",
    "Phú Mậu",
    "Phú Thanh",
    "Hải Dương",
)
HUE_COMMUNES = frozenset(
    {"Hương Phong", "Hương Thọ", "Phú Dương", "Phú Mậu", "Phú Thanh", "Hải Dương"}
)

# (code, name, kind)
AGENCIES: tuple[tuple[str, str, AgencyKind], ...] = (
    ("ioc", "Trung tâm Giám sát, điều hành đô thị thông minh (IOC)", AgencyKind.OPERATIONS),
    ("hepco", "Công ty CP Môi trường và Công trình đô thị Huế", AgencyKind.ENVIRONMENT),
    ("police", "Công an thành phố Huế", AgencyKind.POLICE),
    ("traffic-police", "Phòng Cảnh sát giao thông", AgencyKind.POLICE),
    ("pc-hue", "Công ty Điện lực Thừa Thiên Huế", AgencyKind.POWER),
    ("huewaco", "Công ty CP Cấp nước Thừa Thiên Huế", AgencyKind.WATER),
    ("doc", "Sở Giao thông vận tải / Xây dựng", AgencyKind.CONSTRUCTION),
    ("doh", "Sở Y tế", AgencyKind.HEALTH),
    ("doet", "Sở Giáo dục và Đào tạo", AgencyKind.EDUCATION),
    ("molisa", "Sở Lao động - Thương binh và Xã hội", AgencyKind.LABOUR),
    ("front", "Ủy ban Mặt trận Tổ quốc Việt Nam thành phố Huế", AgencyKind.FRONT),
    ("city-pc", "Văn phòng UBND thành phố Huế", AgencyKind.OTHER),
)

# (code, Vietnamese name, default agency, handled by the ward's People's Committee?)
CATEGORIES: tuple[tuple[str, str, str, bool], ...] = (
    ("environment", "Môi trường, rác thải, vệ sinh", "hepco", False),
    ("traffic_parking", "Giao thông, đỗ xe sai quy định", "traffic-police", False),
    ("roads_infrastructure", "Hạ tầng: đường sá, cống, chiếu sáng, cây xanh", "doc", False),
    ("urban_order", "Trật tự đô thị, lấn chiếm vỉa hè", "city-pc", True),
    ("noise", "Tiếng ồn, karaoke", "police", True),
    ("utilities", "Điện, nước sinh hoạt", "pc-hue", False),
    ("health", "Y tế, an toàn thực phẩm", "doh", False),
    ("education", "Giáo dục, trường học", "doet", False),
    ("public_admin", "Thủ tục hành chính, thái độ cán bộ", "city-pc", False),
    ("security_order", "An ninh, trật tự", "police", False),
    ("public_property_misuse", "Sử dụng sai tài sản, đất công", "city-pc", True),
    ("other", "Lĩnh vực khác", "ioc", False),
)

DEMO_PROGRAMME = {
    "code": "covid-2021",
    "name": "Hỗ trợ người lao động gặp khó khăn do COVID-19 (1.000.000 đồng/người)",
    "description": "Theo Nghị quyết 68/NQ-CP và Quyết định 23/2021/QĐ-TTg.",
    "amount_vnd": 1_000_000,
}


@dataclass
class SeedReport:
    created: dict[str, int] = field(default_factory=dict)
    admin_username: str | None = None
    admin_password: str | None = None  # only when the admin was created now; shown once


def ward_code(name: str) -> str:
    return fold_accents(name).replace(" ", "-")


def seed_reference(session: Session, now: datetime) -> SeedReport:
    """Agencies, wards and categories: what every deployment in Huế starts from."""
    report = SeedReport()
    agencies = {a.code: a for a in session.scalars(select(Agency))}
    for code, name, kind in AGENCIES:
        if code not in agencies:
            agencies[code] = Agency(code=code, name=name, kind=kind, active=True)
            session.add(agencies[code])
            _count(report, "agencies")
    wards = {w.code: w for w in session.scalars(select(Ward))}
    for name in HUE_WARDS:
        code = ward_code(name)
        if code in wards:
            continue
        unit = "Xã" if name in HUE_COMMUNES else "Phường"
        committee = Agency(
            code=f"ubnd-{code}",
            name=f"UBND {unit.lower()} {name}",
            kind=AgencyKind.WARD_COMMITTEE,
            active=True,
        )
        session.add(committee)
        session.add(
            Ward(
                code=code,
                name=name,
                name_folded=fold_accents(name),
                district="Thành phố Huế",
                agency=committee,
            )
        )
        _count(report, "wards")
    existing = set(session.scalars(select(Category.code)))
    for code, name, agency_code, to_ward in CATEGORIES:
        if code not in existing:
            session.add(
                Category(
                    code=code,
                    name=name,
                    default_agency=agencies[agency_code],
                    routes_to_ward=to_ward,
                    ack_hours=1,
                    resolve_hours=7 * 24,
                    active=True,
                )
            )
            _count(report, "categories")
    session.flush()
    return report


def seed_demo(session: Session, now: datetime) -> SeedReport:
    """Reference data plus a demo support programme and an admin whose password is printed once."""
    report = seed_reference(session, now)
    if session.scalar(select(Programme).where(Programme.code == DEMO_PROGRAMME["code"])) is None:
        session.add(
            Programme(**DEMO_PROGRAMME, opens_on=date(2021, 1, 1), closes_on=None, active=True)
        )
        _count(report, "programmes")
    if session.scalar(select(User.id).where(User.role == Role.ADMIN).limit(1)) is None:
        password = secrets.token_urlsafe(12)
        create_user(
            session,
            username="admin",
            full_name="Quản trị hệ thống",
            role=Role.ADMIN,
            password=password,
            now=now,
        )
        report.admin_username, report.admin_password = "admin", password
        _count(report, "users")
    session.flush()
    return report


def _count(report: SeedReport, what: str) -> None:
    report.created[what] = report.created.get(what, 0) + 1
