from __future__ import annotations

from datetime import date

import pytest
from sqlalchemy import func, select

from intake.models import Case, CaseKind, Channel, OutboxMessage, Registration, Verifier
from intake.services.cases import CITIZEN
from intake.services.errors import DuplicateRegistration, InvalidInput, NotFound
from intake.services.registrations import MemberInput, RegistrationInput, register

# 046 = Thừa Thiên Huế, 0 = male born 1900s, 85 = born 1985.
CCCD_1985_MALE = "046085001234"
CCCD_1990_FEMALE = "046190004321"


def reg(**overrides):
    values = dict(
        programme_code="covid-2021",
        full_name="Nguyễn Văn An",
        cccd=CCCD_1985_MALE,
        date_of_birth=date(1985, 3, 4),
        phone="0905 123 456",
        address="12 kiệt 5 Chi Lăng",
        ward="Phu Hau",
        channel=Channel.ZALO,
    )
    values.update(overrides)
    return RegistrationInput(**values)


def test_registration_opens_a_case_and_waits_for_three_verifiers(seeded, now):
    result = register(seeded, reg(), now=now, actor=CITIZEN)
    r = result.registration
    assert result.case.kind == CaseKind.REGISTRATION
    assert result.case.code.startswith("HUE-261126-")
    assert r.phone_e164 == "+84905123456" and r.sex == "male"
    assert r.ward.name == "Phú Hậu"
    assert {v.verifier for v in r.verifications} == set(Verifier)
    assert {v.status.value for v in r.verifications} == {"pending"}
    sms = seeded.scalars(select(OutboxMessage)).one()
    assert sms.recipient == "+84905123456" and result.case.code in sms.body


def test_second_registration_with_same_cccd_refused_with_clear_message(seeded, now):
    first = register(seeded, reg(), now=now, actor=CITIZEN)
    cases_before = seeded.scalar(select(func.count()).select_from(Case))
    with pytest.raises(DuplicateRegistration) as err:
        register(seeded, reg(full_name="Nguyễn V. An", phone="0912000111"), now=now, actor=CITIZEN)
    assert err.value.existing_case_code == first.case.code
    assert "đã được đăng ký" in err.value.message_vi and first.case.code in err.value.message_vi
    assert seeded.scalar(select(func.count()).select_from(Registration)) == 1
    assert seeded.scalar(select(func.count()).select_from(Case)) == cases_before


def test_same_phone_or_household_member_is_flagged_not_refused(seeded, now):
    register(
        seeded,
        reg(members=[MemberInput("Trần Thị Bình", "vợ", CCCD_1990_FEMALE)]),
        now=now,
        actor=CITIZEN,
    )
    same_phone = register(
        seeded,
        reg(full_name="Nguyễn Văn Bảo", cccd="046095007777", date_of_birth=date(1995, 1, 1)),
        now=now,
        actor=CITIZEN,
    )
    assert same_phone.registration.duplicate_phone and same_phone.flagged
    spouse = register(
        seeded,
        reg(
            full_name="Trần Thị Bình",
            cccd=CCCD_1990_FEMALE,
            date_of_birth=date(1990, 6, 1),
            phone="0379000111",
        ),
        now=now,
        actor=CITIZEN,
    )
    assert spouse.registration.duplicate_household and not spouse.registration.duplicate_phone


def test_cccd_checked_against_birth_year_all_errors_at_once(seeded, now):
    with pytest.raises(InvalidInput) as err:
        register(
            seeded,
            reg(date_of_birth=date(1986, 3, 4), phone="0123", address=" "),
            now=now,
            actor=CITIZEN,
        )
    assert set(err.value.errors) == {"cccd", "phone", "address"}
    assert "1985" in err.value.errors["cccd"] and "1986" in err.value.errors["cccd"]
    assert seeded.scalar(select(func.count()).select_from(Registration)) == 0


@pytest.mark.parametrize("bad", ["04608500123", "999085001234", "04608500123x"])
def test_malformed_cccd_refused(seeded, now, bad):
    with pytest.raises(InvalidInput) as err:
        register(seeded, reg(cccd=bad), now=now, actor=CITIZEN)
    assert err.value.errors["cccd"]


def test_unknown_or_closed_programme(seeded, now):
    from intake.models import Programme

    with pytest.raises(NotFound):
        register(seeded, reg(programme_code="nope"), now=now, actor=CITIZEN)
    programme = seeded.scalars(select(Programme)).one()
    programme.closes_on = date(2021, 12, 31)
    with pytest.raises(InvalidInput) as err:
        register(seeded, reg(), now=now, actor=CITIZEN)
    assert "không nhận đăng ký" in err.value.errors["programme"]
