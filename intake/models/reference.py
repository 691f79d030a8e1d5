"""Reference data admins maintain: agencies, complaint categories, wards, routing rules."""

from __future__ import annotations

import enum

from sqlalchemy import Boolean, ForeignKey, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from intake.models.base import Base, str_enum


class AgencyKind(enum.StrEnum):
    WARD_COMMITTEE = "ward_committee"
    ENVIRONMENT = "environment"
    POLICE = "police"
    POWER = "power"
    WATER = "water"
    LABOUR = "labour"
    FRONT = "front"
    HEALTH = "health"
    EDUCATION = "education"
    TRANSPORT = "transport"
    CONSTRUCTION = "construction"
    OPERATIONS = "operations"
    OTHER = "other"


class Agency(Base):
    __tablename__ = "agencies"

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(40), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    kind: Mapped[AgencyKind] = mapped_column(str_enum(AgencyKind, "agency_kind"))
    phone: Mapped[str | None] = mapped_column(String(20))
    email: Mapped[str | None] = mapped_column(String(200))
    active: Mapped[bool] = mapped_column(Boolean, default=True)


class Ward(Base):
    __tablename__ = "wards"

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(40), unique=True)
    name: Mapped[str] = mapped_column(String(120))
    name_folded: Mapped[str] = mapped_column(String(120), index=True)
    district: Mapped[str] = mapped_column(String(120))
    agency_id: Mapped[int | None] = mapped_column(ForeignKey("agencies.id"))

    agency: Mapped[Agency | None] = relationship()


class Category(Base):
    __tablename__ = "categories"

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(40), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    description: Mapped[str | None] = mapped_column(Text)
    default_agency_id: Mapped[int | None] = mapped_column(ForeignKey("agencies.id"))
    routes_to_ward: Mapped[bool] = mapped_column(Boolean, default=False)
    ack_hours: Mapped[int] = mapped_column(Integer, default=1)
    resolve_hours: Mapped[int] = mapped_column(Integer, default=7 * 24)
    active: Mapped[bool] = mapped_column(Boolean, default=True)

    default_agency: Mapped[Agency | None] = relationship()


class RoutingRule(Base):
    """An explicit override: this category in this ward goes to this agency."""

    __tablename__ = "routing_rules"
    __table_args__ = (UniqueConstraint("category_id", "ward_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    category_id: Mapped[int] = mapped_column(ForeignKey("categories.id", ondelete="CASCADE"))
    ward_id: Mapped[int] = mapped_column(ForeignKey("wards.id", ondelete="CASCADE"))
    agency_id: Mapped[int] = mapped_column(ForeignKey("agencies.id"))
