"""The intake rules on the real PostgreSQL server."""

from __future__ import annotations

import threading
import time
from concurrent.futures import ThreadPoolExecutor
from datetime import date, timedelta

import pytest
from sqlalchemy import func, select

from intake.db import make_session_factory, unit_of_work
from intake.models import Case, CaseEvent, CaseStatus, Channel, Contact, Registration
from intake.seed import seed_demo
from intake.services import cases as svc
from intake.services.cases import CITIZEN, Actor, NewCase
from intake.services.errors import DuplicateRegistration, InvalidTransition
from intake.services.registrations import RegistrationInput, register
from intake.services.sla import sweep_overdue

pytestmark = pytest.mark.integration
AGENT = Actor("lan")


def test_200_cases_from_8_threads_get_200_unique_codes(clean_db, now):
    factory = make_session_factory(clean_db)
    with unit_of_work(factory) as s:
        seed_demo(s, now)

    def open_many(worker: int) -> list[str]:
        codes = []
        for i in range(25):
            with unit_of_work(factory) as s:
                case = svc.open_case(
                    s,
                    NewCase(
                        channel=Channel.SMS,
                        description=f"Ổ gà số {worker}-{i}",
                        category_code="roads_infrastructure",
                        ward_code="an-cuu",
                    ),
                    now=now,
                    actor=CITIZEN,
                )
                codes.append(case.code)
        return codes

    with ThreadPoolExecutor(max_workers=8) as pool:
        codes = [c for chunk in pool.map(open_many, range(8)) for c in chunk]

    assert len(codes) == 200 and len(set(codes)) == 200
    with unit_of_work(factory) as s:
        stored = list(s.scalars(select(Case.code)))
        assert len(stored) == 200 and set(stored) == set(codes)
        # Every case has its timeline: nothing half-written.
        assert s.scalar(select(func.count(func.distinct(CaseEvent.case_id)))) == 200
    assert all(code.startswith("HUE-261126-") for code in codes)


def test_sla_sweep_marks_overdue_after_deadline(make_case, session, now):
    case = make_case()
    assert sweep_overdue(session, now + timedelta(minutes=59)).total == 0
    result = sweep_overdue(session, now + timedelta(hours=1, minutes=1))
    assert result.ack_overdue == [case.code]
    session.expire_all()
    stored = session.scalars(select(Case).where(Case.code == case.code)).one()
    assert stored.ack_overdue_at == now + timedelta(hours=1, minutes=1)
    assert sweep_overdue(session, now + timedelta(days=8)).resolve_overdue == [case.code]


def test_invalid_transition_refused_and_case_unchanged(clean_db, now):
    factory = make_session_factory(clean_db)
    with unit_of_work(factory) as s:
        seed_demo(s, now)
        code = svc.open_case(
            s, NewCase(channel=Channel.WEB, description="Mất điện"), now=now, actor=CITIZEN
        ).code
    with pytest.raises(InvalidTransition), unit_of_work(factory) as s:
        case = svc.get_case(s, code)
        svc.change_status(s, case, CaseStatus.CLOSED, now=now, actor=AGENT)
    with unit_of_work(factory) as s:
        case = svc.get_case(s, code)
        assert case.status == CaseStatus.NEW and case.closed_at is None
        assert [e.action for e in case.events] == ["created"]  # no category: not routed yet


def _hoa(phone: str) -> RegistrationInput:
    """Lê Thị Hoa's registration from this phone (always the same CCCD)."""
    return RegistrationInput(
        programme_code="covid-2021",
        full_name="Lê Thị Hoa",
        cccd="046185001122",
        date_of_birth=date(1985, 5, 5),
        phone=phone,
        address="3 kiệt 7 Đào Duy Anh",
        ward="Phú Hậu",
        channel=Channel.SMS,
    )


def test_second_registration_with_same_cccd_refused(clean_db, now):
    factory = make_session_factory(clean_db)
    with unit_of_work(factory) as s:
        seed_demo(s, now)

    def attempt(phone: str):
        with unit_of_work(factory) as s:
            return register(s, _hoa(phone), now=now, actor=CITIZEN).case.code

    first = attempt("0905111222")
    with pytest.raises(DuplicateRegistration) as err:
        attempt("0934555666")
    assert first in err.value.message_vi and "đã được đăng ký" in err.value.message_vi
    with unit_of_work(factory) as s:
        assert s.scalar(select(func.count()).select_from(Registration)) == 1
        assert s.scalar(select(func.count()).select_from(Case)) == 1


def test_concurrent_same_cccd_only_one_wins(clean_db, now):
    """Two registrations racing past the first check are settled by the unique constraint."""
    factory = make_session_factory(clean_db)
    with unit_of_work(factory) as s:
        seed_demo(s, now)

    def attempt(i: int) -> str:
        data = RegistrationInput(
            programme_code="covid-2021",
            full_name="Lê Thị Hoa",
            cccd="046185001122",
            date_of_birth=date(1985, 5, 5),
            phone=f"09051112{i:02d}",
            address="3 Đào Duy Anh",
            channel=Channel.SMS,
        )
        try:
            with unit_of_work(factory) as s:
                register(s, data, now=now, actor=CITIZEN)
            return "ok"
        except DuplicateRegistration:
            return "duplicate"

    with ThreadPoolExecutor(max_workers=8) as pool:
        outcomes = list(pool.map(attempt, range(16)))
    assert outcomes.count("ok") == 1 and outcomes.count("duplicate") == 15
    with unit_of_work(factory) as s:
        assert s.scalar(select(func.count()).select_from(Registration)) == 1
        assert s.scalar(select(func.count()).select_from(Case)) == 1


def test_a_lost_race_leaves_no_case_and_the_loser_carries_on(clean_db, now):
    """The bot registers inside the resident's message transaction and, when refused, still
    commits the conversation: a registration that loses the race on the unique CCCD must take
    its case with it, so the transaction commits with no orphan case."""
    factory = make_session_factory(clean_db)
    with unit_of_work(factory) as s:
        seed_demo(s, now)

    winner_written = threading.Event()
    outcome: list[str] = []

    def loser() -> None:
        winner_written.wait(10)
        with unit_of_work(factory) as s:
            try:  # passes the first check (the winner has not committed) and waits on the index
                register(s, _hoa("0905111299"), now=now, actor=CITIZEN)
                outcome.append("registered")
            except DuplicateRegistration as exc:
                outcome.append(exc.message_vi)
            s.add(Contact(phone_e164="+84905111299", created_at=now))  # the rest of its work

    thread = threading.Thread(target=loser)
    thread.start()
    with unit_of_work(factory) as s:
        code = register(s, _hoa("0905111222"), now=now, actor=CITIZEN).case.code
        winner_written.set()
        time.sleep(1.0)  # the loser reaches the unique index and waits for this commit
    thread.join(20)
    assert len(outcome) == 1 and code in outcome[0] and "đã được đăng ký" in outcome[0]
    with unit_of_work(factory) as s:
        assert s.scalar(select(func.count()).select_from(Registration)) == 1
        assert list(s.scalars(select(Case.code))) == [code], "the loser's case was undone"
        assert s.scalar(select(Contact).where(Contact.phone_e164 == "+84905111299")) is not None
