"""A task sent through Redis to a real worker process opens a case in PostgreSQL."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select

from intake.db import make_session_factory, unit_of_work
from intake.models import Case, Channel
from intake.seed import seed_demo
from intake.services.cases import CITIZEN, NewCase, open_case
from intake.worker import make_celery

pytestmark = pytest.mark.integration


def test_open_case_task_runs_on_a_real_worker(clean_db, celery_worker, broker_settings, now):
    factory = make_session_factory(clean_db)
    with unit_of_work(factory) as s:
        seed_demo(s, now)
    app = make_celery(broker_settings)
    payload = {
        "channel": "zalo",
        "description": "Xe tải đậu chắn kiệt 45 Phan Đình Phùng",
        "category": "traffic_parking",
        "ward": "Vinh Ninh",
        "intake_key": "zalo:evt-1",
    }
    code = app.send_task("intake.open_case", args=[payload]).get(timeout=60)
    # Delivered twice (a provider retry, a redelivery): still one case.
    again = app.send_task("intake.open_case", args=[payload]).get(timeout=60)
    assert again == code
    with unit_of_work(factory) as s:
        case = s.scalars(select(Case)).one()
        assert case.code == code and case.agency.code == "traffic-police"
        assert case.ward.name == "Vĩnh Ninh"


def test_sla_sweep_task_on_the_worker(clean_db, celery_worker, broker_settings):
    # The worker runs on the real clock: this case was opened eight days before it.
    opened = datetime.now(UTC) - timedelta(days=8)
    factory = make_session_factory(clean_db)
    with unit_of_work(factory) as s:
        seed_demo(s, opened)
        code = open_case(
            s, NewCase(channel=Channel.WEB, description="Cúp nước"), now=opened, actor=CITIZEN
        ).code
    app = make_celery(broker_settings)
    result = app.send_task("intake.sweep_sla").get(timeout=60)
    assert result["ack_overdue"] == [code] and result["resolve_overdue"] == [code]
