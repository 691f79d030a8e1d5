from __future__ import annotations

from datetime import timedelta

from intake.models import CaseStatus
from intake.services import cases as svc
from intake.services.cases import Actor
from intake.services.sla import Outcome, outcome, sweep_overdue

AGENT = Actor("lan")


def test_nothing_overdue_before_the_deadline(make_case, seeded, now):
    make_case()
    assert sweep_overdue(seeded, now + timedelta(minutes=59)).total == 0


def test_unacknowledged_case_overdue_after_one_hour_once(make_case, seeded, now):
    case = make_case()
    result = sweep_overdue(seeded, now + timedelta(hours=1, seconds=1))
    assert result.ack_overdue == [case.code] and result.resolve_overdue == []
    assert case.is_overdue and case.ack_overdue_at == now + timedelta(hours=1, seconds=1)
    assert case.events[-1].action == "overdue" and not case.events[-1].public
    # A second sweep (or a second beat) marks nothing again.
    assert sweep_overdue(seeded, now + timedelta(hours=2)).total == 0


def test_acknowledged_case_is_not_ack_overdue(make_case, seeded, now):
    case = make_case()
    svc.acknowledge(seeded, case, now=now + timedelta(minutes=30), actor=AGENT)
    assert sweep_overdue(seeded, now + timedelta(hours=3)).total == 0


def test_resolution_overdue_after_seven_days_escalates_priority(make_case, seeded, now):
    case = make_case()
    svc.acknowledge(seeded, case, now=now, actor=AGENT)
    result = sweep_overdue(seeded, now + timedelta(days=7, minutes=1))
    assert result.resolve_overdue == [case.code]
    assert case.priority == 2  # normal -> high


def test_finished_cases_are_never_overdue(make_case, seeded, now):
    case = make_case()
    svc.reject(seeded, case, "Không thuộc thẩm quyền", now=now, actor=AGENT)
    assert case.status == CaseStatus.REJECTED
    assert sweep_overdue(seeded, now + timedelta(days=30)).total == 0


def test_outcomes_for_dashboards(make_case, seeded, now):
    on_time, late, extended = make_case(), make_case(), make_case()
    for case in (on_time, late, extended):
        svc.acknowledge(seeded, case, now=now, actor=AGENT)
    svc.extend(seeded, extended, now + timedelta(days=9), "Chờ vật tư", now=now, actor=AGENT)
    svc.resolve(seeded, on_time, "Xong.", now=now + timedelta(days=2), actor=AGENT)
    svc.resolve(seeded, late, "Xong.", now=now + timedelta(days=8), actor=AGENT)
    svc.resolve(seeded, extended, "Xong.", now=now + timedelta(days=10), actor=AGENT)
    assert outcome(on_time) == Outcome.ON_TIME
    assert outcome(late) == Outcome.LATE
    assert outcome(extended) == Outcome.LATE_WITH_EXTENSION
    assert outcome(make_case()) == Outcome.OPEN
