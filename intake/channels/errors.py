"""What a webhook tells a provider when the request is not acceptable, and body helpers."""

from __future__ import annotations

import json
from typing import Any


class WebhookError(Exception):
    """Refuse the request with `status` and a JSON error; nothing has been written."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message


def forbidden(message: str = "invalid or missing signature") -> WebhookError:
    return WebhookError(403, message)


def malformed(message: str) -> WebhookError:
    return WebhookError(400, message)


def load_object(raw_body: bytes) -> dict[str, Any]:
    """A JSON object from a webhook body, or a 400 saying why not."""
    try:
        body = json.loads(raw_body)
    except (ValueError, UnicodeDecodeError) as exc:
        raise malformed("body is not JSON") from exc
    if not isinstance(body, dict):
        raise malformed("body must be a JSON object")
    return body


def coordinates(lat: Any, lon: Any) -> tuple[float | None, float | None]:
    """A shared location as floats, or (None, None) when it is not a place on Earth."""
    try:
        latitude, longitude = float(lat), float(lon)
    except (TypeError, ValueError):
        return None, None
    if -90 <= latitude <= 90 and -180 <= longitude <= 180:
        return latitude, longitude
    return None, None
