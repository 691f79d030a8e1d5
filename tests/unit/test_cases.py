from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select

from intake.models import CaseStatus, Channel, OutboxMessage, Priority
from intake.services import cases as svc
from intake.services.cases import SYSTEM, Actor, NewCase
from intake.services.errors import InvalidInput, InvalidTransition, NotFound

AGENT = Actor("lan")


def test_open_case_gets_code_route_clocks_and_notification(make_case, seeded, now):
    case = make_case()

    assert case.code == "HUE-261126-0001"
    assert case.code_digits == "2611260001"
    assert case.status == CaseStatus.NEW
    assert case.agency.code == "hepco"
    assert case.ack_due_at == now + timedelta(hours=1)
    assert case.resolve_due_at == now + timedelta(days=7)
    assert [e.action for e in case.events] == ["created", "routed"]
    assert all(e.public for e in case.events)
    sms = seeded.scalars(select(OutboxMessage)).one()
    assert sms.channel == Channel.SMS and case.code in sms.body
    assert sms.body.startswith("Tổng đài tiếp nhận phản ánh")


def test_codes_count_up_per_local_day(make_case, now):
    first = make_case()
    second = make_case()
    # 17:30 UTC is already the next day in Huế (UTC+7).
    next_day = make_case(now=now.replace(hour=17, minute=30))
    assert (first.code, second.code) == ("HUE-261126-0001", "HUE-261126-0002")
    assert next_day.code == "HUE-261127-0001"


@pytest.mark.parametrize("typed", ["HUE-261126-0001", "hue 261126 0001", "2611260001", "261126-1"])
def test_case_found_by_code_or_digits(make_case, seeded, typed):
    case = make_case()
    assert svc.get_case(seeded, typed).id == case.id


def test_unknown_code_explained_in_vietnamese(seeded):
    with pytest.raises(NotFound) as err:
        svc.get_case(seeded, "2611269999")
    assert "Không tìm thấy" in err.value.message_vi


def test_ward_matched_without_diacritics_and_ward_categories_go_to_the_ward(make_case):
    case = make_case(category_code="urban_order", ward_code="Phuong Vy Da")
    assert case.ward.name == "Vỹ Dạ"
    assert case.agency.code == "ubnd-vy-da"
    # A ward whose very name starts with "Phường".
    assert make_case(ward_code="Phuong Duc").ward.name == "Phường Đúc"
    assert make_case(ward_code="phường Phường Đúc").ward.name == "Phường Đúc"


def test_unknown_category_refused_and_nothing_written(seeded, now):
    from intake.models import Case

    with pytest.raises(InvalidInput) as err:
        svc.open_case(
            seeded,
            NewCase(channel=Channel.WEB, description="x", category_code="weather"),
            now=now,
            actor=SYSTEM,
        )
    assert "category" in err.value.errors
    assert seeded.scalars(select(Case)).all() == []


def test_empty_description_refused(seeded, now):
    with pytest.raises(InvalidInput) as err:
        svc.open_case(
            seeded, NewCase(channel=Channel.WEB, description="   "), now=now, actor=SYSTEM
        )
    assert "Vui lòng mô tả" in err.value.errors["description"]


def test_full_life_cycle_records_a_public_timeline(make_case, seeded, now):
    case = make_case()
    svc.acknowledge(seeded, case, now=now + timedelta(minutes=20), actor=AGENT)
    svc.start_work(seeded, case, now=now + timedelta(hours=2), actor=AGENT)
    svc.resolve(seeded, case, "Đã thu gom rác.", now=now + timedelta(days=1), actor=AGENT)
    svc.close(seeded, case, now=now + timedelta(days=2), actor=AGENT)

    assert case.status == CaseStatus.CLOSED
    assert case.acknowledged_at == now + timedelta(minutes=20)
    assert case.resolved_at == now + timedelta(days=1)
    assert case.resolution == "Đã thu gom rác."
    texts = [e.public_text for e in svc.public_events(case)]
    assert "Đã xử lý xong: Đã thu gom rác." in texts
    bodies = [m.body for m in seeded.scalars(select(OutboxMessage).order_by(OutboxMessage.id))]
    assert len(bodies) == 5  # created + four status changes
    assert "đã được xử lý xong" in bodies[3]


@pytest.mark.parametrize(
    ("path", "refused"),
    [
        ([], CaseStatus.RESOLVED),
        ([], CaseStatus.CLOSED),
        ([CaseStatus.ACKNOWLEDGED], CaseStatus.NEW),
        ([CaseStatus.ACKNOWLEDGED], CaseStatus.REOPENED),
    ],
)
def test_invalid_transition_refused_and_case_unchanged(make_case, seeded, now, path, refused):
    case = make_case()
    for status in path:
        svc.change_status(seeded, case, status, now=now, actor=AGENT)
    before = (case.status, len(case.events), case.updated_at)
    with pytest.raises(InvalidTransition) as err:
        svc.change_status(
            seeded,
            case,
            refused,
            now=now + timedelta(hours=1),
            actor=AGENT,
            resolution="x",
            reason="x",
        )
    assert "Không thể chuyển" in err.value.message_vi
    assert (case.status, len(case.events), case.updated_at) == before


def test_resolution_needs_a_published_result(make_case, seeded, now):
    case = make_case()
    svc.acknowledge(seeded, case, now=now, actor=AGENT)
    with pytest.raises(InvalidInput):
        svc.resolve(seeded, case, "  ", now=now, actor=AGENT)
    assert case.status == CaseStatus.ACKNOWLEDGED


def test_reopen_needs_reason_and_restarts_resolution_clock(make_case, seeded, now):
    case = make_case()
    svc.acknowledge(seeded, case, now=now, actor=AGENT)
    svc.resolve(seeded, case, "Đã vá ổ gà.", now=now + timedelta(days=6), actor=AGENT)
    with pytest.raises(InvalidInput):
        svc.reopen(seeded, case, "", now=now + timedelta(days=8), actor=AGENT)
    svc.reopen(seeded, case, "Vá chưa xong", now=now + timedelta(days=8), actor=AGENT)
    assert case.status == CaseStatus.REOPENED
    assert case.resolved_at is None
    assert case.resolve_due_at == now + timedelta(days=15)


def test_duplicate_links_master_and_refuses_self(make_case, seeded, now):
    master, dup = make_case(), make_case()
    with pytest.raises(InvalidInput):
        svc.mark_duplicate(seeded, dup, dup, now=now, actor=AGENT)
    svc.mark_duplicate(seeded, dup, master, now=now, actor=AGENT)
    assert dup.status == CaseStatus.DUPLICATE
    assert dup.master_case_id == master.id
    assert master.code in dup.events[-1].public_text


def test_extension_needs_reason_later_date_and_is_recorded(make_case, seeded, now):
    case = make_case()
    later = case.resolve_due_at + timedelta(days=3)
    with pytest.raises(InvalidInput):
        svc.extend(seeded, case, later, "  ", now=now, actor=AGENT)
    with pytest.raises(InvalidInput):
        svc.extend(seeded, case, case.resolve_due_at, "Chờ vật tư", now=now, actor=AGENT)
    ext = svc.extend(seeded, case, later, "Chờ vật tư", now=now, actor=AGENT)
    assert case.resolve_due_at == later
    assert ext.previous_due_at == now + timedelta(days=7)
    assert case.events[-1].public and "Chờ vật tư" in case.events[-1].public_text


def test_assign_and_reroute_are_recorded(make_case, seeded, now):
    case = make_case()
    svc.route(seeded, case, "ubnd-phu-hoi", now=now, actor=AGENT, reason="Thuộc phường")
    assert case.agency.code == "ubnd-phu-hoi"
    assert case.events[-1].data["from"] == "hepco"
    with pytest.raises(InvalidInput):
        svc.route(seeded, case, "nope", now=now, actor=AGENT)


def test_intake_key_makes_opening_idempotent(make_case, seeded):
    first = make_case(intake_key="zalo:msg-1")
    again = make_case(intake_key="zalo:msg-1")
    assert again.id == first.id


def test_anonymous_reporter_still_gets_the_code_emergency_first(make_case, seeded):
    case = make_case(anonymous=True, priority=Priority.EMERGENCY)
    assert case.anonymous and case.priority == 1
    assert seeded.scalars(select(OutboxMessage)).one().recipient.startswith("+84")


def test_explicit_routing_rule_wins_over_category_default(make_case, seeded):
    from intake.models import Agency, Category, RoutingRule, Ward

    def one(model, code):
        return seeded.scalars(select(model).where(model.code == code)).one()

    seeded.add(
        RoutingRule(
            category_id=one(Category, "environment").id,
            ward_id=one(Ward, "thuan-an").id,
            agency_id=one(Agency, "ubnd-thuan-an").id,
        )
    )
    seeded.flush()
    assert make_case(ward_code="thuan-an").agency.code == "ubnd-thuan-an"
    assert make_case(ward_code="an-cuu").agency.code == "hepco"
