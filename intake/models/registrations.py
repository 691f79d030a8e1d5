"""Support programmes (the 1,000,000 VND per person package is the model) and registrations."""

from __future__ import annotations

import enum
from datetime import date, datetime
from typing import Any

from sqlalchemy import Boolean, Date, ForeignKey, Index, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from intake.models.base import Base, JSONType, UTCDateTime, str_enum, utcnow
from intake.models.reference import Ward


class Verifier(enum.StrEnum):
    FRONT = "front"  # the ward's Fatherland Front committee
    LABOUR = "labour"  # the Labour, Invalids and Social Affairs department
    WARD = "ward"  # the ward People's Committee


class VerificationStatus(enum.StrEnum):
    PENDING = "pending"
    APPROVED = "approved"
    REJECTED = "rejected"
    NEEDS_INFO = "needs_info"


class Programme(Base):
    __tablename__ = "programmes"

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(40), unique=True)
    name: Mapped[str] = mapped_column(String(300))
    description: Mapped[str | None] = mapped_column(Text)
    amount_vnd: Mapped[int | None] = mapped_column(Integer)
    opens_on: Mapped[date | None] = mapped_column(Date)
    closes_on: Mapped[date | None] = mapped_column(Date)
    active: Mapped[bool] = mapped_column(Boolean, default=True)


class Registration(Base):
    __tablename__ = "registrations"
    # One registration per CCCD per programme, enforced by the database itself.
    __table_args__ = (
        UniqueConstraint("programme_id", "cccd"),
        Index("ix_registrations_programme_phone", "programme_id", "phone_e164"),
        # CCCD search, the household duplicate check and the ward filters of the console.
        Index("ix_registrations_cccd", "cccd"),
        Index("ix_registrations_ward", "ward_id", "id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    programme_id: Mapped[int] = mapped_column(ForeignKey("programmes.id"))
    case_id: Mapped[int | None] = mapped_column(ForeignKey("cases.id"), unique=True)
    full_name: Mapped[str] = mapped_column(String(200))
    cccd: Mapped[str] = mapped_column(String(12))
    date_of_birth: Mapped[date] = mapped_column(Date)
    sex: Mapped[str | None] = mapped_column(String(10))
    phone_e164: Mapped[str] = mapped_column(String(16))
    address: Mapped[str] = mapped_column(Text)
    ward_id: Mapped[int | None] = mapped_column(ForeignKey("wards.id"))
    reason: Mapped[str | None] = mapped_column(Text)
    answers: Mapped[dict[str, Any]] = mapped_column(JSONType, default=dict)
    # Set when another registration of the programme uses the same phone number.
    duplicate_phone: Mapped[bool] = mapped_column(Boolean, default=False)
    # Set when a household member's CCCD appears in another registration of the programme.
    duplicate_household: Mapped[bool] = mapped_column(Boolean, default=False)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    ward: Mapped[Ward | None] = relationship()
    members: Mapped[list[HouseholdMember]] = relationship(
        back_populates="registration", cascade="all, delete-orphan", order_by="HouseholdMember.id"
    )
    verifications: Mapped[list[RegistrationVerification]] = relationship(
        back_populates="registration",
        cascade="all, delete-orphan",
        order_by="RegistrationVerification.id",
    )


class HouseholdMember(Base):
    __tablename__ = "household_members"

    id: Mapped[int] = mapped_column(primary_key=True)
    registration_id: Mapped[int] = mapped_column(
        ForeignKey("registrations.id", ondelete="CASCADE"), index=True
    )
    full_name: Mapped[str] = mapped_column(String(200))
    relation: Mapped[str | None] = mapped_column(String(60))
    cccd: Mapped[str | None] = mapped_column(String(12), index=True)
    date_of_birth: Mapped[date | None] = mapped_column(Date)

    registration: Mapped[Registration] = relationship(back_populates="members")


class RegistrationVerification(Base):
    __tablename__ = "registration_verifications"
    __table_args__ = (UniqueConstraint("registration_id", "verifier"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    registration_id: Mapped[int] = mapped_column(ForeignKey("registrations.id", ondelete="CASCADE"))
    verifier: Mapped[Verifier] = mapped_column(str_enum(Verifier, "verifier"))
    status: Mapped[VerificationStatus] = mapped_column(
        str_enum(VerificationStatus, "verification_status"), default=VerificationStatus.PENDING
    )
    note: Mapped[str | None] = mapped_column(Text)
    decided_by_user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    decided_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    registration: Mapped[Registration] = relationship(back_populates="verifications")
