"""Open311 GeoReport v2: services, requests (read and post), tokens, keys and errors."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import select

from intake.db import unit_of_work
from intake.models import Case, Channel, Open311ApiKey, OutboxMessage
from intake.services import open311
from intake.services.cases import acknowledge, resolve
from tests.unit.public.conftest import (
    AGENT,
    PII_DESCRIPTION,
    add_internal_note,
    assert_no_personal_data,
    real_now,
)

API = "/open311/v2"


def finish(session, case, result):
    acknowledge(session, case, now=real_now(), actor=AGENT)
    resolve(session, case, result, now=real_now(), actor=AGENT)


def assert_error(response, status):
    assert response.status_code == status
    assert response.mimetype == "application/json"
    body = response.get_json()
    assert isinstance(body, list) and len(body) == 1
    assert body[0]["code"] == status and isinstance(body[0]["description"], str)
    return body[0]["description"]


def post(client, **fields):
    headers = fields.pop("headers", None)
    return client.post(f"{API}/requests.json", data=fields, headers=headers)


def valid(api_key, **overrides):
    fields = {
        "api_key": api_key,
        "service_code": "environment",
        "lat": "16.4637",
        "long": "107.5909",
        "address_string": "kiệt 12 Chi Lăng, phường Phú Hậu",
        "description": "Cống thoát nước bị tắc, nước tràn ra đường",
    }
    fields.update(overrides)
    return fields


# -- services -------------------------------------------------------------------------------
def test_services_are_the_categories(client):
    response = client.get(f"{API}/services.json")
    assert response.status_code == 200 and response.mimetype == "application/json"
    services = response.get_json()
    assert len(services) == 12
    env = next(s for s in services if s["service_code"] == "environment")
    assert env == {
        "service_code": "environment",
        "service_name": "Môi trường, rác thải, vệ sinh",
        "description": "Môi trường, rác thải, vệ sinh",
        "metadata": False,
        "type": "realtime",
        "keywords": "Môi trường,rác thải,vệ sinh",
        "group": "Đô thị và môi trường",
    }
    assert "max-age" in response.headers["Cache-Control"]


def test_service_definition_and_unknown_service(client):
    response = client.get(f"{API}/services/noise.json")
    assert response.status_code == 200
    assert response.get_json() == {"service_code": "noise", "attributes": []}
    assert_error(client.get(f"{API}/services/no_such.json"), 404)


def test_xml_is_refused_with_a_json_error(client):
    assert_error(client.get(f"{API}/services.xml"), 415)
    assert_error(client.get(f"{API}/requests.xml"), 415)
    assert_error(client.get(f"{API}/nothing-here.json"), 404)


# -- reading requests -----------------------------------------------------------------------
def test_single_request_masks_what_the_resident_wrote(client, open_complaint, with_case):
    at = real_now() - timedelta(hours=5)
    code = open_complaint(
        description=PII_DESCRIPTION,
        location_text="số 47 kiệt 5 Nguyễn Huệ, gọi 0905 123 456",
        latitude=16.46,
        longitude=107.59,
        now=at,
    )

    def work(session, case):
        add_internal_note(case, "Đã gọi lại cho chị Hoa 0912 345 678", at)
        acknowledge(session, case, now=at + timedelta(minutes=30), actor=AGENT)

    with_case(code, work)
    response = client.get(f"{API}/requests/{code}.json")
    assert response.status_code == 200
    assert response.headers["Cache-Control"] == "no-store"
    (item,) = response.get_json()
    assert item["service_request_id"] == code
    assert item["status"] == "open"
    assert item["status_notes"] == "Tổng đài đã xác nhận phản ánh."
    assert item["service_code"] == "environment"
    assert item["service_name"] == "Môi trường, rác thải, vệ sinh"
    assert item["agency_responsible"] == "Công ty CP Môi trường và Công trình đô thị Huế"
    assert item["lat"] == 16.46 and item["long"] == 107.59
    assert item["media_url"] is None
    assert item["requested_datetime"].endswith("+07:00")
    assert "*********234" in item["description"] and "090*****56" in item["description"]
    assert "090*****56" in item["address"]
    raw = response.get_data(as_text=True)
    for needle in ("046085001234", "0905 123 456", "0912 345 678", "Hoa", "agent.tuan"):
        assert needle not in raw


def test_single_request_by_digits_and_unknown(client, open_complaint):
    code = open_complaint()
    digits = "".join(ch for ch in code if ch.isdigit())
    assert client.get(f"{API}/requests/{digits}.json").get_json()[0]["service_request_id"] == code
    assert_error(client.get(f"{API}/requests/HUE-991231-9999.json"), 404)


def test_registrations_are_never_open311_requests(client, registration_code):
    assert_error(client.get(f"{API}/requests/{registration_code}.json"), 404)
    listed = client.get(f"{API}/requests.json").get_data(as_text=True)
    assert registration_code not in listed
    assert_no_personal_data(listed)


def test_closed_status_mapping(client, open_complaint, with_case):
    code = open_complaint()
    with_case(code, lambda s, c: finish(s, c, "Đã thu gom."))
    (item,) = client.get(f"{API}/requests/{code}.json").get_json()
    assert item["status"] == "closed"
    assert item["status_notes"] == "Đã xử lý xong: Đã thu gom."
    assert item["expected_datetime"] is None


def test_request_list_filters(client, open_complaint, with_case):
    recent_env = open_complaint()
    recent_noise = open_complaint(category_code="noise", now=real_now() - timedelta(days=2))
    old = open_complaint(now=real_now() - timedelta(days=100))
    with_case(recent_noise, lambda s, c: finish(s, c, "Đã nhắc nhở."))

    def codes(query=""):
        response = client.get(f"{API}/requests.json{query}")
        assert response.status_code == 200, response.get_data(as_text=True)
        return [item["service_request_id"] for item in response.get_json()]

    assert codes() == [recent_env, recent_noise]  # newest first, last 90 days only
    assert codes("?service_code=noise") == [recent_noise]
    assert codes("?service_code=noise,environment") == [recent_env, recent_noise]
    assert codes("?status=open") == [recent_env]
    assert codes("?status=closed") == [recent_noise]
    start = (real_now() - timedelta(days=120)).isoformat()
    end = (real_now() - timedelta(days=1)).isoformat()
    assert codes(f"?start_date={start}&end_date={end}".replace("+", "%2B")) == [recent_noise, old]
    digits = "".join(ch for ch in old if ch.isdigit())
    assert codes(f"?service_request_id={recent_env},{digits}&status=closed") == [recent_env, old]


def test_request_list_bad_filters(client):
    assert_error(client.get(f"{API}/requests.json?status=pending"), 400)
    assert_error(client.get(f"{API}/requests.json?start_date=yesterday"), 400)
    assert_error(client.get(f"{API}/requests.json?start_date=2026-12-01&end_date=2026-11-01"), 400)


# -- posting requests -----------------------------------------------------------------------
def test_post_with_a_valid_key_opens_a_case(client, api_key, runtime):
    response = post(client, **valid(api_key, phone="0905 123 456", first_name="Bình"))
    assert response.status_code == 201, response.get_data(as_text=True)
    (answer,) = response.get_json()
    code = answer["service_request_id"]
    assert code.startswith("HUE-") and answer["account_id"] is None
    assert code in answer["service_notice"] and f"/track/{code}" in answer["service_notice"]
    with unit_of_work(runtime.sessions) as session:
        case = session.scalar(select(Case).where(Case.code == code))
        assert case.channel == Channel.OPEN311
        assert case.category.code == "environment"
        assert case.ward.name == "Phú Hậu"  # found in the address
        assert case.latitude == pytest.approx(16.4637)
        assert case.reporter.phone_e164 == "+84905123456"
        # The resident hears the code by SMS, like any other channel's reporter.
        sms = session.scalars(select(OutboxMessage).where(OutboxMessage.case_id == case.id)).all()
        assert [m.channel for m in sms] == [Channel.SMS]
    (item,) = client.get(f"{API}/requests/{code}.json").get_json()
    assert item["status"] == "open" and item["service_code"] == "environment"
    assert code in [i["service_request_id"] for i in client.get(f"{API}/requests.json").get_json()]
    token = client.get(f"{API}/tokens/{answer['token']}.json")
    assert token.status_code == 200
    assert token.get_json() == [{"service_request_id": code, "token": answer["token"]}]
    assert_error(client.get(f"{API}/tokens/no-such-token.json"), 404)


def test_a_repeated_post_is_the_same_request(client, api_key, runtime):
    first = post(client, **valid(api_key))
    again = post(client, **valid(api_key))
    assert first.status_code == 201 and again.status_code == 200
    assert first.get_json()[0]["service_request_id"] == again.get_json()[0]["service_request_id"]
    other = post(client, **valid(api_key, description="Một sự việc khác hẳn"))
    assert other.get_json()[0]["service_request_id"] != first.get_json()[0]["service_request_id"]
    with unit_of_work(runtime.sessions) as session:
        assert len(session.scalars(select(Case).where(Case.channel == Channel.OPEN311)).all()) == 2


def test_idempotency_key_header(client, api_key):
    headers = {"Idempotency-Key": "partner-req-42"}
    first = post(client, **valid(api_key), headers=headers)
    # Even with different content (a retried, re-serialised body), the key decides.
    again = post(client, **valid(api_key, description="Cống tắc"), headers=headers)
    assert again.status_code == 200
    assert first.get_json()[0]["service_request_id"] == again.get_json()[0]["service_request_id"]
    assert_error(post(client, **valid(api_key), headers={"Idempotency-Key": "x" * 101}), 400)


def test_missing_unknown_and_revoked_keys_are_403(client, api_key, runtime):
    fields = valid(api_key)
    del fields["api_key"]
    assert_error(post(client, **fields), 403)
    assert_error(post(client, **valid("h311_not-a-key")), 403)
    assert_error(post(client, **valid("")), 403)
    with unit_of_work(runtime.sessions) as session:
        key = session.scalars(select(Open311ApiKey)).one()
        open311.revoke_key(session, key.id, now=real_now())
    assert_error(post(client, **valid(api_key)), 403)
    with unit_of_work(runtime.sessions) as session:
        assert session.scalars(select(Case).where(Case.channel == Channel.OPEN311)).all() == []


def test_keys_are_stored_only_as_hashes(api_key, runtime):
    with unit_of_work(runtime.sessions) as session:
        key = session.scalars(select(Open311ApiKey)).one()
        assert key.key_hash == open311.hash_key(api_key) and api_key not in key.key_hash
        assert open311.check_key(session, api_key) is key
        assert open311.check_key(session, api_key + "x") is None
    database = Path(runtime.engine.url.database)
    for path in (database, database.with_name(database.name + "-wal")):
        if path.exists():
            assert api_key.encode() not in path.read_bytes()


@pytest.mark.parametrize(
    ("overrides", "status", "mentions"),
    [
        ({"service_code": ""}, 400, "service_code"),
        ({"service_code": "no_such"}, 404, "no_such"),
        ({"lat": "abc"}, 400, "lat"),
        ({"lat": "91"}, 400, "lat"),
        ({"long": "-181"}, 400, "long"),
        ({"lat": "nan"}, 400, "lat"),
        ({"long": ""}, 400, "together"),
        ({"lat": "", "long": "", "address_string": ""}, 400, "location"),
        ({"description": ""}, 400, "description"),
        ({"description": "rác " * 1001}, 400, "description"),
        ({"phone": "12345"}, 400, "phone"),
        ({"email": "not-an-email"}, 400, "email"),
        ({"media_url": "javascript:alert(1)"}, 400, "media_url"),
    ],
)
def test_bad_posts_are_refused_with_nothing_written(
    client, api_key, runtime, overrides, status, mentions
):
    description = assert_error(post(client, **valid(api_key, **overrides)), status)
    assert mentions in description
    with unit_of_work(runtime.sessions) as session:
        assert session.scalars(select(Case).where(Case.channel == Channel.OPEN311)).all() == []


def test_address_alone_or_coordinates_alone_are_enough(client, api_key):
    assert post(client, **valid(api_key, lat="", long="")).status_code == 201
    only_coordinates = valid(api_key, address_string="", description="Đèn đường hỏng")
    assert post(client, **only_coordinates).status_code == 201


def test_json_bodies_and_huge_bodies_are_refused(client, api_key):
    assert_error(client.post(f"{API}/requests.json", json=valid(api_key)), 400)
    huge = valid(api_key, description="x" * (70 * 1024))
    assert_error(post(client, **huge), 413)
