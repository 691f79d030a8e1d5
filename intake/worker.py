"""The Celery application: JSON only, late acks, and the beat schedule.

Broker: Redis (or any Celery broker) when CELERY_BROKER_URL is set. Without it, the embedded
default is Kombu's filesystem transport under `var/celery/`: messages are files on disk, so
queued work survives a restart of `hotline run` and no broker process is needed on a laptop or
a small server. It serves one machine only; production sets CELERY_BROKER_URL to Redis.
"""

from __future__ import annotations

import sys
from typing import Any

from celery import Celery
from celery.signals import after_setup_logger, after_setup_task_logger

from intake.config import Settings, load_settings
from intake.pii import PiiMaskingFilter, quiet_libraries

SLA_SWEEP_SECONDS = 60.0
OUTBOX_SECONDS = 30.0
INBOX_SECONDS = 30.0
ASR_REQUEUE_SECONDS = 300.0
REPORTS_REFRESH_SECONDS = 60.0
# Speech work has its own queue so it can be given its own workers (and machines).
ASR_QUEUE = "asr"
DEFAULT_QUEUES = f"celery,{ASR_QUEUE}"


def broker_options(settings: Settings) -> dict[str, Any]:
    if not settings.uses_embedded_broker:
        return {
            "broker_url": settings.celery_broker_url,
            "result_backend": settings.celery_result_backend or settings.celery_broker_url,
        }
    queue_dir = (settings.var_dir / "celery" / "queue").resolve()
    processed_dir = (settings.var_dir / "celery" / "processed").resolve()
    control_dir = (settings.var_dir / "celery" / "control").resolve()
    for folder in (queue_dir, processed_dir, control_dir):
        folder.mkdir(parents=True, exist_ok=True)
    return {
        "broker_url": "filesystem://",
        "broker_transport_options": {
            "data_folder_in": str(queue_dir),
            "data_folder_out": str(queue_dir),
            "processed_folder": str(processed_dir),
            "control_folder": str(control_dir),
            "store_processed": False,
        },
        "result_backend": settings.celery_result_backend or None,
    }


def worker_command(*options: str) -> list[str]:
    """The command line of a Celery worker process for this app (`hotline run`, the tests and
    the benchmarks start workers with it). Without `-Q` it serves every queue, speech included;
    production gives speech its own workers with `-Q asr`."""
    chosen = any(opt in ("-Q", "--queues") or opt.startswith("--queues=") for opt in options)
    queues = () if chosen else ("-Q", DEFAULT_QUEUES)
    return [sys.executable, "-m", "celery", "-A", "intake.worker", "worker", *queues, *options]


def make_celery(settings: Settings) -> Celery:
    app = Celery("hotline", include=["intake.tasks", "intake.channels.tasks"])
    app.conf.update(
        task_serializer="json",
        result_serializer="json",
        accept_content=["json"],
        timezone="UTC",
        enable_utc=True,
        task_acks_late=True,
        task_reject_on_worker_lost=True,
        worker_prefetch_multiplier=1,
        task_always_eager=settings.celery_always_eager,
        task_eager_propagates=True,
        broker_connection_retry_on_startup=True,
        result_expires=3600,
        # A webhook publishing while the broker is down must answer quickly: the delivery is
        # already stored and the inbox sweep queues it again.
        task_publish_retry_policy={
            "max_retries": 2,
            "interval_start": 0,
            "interval_step": 0.2,
            "interval_max": 0.5,
        },
        beat_schedule={
            "sla-sweep": {"task": "intake.sweep_sla", "schedule": SLA_SWEEP_SECONDS},
            "outbox-dispatch": {"task": "intake.dispatch_outbox", "schedule": OUTBOX_SECONDS},
            "inbox-requeue": {
                "task": "channels.requeue_inbound",
                "schedule": min(INBOX_SECONDS, max(1.0, settings.inbox_requeue_seconds / 2)),
            },
            "asr-requeue": {"task": "asr.requeue_untranscribed", "schedule": ASR_REQUEUE_SECONDS},
            "reports-refresh": {
                "task": "intake.refresh_reports",
                "schedule": REPORTS_REFRESH_SECONDS,
            },
        },
        task_routes={"asr.transcribe_case": {"queue": ASR_QUEUE}},
        **broker_options(settings),
    )
    return app


celery_app = make_celery(load_settings())
app = celery_app  # `celery -A intake.worker` finds it by this name


def _mask_personal_data(logger: Any, *args: Any, **kwargs: Any) -> None:
    """Worker logs carry task arguments (phone numbers, CCCDs): mask them like every log."""
    for handler in logger.handlers:
        handler.addFilter(PiiMaskingFilter())
    quiet_libraries()


after_setup_logger.connect(_mask_personal_data, weak=False)
after_setup_task_logger.connect(_mask_personal_data, weak=False)
