"""The console's login rate limit on the real Redis, shared by every gunicorn worker."""

from __future__ import annotations

import uuid

import pytest
import redis

from agents_console.auth.ratelimit import LoginRateLimiter, RedisStore
from intake.config import Settings
from tests.integration.conftest import REDIS_URL, _unavailable

pytestmark = pytest.mark.integration


def test_failures_are_counted_in_redis_and_expire() -> None:
    client = redis.Redis.from_url(REDIS_URL)
    try:
        client.ping()
    except redis.RedisError as exc:
        _unavailable(f"Redis at {REDIS_URL}", exc)
    limiter = LoginRateLimiter.for_settings(Settings(celery_broker_url=REDIS_URL))
    other_worker = LoginRateLimiter(RedisStore(client, 900))
    assert isinstance(limiter.store, RedisStore)
    username = f"agent-{uuid.uuid4().hex}"  # no flush: other tests may share this database
    key = LoginRateLimiter.key(username, "10.0.0.1")
    try:
        for _ in range(5):
            assert not other_worker.blocked(username, "10.0.0.1")
            limiter.failed(username, "10.0.0.1")
        assert other_worker.blocked(username, "10.0.0.1")
        assert not other_worker.blocked(username, "10.0.0.2")
        assert 0 < int(client.ttl(key)) <= 900  # type: ignore[arg-type]
        limiter.succeeded(username, "10.0.0.1")
        assert not other_worker.blocked(username, "10.0.0.1")
    finally:
        client.delete(key)
        client.close()
