from __future__ import annotations

from agents_console.app import create_app
from intake.config import Settings
from intake.migrate import upgrade
from intake.runtime import Runtime


def _app(tmp_path, migrate: bool):
    runtime = Runtime.from_settings(Settings(var_dir=tmp_path))
    if migrate:
        upgrade(runtime.engine)
    return runtime, create_app(runtime).test_client()


def test_healthz_ok_on_a_migrated_database(tmp_path):
    runtime, client = _app(tmp_path, migrate=True)
    response = client.get("/healthz")
    assert response.status_code == 200
    body = response.get_json()
    assert body["status"] == "ok" and body["checks"]["database"] == "ok"
    assert body["checks"]["asr"].startswith("keypad-only")
    runtime.close()


def test_healthz_unhealthy_until_migrated(tmp_path):
    runtime, client = _app(tmp_path, migrate=False)
    response = client.get("/healthz")
    assert response.status_code == 503
    assert response.get_json()["checks"]["database"] == "needs migration"
    runtime.close()
