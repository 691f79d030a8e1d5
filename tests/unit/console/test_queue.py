"""The queue: who may open it, filters, SLA clocks, keyset pages, agency scoping."""

from __future__ import annotations

import re
from datetime import timedelta
from typing import Any

import pytest
from flask import Flask

from intake.clock import utcnow
from intake.db import unit_of_work
from intake.models import Channel, Priority, User
from intake.runtime import Runtime
from intake.services.cases import CITIZEN, NewCase, open_case
from intake.services.queue import Cursor, QueueFilter, Scope, list_queue
from tests.conftest import NOW
from tests.unit.console.conftest import login
from tests.unit.console.desk import Desk, seed_desk

CODE = re.compile(r'href="/console/cases/(HUE-\d{6}-\d{4})"')


@pytest.fixture
def desk(runtime: Runtime) -> Desk:
    return seed_desk(runtime)


def codes(response: Any) -> list[str]:
    assert response.status_code == 200
    return CODE.findall(response.get_data(as_text=True))


def agent(app: Flask, username: str = "lan.agent") -> Any:
    client = app.test_client()
    assert login(client, username).status_code == 302
    return client


def test_anonymous_visitors_are_sent_to_login(app: Flask, desk: Desk) -> None:
    response = app.test_client().get("/console/queue?status=all")
    assert response.status_code == 302
    assert "/login?next=/console/queue" in response.headers["Location"]


@pytest.mark.parametrize("username", ["lan.agent", "hoa.supervisor", "minh.admin"])
def test_desk_roles_see_every_open_case_most_urgent_first(
    app: Flask, desk: Desk, username: str
) -> None:
    listed = codes(agent(app, username).get("/console/queue"))
    # Emergency first, then high, then normal cases newest first.
    assert listed == [desk.fresh_code, desk.traffic_code, desk.web_code, desk.env_code]


def test_an_agency_officer_sees_only_their_agencys_cases(app: Flask, desk: Desk) -> None:
    assert codes(agent(app, "an.hepco").get("/console/queue?status=all")) == [desk.env_code]
    traffic = codes(agent(app, "binh.police").get("/console/queue?status=all"))
    assert traffic == [desk.traffic_code]


def test_filters(app: Flask, desk: Desk) -> None:
    client = agent(app)
    assert codes(client.get("/console/queue?category=environment")) == [desk.env_code]
    assert codes(client.get("/console/queue?channel=web")) == [desk.web_code]
    assert codes(client.get("/console/queue?ward=vinh-ninh")) == [desk.traffic_code]
    assert codes(client.get("/console/queue?agency=hepco")) == [desk.env_code]
    assert codes(client.get("/console/queue?status=new&channel=voice")) == [desk.traffic_code]
    assert codes(client.get("/console/queue?status=closed")) == []
    assert codes(client.get("/console/queue?assignee=me")) == []
    assert len(codes(client.get("/console/queue?assignee=none"))) == 4
    assert codes(client.get("/console/queue?category=no-such-thing")) == []


def test_text_search_on_code_digits_and_description(app: Flask, desk: Desk) -> None:
    client = agent(app)
    digits = "".join(ch for ch in desk.env_code if ch.isdigit())
    assert codes(client.get(f"/console/queue?q={desk.env_code}")) == [desk.env_code]
    assert codes(client.get(f"/console/queue?q={digits}")) == [desk.env_code]
    assert codes(client.get("/console/queue?q=Đèn đường")) == [desk.web_code]
    assert codes(client.get("/console/queue?q=100%25")) == []


def test_sla_states_and_overdue_rows_in_red(app: Flask, desk: Desk) -> None:
    client = agent(app)
    overdue = codes(client.get("/console/queue?sla=ack_overdue"))
    assert set(overdue) == {desk.env_code, desk.traffic_code, desk.web_code}
    assert set(codes(client.get("/console/queue?sla=resolve_overdue"))) == set(overdue)
    assert codes(client.get("/console/queue?sla=due_soon")) == [desk.fresh_code]
    assert codes(client.get("/console/queue?sla=on_time")) == [desk.fresh_code]
    html = client.get("/console/queue").get_data(as_text=True)
    assert html.count('class="row-overdue"') == 3
    assert "clock clock-overdue" in html and "quá hạn" in html
    assert re.search(r'<time class="clock" datetime="[^"]+" data-due=', html)  # running, on time
    assert "còn 5" in html or "còn 4" in html or "còn 6" in html  # ack due in ~55 minutes


def test_the_page_polls_by_a_static_script_and_personal_data_is_masked(
    app: Flask, desk: Desk
) -> None:
    html = agent(app).get("/console/queue").get_data(as_text=True)
    assert '<script src="/console/cases/static/countdown.js" defer></script>' in html
    assert 'data-refresh="30"' in html
    assert "0905 123 456" not in html and "090*****56" in html
    script = app.test_client().get("/console/cases/static/countdown.js")
    assert script.status_code == 200
    script.close()
    full = agent(app, "hoa.supervisor").get("/console/queue").get_data(as_text=True)
    assert "0905 123 456" in full


def test_keyset_pages_cover_every_case_once(runtime: Runtime, app: Flask, desk: Desk) -> None:
    with unit_of_work(runtime.sessions) as session:
        for i in range(45):
            open_case(
                session,
                NewCase(
                    channel=Channel.SMS,
                    description=f"Phản ánh số {i}",
                    category_code="noise",
                    ward_code="phu-hoi",
                    priority=Priority.LOW if i % 3 == 0 else Priority.NORMAL,
                ),
                now=NOW + timedelta(minutes=i % 7),  # equal times: the id breaks the tie
                actor=CITIZEN,
            )
        viewer = session.get(User, 1)
        assert viewer is not None
        expected = [
            c.code
            for c in list_queue(
                session, QueueFilter(), viewer=viewer, now=utcnow(), page_size=1000
            ).cases
        ]
    assert len(expected) == 49
    client = agent(app)
    seen: list[str] = []
    url = "/console/queue"
    pages = 0
    while url:
        response = client.get(url)
        seen += codes(response)
        pages += 1
        match = re.search(r'<a rel="next" href="([^"]+)"', response.get_data(as_text=True))
        url = match.group(1).replace("&amp;", "&") if match else ""
    assert pages == 1  # 50 a page
    assert seen == expected
    with unit_of_work(runtime.sessions) as session:
        viewer = session.get(User, 1)
        assert viewer is not None
        walked: list[str] = []
        cursor = None
        while True:
            page = list_queue(
                session,
                QueueFilter(scope=Scope.ALL),
                viewer=viewer,
                now=utcnow(),
                after=cursor,
                page_size=7,
            )
            walked += [c.code for c in page.cases]
            if page.next_cursor is None:
                break
            cursor = Cursor.decode(page.next_cursor)
    assert walked == expected


def test_the_next_link_keeps_the_filters(app: Flask, runtime: Runtime, desk: Desk) -> None:
    with unit_of_work(runtime.sessions) as session:
        for i in range(55):
            open_case(
                session,
                NewCase(channel=Channel.SMS, description=f"Ồn ào {i}", category_code="noise"),
                now=NOW + timedelta(seconds=i),
                actor=CITIZEN,
            )
    client = agent(app)
    first = client.get("/console/queue?category=noise")
    assert len(codes(first)) == 50
    match = re.search(r'<a rel="next" href="([^"]+)"', first.get_data(as_text=True))
    assert match and "category=noise" in match.group(1)
    second = client.get(match.group(1).replace("&amp;", "&"))
    assert len(codes(second)) == 5
    assert not set(codes(second)) & set(codes(first))
    assert client.get("/console/queue?after=not-a-cursor").status_code == 200


def test_cursors_round_trip_and_refuse_junk() -> None:
    cursor = Cursor(3, NOW, 42)
    assert Cursor.decode(cursor.encode()) == cursor
    assert Cursor.decode("%%%") is None
    assert Cursor.decode("bm90IGEgY3Vyc29y") is None


def test_the_queue_speaks_english_when_asked(app: Flask, desk: Desk) -> None:
    from tests.unit.console.desk import post

    client = agent(app)
    assert post(client, "/language", {"lang": "en", "next": "/console/queue"}).status_code == 302
    html = client.get("/console/queue").get_data(as_text=True)
    assert "Case queue" in html and "overdue by" in html and "Acknowledge by" in html
