"""GeoReport v2 on the wire: reading a partner's form and query parameters, and writing
services and requests as the specification's JSON. Errors are `[{"code", "description"}]`."""

from __future__ import annotations

import math
import re
from collections.abc import Mapping
from datetime import datetime
from typing import Any

from intake.clock import VN_TZ
from intake.models import Case, Category
from intake.services.open311 import RequestFilter, ServiceRequest
from intake.services.public import OPEN311_CLOSED, OPEN311_OPEN, PublicCase
from intake.validation import ValidationError, mask_pii, normalize_phone, normalize_text

MAX_DESCRIPTION = 4000
MAX_ADDRESS = 500
MAX_NAME = 100
MAX_URL = 1000
MAX_IDS = 100
IDEMPOTENCY_KEY_RE = re.compile(r"^[A-Za-z0-9_.:-]{1,100}$")
EMAIL_RE = re.compile(r"^[^@\s]{1,64}@[^@\s]{1,255}\.[^@\s]{2,}$")
SERVICE_CODE_RE = re.compile(r"^[a-z0-9_-]{1,40}$")

# GeoReport groups the services; ours are the complaint categories.
GROUPS: dict[str, str] = {
    "environment": "Đô thị và môi trường",
    "noise": "Đô thị và môi trường",
    "urban_order": "Đô thị và môi trường",
    "public_property_misuse": "Đô thị và môi trường",
    "traffic_parking": "Giao thông và hạ tầng",
    "roads_infrastructure": "Giao thông và hạ tầng",
    "utilities": "Điện, nước",
    "health": "Dịch vụ công",
    "education": "Dịch vụ công",
    "public_admin": "Dịch vụ công",
    "security_order": "An ninh, trật tự",
}
OTHER_GROUP = "Khác"


class Open311Error(Exception):
    """Answer `[{"code": status, "description": description}]` with that HTTP status."""

    def __init__(self, status: int, description: str) -> None:
        super().__init__(description)
        self.status = status
        self.description = description

    def body(self) -> list[dict[str, Any]]:
        return [{"code": self.status, "description": self.description}]


def bad_request(description: str) -> Open311Error:
    return Open311Error(400, description)


# -- Reading --------------------------------------------------------------------------------
def _text(form: Mapping[str, str], name: str, limit: int) -> str | None:
    value = normalize_text(form.get(name, ""))
    if len(value) > limit:
        raise bad_request(f"{name} is longer than {limit} characters")
    return value or None


def _coordinate(raw: str, name: str, bound: float) -> float:
    try:
        value = float(raw)
    except ValueError:
        raise bad_request(f"{name} must be a decimal number (WGS84)") from None
    if not math.isfinite(value) or not -bound <= value <= bound:
        raise bad_request(f"{name} must be between -{bound:g} and {bound:g}")
    return value


def parse_post(form: Mapping[str, str], idempotency_key: str | None) -> ServiceRequest:
    """A POSTed request checked for form; the service then checks it against the rules."""
    service_code = (form.get("service_code") or "").strip()
    if not service_code:
        raise bad_request("service_code is required")
    lat_raw, long_raw = (form.get("lat") or "").strip(), (form.get("long") or "").strip()
    latitude = longitude = None
    if lat_raw or long_raw:
        if not (lat_raw and long_raw):
            raise bad_request("lat and long must be given together")
        latitude = _coordinate(lat_raw, "lat", 90)
        longitude = _coordinate(long_raw, "long", 180)
    address = _text(form, "address_string", MAX_ADDRESS)
    if latitude is None and address is None:
        if form.get("address_id"):
            raise bad_request("address_id is not supported: send lat and long or address_string")
        raise bad_request("a location is required: lat and long, or address_string")
    description = _text(form, "description", MAX_DESCRIPTION)
    if description is None:
        raise bad_request("description is required")
    phone = None
    if (form.get("phone") or "").strip():
        try:
            phone = normalize_phone(form["phone"])
        except ValidationError:
            raise bad_request("phone is not a Vietnamese phone number") from None
    email = (form.get("email") or "").strip()
    if email and not EMAIL_RE.match(email):
        raise bad_request("email is not an e-mail address")
    names = [_text(form, "first_name", MAX_NAME), _text(form, "last_name", MAX_NAME)]
    full_name = " ".join(n for n in names if n) or None
    media_url = (form.get("media_url") or "").strip() or None
    if media_url and (
        len(media_url) > MAX_URL or not media_url.startswith(("https://", "http://"))
    ):
        raise bad_request(f"media_url must be an http(s) URL of at most {MAX_URL} characters")
    if idempotency_key is not None and not IDEMPOTENCY_KEY_RE.match(idempotency_key):
        raise bad_request("Idempotency-Key must be 1-100 letters, digits or _ . : -")
    return ServiceRequest(
        service_code=service_code,
        description=description,
        latitude=latitude,
        longitude=longitude,
        address=address,
        phone_e164=phone,
        full_name=full_name,
        media_url=media_url,
        idempotency_key=idempotency_key,
    )


def _moment(raw: str, name: str) -> datetime:
    try:
        moment = datetime.fromisoformat(raw.strip())
    except ValueError:
        raise bad_request(
            f"{name} must be a W3C date-time, e.g. 2026-11-26T09:00:00+07:00"
        ) from None
    return moment if moment.tzinfo else moment.replace(tzinfo=VN_TZ)


def _list(raw: str | None) -> tuple[str, ...]:
    return tuple(item.strip() for item in (raw or "").split(",") if item.strip())


def parse_query(args: Mapping[str, str]) -> RequestFilter:
    codes = _list(args.get("service_request_id"))
    if len(codes) > MAX_IDS:
        raise bad_request(f"at most {MAX_IDS} service_request_id values")
    statuses = tuple(s.lower() for s in _list(args.get("status")))
    if any(s not in {OPEN311_OPEN, OPEN311_CLOSED} for s in statuses):
        raise bad_request("status must be open or closed")
    start = _moment(args["start_date"], "start_date") if args.get("start_date") else None
    end = _moment(args["end_date"], "end_date") if args.get("end_date") else None
    if start and end and start > end:
        raise bad_request("start_date is after end_date")
    return RequestFilter(
        codes=codes,
        service_codes=_list(args.get("service_code")),
        start=start,
        end=end,
        statuses=statuses,
    )


# -- Writing --------------------------------------------------------------------------------
def w3c(moment: datetime | None) -> str | None:
    """Huế time with its offset: 2026-11-26T09:00:00+07:00."""
    return moment.astimezone(VN_TZ).isoformat(timespec="seconds") if moment else None


def service_json(category: Category) -> dict[str, Any]:
    keywords = ",".join(part.strip() for part in category.name.split(",") if part.strip())
    return {
        "service_code": category.code,
        "service_name": category.name,
        "description": category.description or category.name,
        "metadata": False,
        "type": "realtime",
        "keywords": keywords,
        "group": GROUPS.get(category.code, OTHER_GROUP),
    }


def definition_json(category: Category) -> dict[str, Any]:
    return {"service_code": category.code, "attributes": []}


def request_json(case: Case, view: PublicCase) -> dict[str, Any]:
    """A complaint as GeoReport shows it. What the resident wrote is about a place, but it may
    name a phone or a CCCD: both are masked; the reporter and photos are never given."""
    return {
        "service_request_id": view.code,
        "status": view.open311_status,
        "status_notes": view.latest_note,
        "service_name": view.category_name,
        "service_code": view.category_code,
        "description": mask_pii(case.description) if case.description else None,
        "agency_responsible": view.agency_name,
        "service_notice": None,
        "requested_datetime": w3c(view.created_at),
        "updated_datetime": w3c(view.updated_at),
        "expected_datetime": w3c(view.resolve_due_at) if view.open311_status == "open" else None,
        "address": mask_pii(case.location_text) if case.location_text else None,
        "address_id": None,
        "zipcode": None,
        "lat": case.latitude,
        "long": case.longitude,
        "media_url": None,
    }
