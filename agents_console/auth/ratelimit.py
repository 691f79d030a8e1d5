"""Login rate limiting: a few failures per username and address, then 429 for a while.

The count lives in Redis when the broker is Redis (so every gunicorn worker shares it), and in
this process's memory otherwise (`hotline run`, tests). Keys are hashed: neither usernames nor
addresses are stored in clear."""

from __future__ import annotations

import hashlib
import logging
import threading
import time
from collections.abc import Callable
from typing import Protocol

import redis

from intake.config import Settings

log = logging.getLogger(__name__)

MAX_FAILURES = 5
WINDOW_SECONDS = 15 * 60


class AttemptStore(Protocol):
    def count(self, key: str) -> int: ...
    def add(self, key: str) -> int: ...
    def clear(self, key: str) -> None: ...


class MemoryStore:
    """Failures in a sliding window, in this process only."""

    MAX_KEYS = 10_000  # beyond this, keys with no recent failure are dropped

    def __init__(self, window: float, clock: Callable[[], float] = time.monotonic) -> None:
        self._window = window
        self._clock = clock
        self._hits: dict[str, list[float]] = {}
        self._lock = threading.Lock()

    def _recent(self, key: str, now: float) -> list[float]:
        hits = [t for t in self._hits.get(key, []) if now - t < self._window]
        if hits:
            self._hits[key] = hits
        else:
            self._hits.pop(key, None)
        return hits

    def count(self, key: str) -> int:
        with self._lock:
            return len(self._recent(key, self._clock()))

    def add(self, key: str) -> int:
        with self._lock:
            now = self._clock()
            if len(self._hits) >= self.MAX_KEYS:
                for stale in list(self._hits):
                    self._recent(stale, now)
            hits = self._recent(key, now)
            hits.append(now)
            self._hits[key] = hits
            return len(hits)

    def clear(self, key: str) -> None:
        with self._lock:
            self._hits.pop(key, None)


class RedisStore:
    """Failures counted in Redis; the window starts at the first failure."""

    def __init__(self, client: redis.Redis, window: int) -> None:
        self._client = client
        self._window = window

    def count(self, key: str) -> int:
        value = self._client.get(key)
        return int(value) if value is not None else 0

    def add(self, key: str) -> int:
        pipe = self._client.pipeline()
        pipe.incr(key)
        pipe.expire(key, self._window, nx=True)
        count, _ = pipe.execute()
        return int(count)

    def clear(self, key: str) -> None:
        self._client.delete(key)


class LoginRateLimiter:
    EXTENSION = "hotline.login_limiter"

    def __init__(self, store: AttemptStore, max_failures: int = MAX_FAILURES) -> None:
        self.store = store
        self.max_failures = max_failures

    @classmethod
    def for_settings(cls, settings: Settings) -> LoginRateLimiter:
        url = settings.celery_broker_url
        if url.startswith(("redis://", "rediss://")):
            client = redis.Redis.from_url(url, socket_timeout=2, socket_connect_timeout=2)
            return cls(RedisStore(client, WINDOW_SECONDS))
        return cls(MemoryStore(WINDOW_SECONDS))

    @staticmethod
    def key(username: str, address: str) -> str:
        digest = hashlib.sha256(f"{username.strip().lower()}\0{address}".encode()).hexdigest()
        return f"hotline:login-failures:{digest[:32]}"

    def blocked(self, username: str, address: str) -> bool:
        """True while this username has failed too often from this address."""
        try:
            return self.store.count(self.key(username, address)) >= self.max_failures
        except redis.RedisError as exc:
            # Fail open: an unreachable Redis must not lock every agent out of the console.
            log.error("login rate limit unavailable (%s): not enforced", type(exc).__name__)
            return False

    def failed(self, username: str, address: str) -> None:
        try:
            self.store.add(self.key(username, address))
        except redis.RedisError as exc:
            log.error("login rate limit unavailable (%s): failure not counted", type(exc).__name__)

    def succeeded(self, username: str, address: str) -> None:
        try:
            self.store.clear(self.key(username, address))
        except redis.RedisError as exc:
            log.error("login rate limit unavailable (%s)", type(exc).__name__)
