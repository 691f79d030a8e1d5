"""The WSGI entry point for gunicorn: `gunicorn agents_console.wsgi:app`.

Settings come from the environment (and `.env`); the database must already be migrated
(`hotline db upgrade`). Logs go to stderr with personal data masked, as in `hotline run`."""

from __future__ import annotations

import gc

from agents_console.app import create_app
from intake.pii import configure_logging
from intake.runtime import get_runtime

configure_logging()
app = create_app(get_runtime())
# What the app holds lives as long as the process: out of the garbage collector's full passes.
gc.freeze()
