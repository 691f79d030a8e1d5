"""Benchmark: the console's queue and case page on a PostgreSQL database of 1,000,000 cases.

A scratch database is created (and dropped at the end), migrated, seeded with the reference data
and an agent, then filled in bulk with `INSERT … SELECT generate_series` (cases spread over
about 400 days, most of them closed, the recent ones open, two to four timeline events each).
The queue's indexes are dropped during the load and built afterwards, then `ANALYZE`.

The pages are requested through the Flask test client (the whole request: login session, one
database session, the queries, the template), signed in as an agent:

- the queue's first page, a deep keyset page (`?after=` half-way through all cases), and
  filtered pages (category + ward, status, SLA state, an agency officer's view, a code search);
- the case page of random cases.

    .venv/bin/python bench/console_queue.py [--cases 1000000] [--repeat 60] [--url URL]

Writes bench/results/console_queue.json. The goal is p95 < 150 ms per page.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import random
import re
import statistics
import sys
import tempfile
import time
import uuid
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from sqlalchemy import Engine, create_engine, text  # noqa: E402
from sqlalchemy.engine import make_url  # noqa: E402

from agents_console.app import create_app  # noqa: E402
from intake.config import Settings  # noqa: E402
from intake.db import make_engine, make_session_factory, unit_of_work  # noqa: E402
from intake.migrate import upgrade  # noqa: E402
from intake.models import Case, Role  # noqa: E402
from intake.runtime import Runtime  # noqa: E402
from intake.seed import seed_reference  # noqa: E402
from intake.services.queue import Cursor  # noqa: E402
from intake.services.users import create_user  # noqa: E402

DEFAULT_URL = os.environ.get(
    "TEST_DATABASE_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test"
)
RESULTS = ROOT / "bench" / "results" / "console_queue.json"
PASSWORD = "mat-khau-bench-2026"
GOAL_P95_MS = 150.0
DAYS = 400
TOKEN = re.compile(r'name="csrf_token" (?:type="hidden" )?value="([^"]+)"')

# One statement per table: every case gets a code unique per day, a category, ward, agency,
# channel and priority drawn from the row number, and a status by age (open when recent).
LOAD_CASES = """
WITH g AS (
  SELECT n,
         CAST(:base AS timestamptz) - make_interval(secs => n * CAST(:spacing AS float8)) AS at,
         hashint4(n) AS h,
         -- independent draws: priority, assignee and status must not be correlated
         hashint4(-n) AS hp,
         hashint4(n # 1431655765) AS ha
  FROM generate_series(1, :cases) AS n
), s AS (
  SELECT g.*,
         CASE
           WHEN at > CAST(:base AS timestamptz) - interval '2 days' THEN
             (ARRAY['new','acknowledged','in_progress','new'])[1 + abs(h % 4)]
           WHEN at > CAST(:base AS timestamptz) - interval '10 days' THEN
             (ARRAY['acknowledged','in_progress','resolved','closed','reopened'])[1 + abs(h % 5)]
           WHEN abs(h % 50) = 0 THEN 'in_progress'
           ELSE (ARRAY['closed','closed','closed','resolved','rejected','duplicate'])
             [1 + abs(h % 6)]
         END AS status
  FROM g
)
INSERT INTO cases (
  code, kind, category_id, status, priority, channel, description, location_text, ward_id,
  agency_id, assignee_id, anonymous, created_at, updated_at, ack_due_at, acknowledged_at,
  resolve_due_at, resolved_at, closed_at
)
SELECT
  'HUE-' || to_char(at AT TIME ZONE 'Asia/Ho_Chi_Minh', 'YYMMDD') || '-'
    || lpad((row_number() OVER (
         PARTITION BY (at AT TIME ZONE 'Asia/Ho_Chi_Minh')::date ORDER BY n))::text, 4, '0'),
  'complaint',
  (CAST(:categories AS int[]))[1 + abs(h % cardinality(CAST(:categories AS int[])))],
  status,
  CASE WHEN abs(hp % 100) = 0 THEN 1 WHEN abs(hp % 100) < 10 THEN 2
       WHEN abs(hp % 100) < 90 THEN 3 ELSE 4 END,
  (ARRAY['voice','sms','zalo','messenger','telegram','web'])[1 + abs((hp / 7) % 6)],
  'Phản ánh số ' || n || ': rác tồn đọng, đèn đường hỏng ở kiệt ' || (n % 97),
  'Kiệt ' || (n % 97) || ' đường Nguyễn Huệ',
  (CAST(:wards AS int[]))[1 + abs((ha / 13) % cardinality(CAST(:wards AS int[])))],
  (CAST(:agencies AS int[]))[1 + abs((h / 17) % cardinality(CAST(:agencies AS int[])))],
  CASE WHEN abs(ha % 10) = 0 THEN CAST(:agent AS int) ELSE NULL END,
  false,
  at,
  at,
  at + interval '1 hour',
  CASE WHEN status = 'new' THEN NULL ELSE at + interval '30 minutes' END,
  at + interval '7 days',
  CASE WHEN status IN ('resolved', 'closed') THEN at + interval '3 days' ELSE NULL END,
  CASE WHEN status IN ('closed', 'rejected', 'duplicate') THEN at + interval '4 days'
       ELSE NULL END
FROM s
"""

LOAD_EVENTS = """
INSERT INTO case_events (case_id, at, actor, action, data, public, public_text)
SELECT id, created_at, 'citizen', 'created', '{"channel": "sms"}'::jsonb, true,
       'Hệ thống đã tiếp nhận phản ánh.' FROM cases
UNION ALL
SELECT id, created_at, 'system', 'routed', '{}'::jsonb, true, 'Đã chuyển đơn vị xử lý.'
FROM cases WHERE agency_id IS NOT NULL
UNION ALL
SELECT id, acknowledged_at, 'lan.agent', 'status_changed',
       jsonb_build_object('from', 'new', 'to', 'acknowledged'), true,
       'Tổng đài đã xác nhận phản ánh.' FROM cases WHERE acknowledged_at IS NOT NULL
UNION ALL
SELECT id, updated_at + interval '1 hour', 'lan.agent', 'note',
       jsonb_build_object('text', 'Đã gọi lại cho người dân'), false, NULL
FROM cases WHERE id % 3 = 0
"""


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    index = min(len(ordered) - 1, max(0, round(q * (len(ordered) - 1))))
    return ordered[index]


def summary(latencies: list[float]) -> dict[str, float]:
    ms = [x * 1000 for x in latencies]
    return {
        "requests": len(ms),
        "p50_ms": round(statistics.median(ms), 1),
        "p95_ms": round(percentile(ms, 0.95), 1),
        "max_ms": round(max(ms), 1),
    }


def load(engine: Engine, cases: int, agent_id: int) -> dict[str, float]:
    """Bulk-load `cases` cases and their events; build the queue indexes after the load."""
    timings: dict[str, float] = {}
    indexes = [ix for ix in Case.__table__.indexes]
    with engine.begin() as conn:
        ids = {
            name: list(conn.scalars(text(f"SELECT id FROM {name} ORDER BY id")))
            for name in ("categories", "wards", "agencies")
        }
        for index in indexes:
            conn.execute(text(f'DROP INDEX IF EXISTS "{index.name}"'))
        started = time.perf_counter()
        base = datetime.now(UTC).replace(microsecond=0)
        conn.execute(
            text(LOAD_CASES),
            {
                "base": base,
                "spacing": DAYS * 86400 / cases,
                "cases": cases,
                "categories": ids["categories"],
                "wards": ids["wards"],
                "agencies": ids["agencies"],
                "agent": agent_id,
            },
        )
        timings["insert_cases_s"] = round(time.perf_counter() - started, 1)
        started = time.perf_counter()
        conn.execute(text(LOAD_EVENTS))
        timings["insert_events_s"] = round(time.perf_counter() - started, 1)
    started = time.perf_counter()
    with engine.begin() as conn:
        for index in indexes:
            index.create(conn)
    timings["create_indexes_s"] = round(time.perf_counter() - started, 1)
    started = time.perf_counter()
    with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        conn.execute(text("VACUUM ANALYZE cases"))
        conn.execute(text("VACUUM ANALYZE case_events"))
    timings["vacuum_analyze_s"] = round(time.perf_counter() - started, 1)
    return timings


def login(client: Any, username: str) -> None:
    html = client.get("/login").get_data(as_text=True)
    match = TOKEN.search(html)
    assert match, "no CSRF token on /login"
    response = client.post(
        "/login", data={"username": username, "password": PASSWORD, "csrf_token": match.group(1)}
    )
    assert response.status_code == 302, response.status_code


def timed(client: Any, urls: Callable[[int], str], repeat: int) -> list[float]:
    latencies = []
    for i in range(repeat + 3):
        url = urls(i)
        started = time.perf_counter()
        response = client.get(url)
        body = response.get_data()
        elapsed = time.perf_counter() - started
        assert response.status_code == 200, (url, response.status_code)
        assert body
        if i >= 3:  # the first requests warm the caches
            latencies.append(elapsed)
    return latencies


def explain(engine: Engine, sql: str, params: dict[str, Any]) -> list[str]:
    with engine.connect() as conn:
        rows = conn.execute(text("EXPLAIN (ANALYZE, BUFFERS) " + sql), params)
        return [row[0] for row in rows]


def run(url: str, cases: int, repeat: int) -> dict[str, Any]:
    admin = create_engine(url, isolation_level="AUTOCOMMIT")
    name = f"hotline_bench_{uuid.uuid4().hex[:8]}"
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    bench_url = make_url(url).set(database=name).render_as_string(hide_password=False)
    engine = make_engine(bench_url, pool_size=2)
    workdir = Path(tempfile.mkdtemp(prefix="console-queue-"))
    try:
        upgrade(engine)
        now = datetime.now(UTC)
        with unit_of_work(make_session_factory(engine)) as session:
            seed_reference(session, now)
            agent = create_user(
                session,
                username="lan.agent",
                full_name="Nguyễn Thị Lan",
                role=Role.AGENT,
                password=PASSWORD,
                now=now,
            )
            create_user(
                session,
                username="an.hepco",
                full_name="Cán bộ HEPCO",
                role=Role.AGENCY_OFFICER,
                password=PASSWORD,
                now=now,
                agency_code="hepco",
            )
            agent_id = agent.id
        print(f"loading {cases:,} cases …", flush=True)
        started = time.perf_counter()
        load_timings = load(engine, cases, agent_id)
        load_timings["total_s"] = round(time.perf_counter() - started, 1)
        print(f"loaded in {load_timings}", flush=True)
        with engine.connect() as conn:
            counts = {
                "cases": conn.scalar(text("SELECT count(*) FROM cases")),
                "open_cases": conn.scalar(
                    text(
                        "SELECT count(*) FROM cases WHERE status IN "
                        "('new','acknowledged','in_progress','reopened')"
                    )
                ),
                "events": conn.scalar(text("SELECT count(*) FROM case_events")),
            }
            # A cursor half-way through all cases, as if an agent had paged that far.
            row = conn.execute(
                text(
                    "SELECT priority, created_at, id FROM cases "
                    "ORDER BY priority, created_at DESC, id DESC OFFSET :k LIMIT 1"
                ),
                {"k": counts["cases"] // 2},
            ).one()
            deep = Cursor(row.priority, row.created_at, row.id).encode()
            codes = list(conn.scalars(text("SELECT code FROM cases TABLESAMPLE SYSTEM (1)")))
            some_code = codes[0]
        print(f"data: {counts}", flush=True)

        settings = Settings(
            var_dir=workdir,
            database_url=bench_url,
            public_base_url="http://127.0.0.1:5000",
            secret_key="bench-secret-key",
        )
        runtime = Runtime.from_settings(settings)
        app = create_app(runtime)
        agent_client = app.test_client()
        login(agent_client, "lan.agent")
        officer_client = app.test_client()
        login(officer_client, "an.hepco")
        rng = random.Random(7)

        scenarios: dict[str, tuple[Any, Callable[[int], str]]] = {
            "queue_first_page": (agent_client, lambda i: "/console/queue"),
            "queue_all_statuses_first_page": (agent_client, lambda i: "/console/queue?status=all"),
            "queue_deep_keyset_page": (
                agent_client,
                lambda i: f"/console/queue?status=all&after={deep}",
            ),
            "queue_filter_category_ward": (
                agent_client,
                lambda i: "/console/queue?status=all&category=environment&ward=phu-hoi",
            ),
            "queue_filter_status": (agent_client, lambda i: "/console/queue?status=in_progress"),
            "queue_filter_ack_overdue": (agent_client, lambda i: "/console/queue?sla=ack_overdue"),
            "queue_filter_due_within_1h": (agent_client, lambda i: "/console/queue?sla=due_soon"),
            "queue_assigned_to_me": (agent_client, lambda i: "/console/queue?assignee=me"),
            "queue_code_search": (agent_client, lambda i: f"/console/queue?q={some_code}"),
            "queue_agency_officer": (officer_client, lambda i: "/console/queue?status=all"),
            "case_page": (
                agent_client,
                lambda i: f"/console/cases/{codes[rng.randrange(len(codes))]}",
            ),
        }
        results: dict[str, dict[str, float]] = {}
        for label, (client, urls) in scenarios.items():
            results[label] = summary(timed(client, urls, repeat))
            print(f"{label:32} {results[label]}", flush=True)
        # The deep page again, found by walking 20 pages from a deep cursor (the links work).
        html = agent_client.get(f"/console/queue?status=all&after={deep}").get_data(as_text=True)
        assert 'rel="next"' in html
        runtime.close()

        plans = {
            "queue_open_first_page": explain(
                engine,
                "SELECT id FROM cases WHERE status IN ('new','acknowledged','in_progress',"
                "'reopened') AND priority = 3 ORDER BY created_at DESC, id DESC LIMIT 51",
                {},
            ),
            "queue_deep_keyset": explain(
                engine,
                "SELECT id FROM cases WHERE priority = :p AND (created_at, id) < (:c, :i) "
                "ORDER BY created_at DESC, id DESC LIMIT 51",
                {"p": row.priority, "c": row.created_at, "i": row.id},
            ),
        }
        slowest = max(r["p95_ms"] for r in results.values())
        return {
            "benchmark": "console_queue",
            "database": "postgresql",
            "server_version": engine.dialect.server_version_info,
            "machine": {"python": platform.python_version(), "cpus": os.cpu_count()},
            "when": datetime.now(UTC).isoformat(timespec="seconds"),
            "how": "Flask test client in one process, signed in; whole request incl. template",
            "data": counts,
            "load": load_timings,
            "repeat": repeat,
            "goal_p95_ms": GOAL_P95_MS,
            "goal_met": slowest < GOAL_P95_MS,
            "results": results,
            "plans": plans,
        }
    finally:
        engine.dispose()
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--cases", type=int, default=1_000_000)
    parser.add_argument("--repeat", type=int, default=60)
    parser.add_argument("--url", default=DEFAULT_URL)
    args = parser.parse_args()
    report = run(args.url, args.cases, args.repeat)
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(json.dumps(report, ensure_ascii=False, indent=2, default=str) + "\n")
    print(f"wrote {RESULTS}")


if __name__ == "__main__":
    main()
