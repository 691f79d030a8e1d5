"""Bad input at scale: arbitrary bodies, headers, Unicode and sizes at every webhook and every
parser. A webhook answers 200, 400, 403 or 413 (never 500) and stores nothing it could not verify;
a parser returns a value or raises its own documented error, never anything else."""

from __future__ import annotations

import json
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import func, select

from agents_console.app import create_app
from asr import numbers
from intake.channels import messenger, telegram, twilio_sms, webchat, zalo
from intake.channels.errors import WebhookError
from intake.models import InboundDelivery
from intake.services.codes import canonical_code
from intake.validation import ValidationError, mask_pii, normalize_phone, parse_cccd
from tests import fakes

# No example database (nothing left on disk); the app fixture is shared by the examples on
# purpose: state piles up as it would in production.
FUZZ = settings(
    database=None,
    deadline=None,
    max_examples=150,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
ALLOWED = {200, 400, 403, 413}
ROUTES = [
    "/webhooks/twilio/sms",
    "/webhooks/twilio/voice",
    "/webhooks/twilio/voice/recorded",
    "/webhooks/zalo",
    "/webhooks/messenger",
    "/webhooks/telegram",
    "/chat/api/messages",
]
SIGNATURE_HEADERS = [
    "X-Twilio-Signature",
    "X-ZEvent-Signature",
    "X-Hub-Signature-256",
    "X-Telegram-Bot-Api-Secret-Token",
]

json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=50),
    lambda children: (
        st.lists(children, max_size=5) | st.dictionaries(st.text(max_size=12), children, max_size=5)
    ),
    max_leaves=20,
)
bodies = st.one_of(
    st.binary(max_size=2048),
    st.text(max_size=2048).map(str.encode),
    json_values.map(lambda v: json.dumps(v).encode()),
    st.integers(min_value=256 * 1024 - 8, max_value=300 * 1024).map(lambda n: b"a" * n),
)
header_values = st.text(
    alphabet=st.characters(min_codepoint=32, max_codepoint=126), max_size=80
)  # HTTP header values are latin-1; arbitrary Unicode cannot be sent at all


@pytest.fixture
def client(channel_runtime: Any) -> Any:
    return create_app(channel_runtime).test_client()


def stored(runtime: Any) -> int:
    with runtime.sessions() as session:
        return int(session.scalar(select(func.count()).select_from(InboundDelivery)) or 0)


@FUZZ
@given(
    route=st.sampled_from(ROUTES),
    body=bodies,
    content_type=st.sampled_from(
        ["application/json", "application/x-www-form-urlencoded", "text/plain", "", "multipart/x"]
    ),
    signatures=st.dictionaries(st.sampled_from(SIGNATURE_HEADERS), header_values, max_size=4),
)
def test_no_webhook_answers_500_to_anything(
    client: Any, channel_runtime: Any, route: str, body: bytes, content_type: str, signatures: Any
) -> None:
    before = stored(channel_runtime)
    headers = {"Content-Type": content_type, **signatures} if content_type else signatures
    response = client.post(route, data=body, headers=headers)
    assert response.status_code in ALLOWED, (route, response.status_code, response.text[:200])
    if response.status_code != 200:
        assert response.is_json and response.get_json().get("error")
    if route != "/chat/api/messages":
        # Nothing random carries a valid provider signature: nothing may be stored.
        assert stored(channel_runtime) == before


@FUZZ
@given(form=st.dictionaries(st.text(max_size=20), st.text(max_size=200), max_size=8))
def test_signed_twilio_forms_of_any_shape_are_stored_or_refused_cleanly(
    client: Any, form: dict[str, str]
) -> None:
    url = "https://hotline.example.vn/webhooks/twilio/sms"
    signature = fakes.twilio_signature(url, form)
    response = client.post(
        "/webhooks/twilio/sms", data=form, headers={"X-Twilio-Signature": signature}
    )
    assert response.status_code in {200, 400}, response.text[:200]


@FUZZ
@given(value=json_values)
def test_signed_zalo_and_telegram_bodies_of_any_shape(client: Any, value: Any) -> None:
    raw = json.dumps(value).encode()
    timestamp = str(value.get("timestamp", "")) if isinstance(value, dict) else ""
    zalo_sig = fakes.zalo_signature(raw, timestamp)
    response = client.post(
        "/webhooks/zalo",
        data=raw,
        headers={"Content-Type": "application/json", "X-ZEvent-Signature": zalo_sig},
    )
    assert response.status_code in {200, 400, 403}, response.text[:200]
    response = client.post(
        "/webhooks/telegram",
        data=raw,
        headers={
            "Content-Type": "application/json",
            "X-Telegram-Bot-Api-Secret-Token": fakes.TELEGRAM_SECRET,
        },
    )
    assert response.status_code in {200, 400}, response.text[:200]
    response = client.post(
        "/webhooks/messenger",
        data=raw,
        headers={
            "Content-Type": "application/json",
            "X-Hub-Signature-256": fakes.messenger_signature(raw),
        },
    )
    assert response.status_code in {200, 400}, response.text[:200]


json_objects = st.dictionaries(st.text(max_size=12), json_values, max_size=6)
# Near-valid events: the providers' envelopes around arbitrary contents, so the fuzzing reaches
# past the first key lookups.
zalo_events = st.fixed_dictionaries(
    {},
    optional={
        "event_name": st.sampled_from(["user_send_text", "user_send_image", "user_send_location"])
        | st.text(max_size=20),
        "sender": json_values | st.fixed_dictionaries({"id": json_values}),
        "message": json_values
        | st.fixed_dictionaries(
            {}, optional={"msg_id": json_values, "text": json_values, "attachments": json_values}
        ),
        "timestamp": json_values,
    },
)
messenger_events = st.fixed_dictionaries(
    {
        "object": st.just("page") | json_values,
        "entry": st.lists(
            st.fixed_dictionaries({}, optional={"messaging": st.lists(json_objects, max_size=3)})
            | json_values,
            max_size=3,
        )
        | json_values,
    }
)
telegram_updates = st.fixed_dictionaries(
    {"update_id": json_values},
    optional={
        "message": json_values
        | st.fixed_dictionaries(
            {},
            optional={
                "chat": json_values,
                "text": json_values,
                "photo": json_values,
                "location": json_values,
            },
        )
    },
)


@settings(database=None, deadline=None, max_examples=400)
@given(
    zalo_body=zalo_events | json_objects,
    messenger_body=messenger_events | json_objects,
    telegram_body=telegram_updates | json_objects,
    chat_body=json_values,
)
def test_channel_parsers_return_deliveries_or_a_webhook_error(
    zalo_body: Any, messenger_body: Any, telegram_body: Any, chat_body: Any
) -> None:
    for parse, body in (
        (zalo.parse, zalo_body),
        (messenger.parse, messenger_body),
        (telegram.parse, telegram_body),
        (webchat.parse, chat_body),
    ):
        try:
            items = parse(body)
        except WebhookError as exc:
            assert exc.status in {400, 403, 413}
            continue
        for item in items if isinstance(items, list) else [items]:
            assert item.provider_message_id and item.sender_id is not None


@settings(database=None, deadline=None, max_examples=400)
@given(form=st.dictionaries(st.text(max_size=20), st.text(max_size=100), max_size=8))
def test_twilio_parsers_return_a_delivery_or_a_webhook_error(form: dict[str, str]) -> None:
    for parse in (twilio_sms.parse_sms, twilio_sms.parse_voicemail):
        try:
            item = parse(form)
        except WebhookError:
            continue
        assert item.provider_message_id


@settings(database=None, deadline=None, max_examples=500)
@given(raw=st.text(max_size=300))
def test_phone_cccd_and_code_parsers_never_raise_anything_else(raw: str) -> None:
    try:
        assert normalize_phone(raw).startswith("+84")
    except ValidationError as exc:
        assert exc.message_vi
    try:
        parse_cccd(raw)
    except ValidationError as exc:
        assert exc.message_vi
    code = canonical_code(raw, "HUE")
    assert code is None or code.startswith("HUE-")
    masked = mask_pii(raw)
    assert isinstance(masked, str)


vietnamese_words = st.lists(
    st.sampled_from(
        [
            "không",
            "một",
            "mốt",
            "hai",
            "ba",
            "bốn",
            "tư",
            "năm",
            "lăm",
            "nhăm",
            "sáu",
            "bảy",
            "bẩy",
            "tám",
            "chín",
            "mười",
            "mươi",
            "trăm",
            "linh",
            "lẻ",
            "nghìn",
            "ngàn",
            "triệu",
            "tỷ",
            "tỉ",
            "rưỡi",
            "ngày",
            "tháng",
            "năm",
            "số",
            "phím",
            "đường",
            "kiệt",
            "hẻm",
            "à",
            "ờ",
            ",",
            ".",
            "?",
            "khong",
            "mot",
            "hai",
            "nam",
            "sau",
            "bay",
            "tam",
            "chin",
            "muoi",
            "tram",
        ]
    )
    | st.text(max_size=8),
    max_size=40,
).map(" ".join)


@settings(database=None, deadline=None, max_examples=800)
@given(text=st.one_of(vietnamese_words, st.text(max_size=200)))
def test_spoken_number_parsers_never_raise(text: str) -> None:
    found = numbers.digits(text)
    assert found is None or found.isdigit()
    value = numbers.cardinal(text)
    assert value is None or value >= 0
    numbers.spoken_date(text)
    assert isinstance(numbers.normalise(text), str)
