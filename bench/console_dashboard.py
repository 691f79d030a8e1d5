"""Benchmark: the console's dashboards page on PostgreSQL with a million cases.

Seeds a scratch database (created and dropped here) with `--cases` cases spread over the last
400 days, 5% of them with an SLA extension, and a fifth as many hotline calls, all with
INSERT … SELECT generate_series in the database. Then times the whole page (a supervisor's
GET through the Flask app: the report queries, the SVG chart and the template) for a 30-day
and a 1-year range three times:

* before the daily summary exists (every day counted live from `cases`, as before 0009);
* after building it the way `hotline reports refresh` does (the build is timed too);
* after changing cases of today and of ten days spread over the year (a case resolved late,
  a new case), as between two runs of the beat task: those days are counted live.

Each time, the figures through the summary are checked against a live count.

    .venv/bin/python bench/console_dashboard.py [--cases 1000000] [--runs 5] [--url URL]

Writes bench/results/console_dashboard.json.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import sys
import tempfile
import time
import uuid
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from sqlalchemy import create_engine, text  # noqa: E402
from sqlalchemy.engine import Engine, make_url  # noqa: E402

from agents_console.app import create_app  # noqa: E402
from intake.clock import VN_TZ, local_date  # noqa: E402
from intake.config import Settings  # noqa: E402
from intake.db import make_engine, make_session_factory, unit_of_work  # noqa: E402
from intake.migrate import upgrade  # noqa: E402
from intake.models import Role  # noqa: E402
from intake.runtime import Runtime  # noqa: E402
from intake.seed import seed_reference  # noqa: E402
from intake.services import reports  # noqa: E402
from intake.services.users import create_user  # noqa: E402
from tests.unit.console.conftest import login  # noqa: E402

DEFAULT_URL = os.environ.get(
    "TEST_DATABASE_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test"
)
PASSWORD = "mat-khau-bench-2026"
CHANNELS = ["voice", "sms", "zalo", "messenger", "telegram", "web", "open311", "console"]
OUTCOMES = ["case_created", "registered", "status_told", "agent", "voicemail", "hung_up"]

# Everything random comes from the row number, so two runs seed the same data.
SEED_CASES = """
INSERT INTO cases (code, kind, category_id, status, priority, channel, description, ward_id,
                   anonymous, created_at, updated_at, ack_due_at, acknowledged_at,
                   resolve_due_at, resolved_at)
SELECT 'B-' || g,
       'complaint',
       (SELECT array_agg(id ORDER BY id) FROM categories)[1 + (g * 7919) % :n_categories],
       CASE WHEN g % 10 < 7 THEN 'resolved' ELSE 'in_progress' END,
       3,
       (ARRAY[{channels}])[1 + (g * 31) % {n_channels}],
       '',
       (SELECT array_agg(id ORDER BY id) FROM wards)[1 + (g * 104729) % :n_wards],
       false,
       t, t,
       t + interval '1 hour',
       CASE WHEN g % 10 = 9 THEN NULL ELSE t + ((g % 120) * interval '1 minute') END,
       t + interval '7 days',
       CASE WHEN g % 10 < 7 THEN t + ((g % 240) * interval '1 hour') END
FROM generate_series(1::bigint, :n) AS g,
     -- Cases arrive in time order (ids and created_at rise together), a few minutes apart.
     LATERAL (SELECT :now - (:n - g) * (400 * 86400.0 / :n) * interval '1 second'
                     - ((g * 2654435761) % 60) * interval '1 second' AS t) AS s
"""
SEED_EXTENSIONS = """
INSERT INTO case_extensions (case_id, at, reason, previous_due_at, new_due_at)
SELECT id, created_at + interval '6 days', 'bench', resolve_due_at, resolve_due_at
FROM cases WHERE id % 20 = 0
"""
SEED_CALLS = """
INSERT INTO calls (unique_id, started_at, outcome, steps, recordings)
SELECT 'bench-' || g,
       :now - (:n - g) * (400 * 86400.0 / :n) * interval '1 second',
       (ARRAY[{outcomes}])[1 + (g * 13) % {n_outcomes}],
       '[]', '[]'
FROM generate_series(1::bigint, :n) AS g
"""


def _sql_list(values: list[str]) -> str:
    return ", ".join(f"'{v}'" for v in values)


def seed(engine: Engine, cases: int, now: datetime) -> dict[str, float]:
    timings: dict[str, float] = {}
    with engine.begin() as conn:
        n_categories = conn.execute(text("SELECT count(*) FROM categories")).scalar_one()
        n_wards = conn.execute(text("SELECT count(*) FROM wards")).scalar_one()
        started = time.perf_counter()
        conn.execute(
            text(SEED_CASES.format(channels=_sql_list(CHANNELS), n_channels=len(CHANNELS))),
            {"n": cases, "now": now, "n_categories": n_categories, "n_wards": n_wards},
        )
        timings["cases_s"] = round(time.perf_counter() - started, 2)
        started = time.perf_counter()
        conn.execute(text(SEED_EXTENSIONS))
        conn.execute(
            text(SEED_CALLS.format(outcomes=_sql_list(OUTCOMES), n_outcomes=len(OUTCOMES))),
            {"n": max(cases // 5, 1), "now": now},
        )
        timings["extensions_and_calls_s"] = round(time.perf_counter() - started, 2)
    started = time.perf_counter()
    with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        conn.execute(text("VACUUM ANALYZE"))
    timings["vacuum_analyze_s"] = round(time.perf_counter() - started, 2)
    return timings


def time_page(client: Any, first: str, last: str, runs: int) -> dict[str, Any]:
    url = f"/console/dashboards?start={first}&end={last}"
    response = client.get(url)  # warm-up: connection, template compilation, caches
    assert response.status_code == 200, response.status_code
    samples = []
    for _ in range(runs):
        started = time.perf_counter()
        response = client.get(url)
        response.get_data()
        samples.append(time.perf_counter() - started)
        assert response.status_code == 200
    return {
        "first_day": first,
        "last_day": last,
        "runs": runs,
        "median_s": round(statistics.median(samples), 3),
        "max_s": round(max(samples), 3),
        "under_1s": max(samples) < 1.0,
    }


def time_queries(runtime: Runtime, period: reports.DateRange) -> dict[str, Any]:
    """The page's case queries together, then each report's query alone; and a check that
    the figures equal a live count."""
    result: dict[str, Any] = {}
    with unit_of_work(runtime.sessions) as session:
        started = time.perf_counter()
        together = reports.case_figures(session, period)
        result["page_queries"] = round(time.perf_counter() - started, 3)
        apart = reports.CaseFigures(
            reports.cases_per_day(session, period),
            reports.sla_compliance(session, period),
            reports.channel_mix(session, period),
            reports.top_wards(session, period),
        )
        assert together == apart
        for name in ("cases_per_day", "sla_compliance", "channel_mix", "top_wards"):
            started = time.perf_counter()
            getattr(reports, name)(session, period)
            result[name] = round(time.perf_counter() - started, 3)
        started = time.perf_counter()
        calls = reports.call_outcomes(session, period)
        result["call_outcomes"] = round(time.perf_counter() - started, 3)
        started = time.perf_counter()
        live = reports.case_figures(session, period, live=True)
        result["all_live"] = round(time.perf_counter() - started, 3)
        assert together == live, "summary figures differ from a live count"
        assert calls == reports.call_outcomes(session, period, live=True)
        result["days_from_summary"] = reports.tally(session, period, ("call",)).summary_days
    return result


def measure(runtime: Runtime, client: Any, today: Any, runs: int) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for label, days in (("30_days", 30), ("1_year", 365)):
        first = today - timedelta(days=days - 1)
        page = time_page(client, first.isoformat(), today.isoformat(), runs)
        page["queries_s"] = time_queries(runtime, reports.DateRange(first, today))
        out[label] = page
        print(
            f"  {label}: median {page['median_s']} s, max {page['max_s']} s "
            f"({page['queries_s']['days_from_summary']} days from the summary)",
            flush=True,
        )
    return out


def build_summary(runtime: Runtime, today: date) -> dict[str, Any]:
    """What `hotline reports refresh` does: every day from the first case, a month per
    transaction; then ANALYZE of the summary tables (autovacuum would do it soon after)."""
    started = time.perf_counter()
    with unit_of_work(runtime.sessions) as session:
        first = reports.first_day(session)
    assert first is not None
    days = reports.DateRange(first, today).days
    for batch in reports.batches(days):
        with unit_of_work(runtime.sessions) as session:
            reports.refresh_days(session, batch, datetime.now(UTC))
    build_s = round(time.perf_counter() - started, 2)
    with runtime.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        conn.execute(text("ANALYZE report_days"))
        conn.execute(text("ANALYZE report_day_counts"))
        conn.execute(text("ANALYZE report_changes"))
        rows = conn.execute(text("SELECT count(*) FROM report_day_counts")).scalar_one()
    return {"days": len(days), "build_s": build_s, "summary_rows": rows}


def change_some_days(runtime: Runtime, today: date) -> list[str]:
    """As between two beat runs: a case of each of ten days over the year resolved late, an
    extension on another's, and new cases today; those days are counted live."""
    days = [today - timedelta(days=d) for d in (3, 17, 40, 77, 101, 150, 201, 260, 300, 350)]
    with runtime.engine.begin() as conn:
        for day in days:
            start = datetime.combine(day, datetime.min.time(), VN_TZ)
            conn.execute(
                text(
                    "UPDATE cases SET resolved_at = created_at + interval '30 days', "
                    "status = 'resolved' WHERE id = (SELECT min(id) FROM cases "
                    "WHERE created_at >= :start AND created_at < :end AND resolved_at IS NULL)"
                ),
                {"start": start, "end": start + timedelta(days=1)},
            )
        conn.execute(
            text(
                "INSERT INTO cases (code, kind, status, priority, channel, description, "
                "anonymous, created_at, updated_at, ack_due_at, resolve_due_at) "
                "SELECT 'T-' || g, 'complaint', 'new', 3, 'sms', '', false, now(), now(), "
                "now() + interval '1 hour', now() + interval '7 days' "
                "FROM generate_series(1, 100) AS g"
            )
        )
        changed = conn.execute(text("SELECT DISTINCT day FROM report_changes ORDER BY day"))
        return [str(d) for (d,) in changed]


def run(url: str, cases: int, runs: int) -> dict[str, Any]:
    admin = create_engine(url, isolation_level="AUTOCOMMIT")
    name = f"hotline_bench_{uuid.uuid4().hex[:8]}"
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    bench_url = make_url(url).set(database=name).render_as_string(hide_password=False)
    now = datetime.now(UTC)
    try:
        engine = make_engine(bench_url, pool_size=2)
        upgrade(engine)
        with unit_of_work(make_session_factory(engine)) as session:
            seed_reference(session, now)
            create_user(
                session,
                username="bench.supervisor",
                full_name="Giám sát",
                role=Role.SUPERVISOR,
                password=PASSWORD,
                now=now,
            )
        print(f"seeding {cases} cases…", flush=True)
        seeding = seed(engine, cases, now)
        print(f"  {seeding}", flush=True)
        engine.dispose()
        with tempfile.TemporaryDirectory() as tmp:
            runtime = Runtime.from_settings(Settings(var_dir=Path(tmp), database_url=bench_url))
            app = create_app(runtime, {"TESTING": True})
            client = app.test_client()
            response = login(client, "bench.supervisor", PASSWORD)
            assert response.status_code == 302, "bench login failed"
            today = local_date(now)
            print("before the summary (every day counted live):", flush=True)
            before = measure(runtime, client, today, runs)
            print("building the summary…", flush=True)
            summary = build_summary(runtime, today)
            print(f"  {summary}", flush=True)
            print("with the summary:", flush=True)
            after = measure(runtime, client, today, runs)
            changed = change_some_days(runtime, today)
            print(f"with the summary, {len(changed)} days changed since:", flush=True)
            after_changes = measure(runtime, client, today, runs)
            runtime.close()
    finally:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()
    return {
        "benchmark": "console_dashboard",
        "command": " ".join([Path(sys.executable).name, *sys.argv]),
        "cases": cases,
        "calls": max(cases // 5, 1),
        "extensions": cases // 20,
        "seeding_s": seeding,
        "before_summary": before,
        "summary": summary,
        "with_summary": after,
        "changed_days": changed,
        "with_summary_and_changed_days": after_changes,
        "machine": {
            "cpus": os.cpu_count(),
            "python": platform.python_version(),
            "platform": platform.platform(),
        },
        "at": now.isoformat(timespec="seconds"),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cases", type=int, default=1_000_000)
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--url", default=DEFAULT_URL)
    parser.add_argument(
        "--out", type=Path, default=ROOT / "bench" / "results" / "console_dashboard.json"
    )
    args = parser.parse_args()
    result = run(args.url, args.cases, args.runs)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(result, indent=2, ensure_ascii=False) + "\n")
    print(json.dumps(result, indent=2, ensure_ascii=False))


if __name__ == "__main__":
    main()
