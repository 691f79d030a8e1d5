"""Administration pages: only admins reach them; categories, agencies, wards and users CRUD."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import select

from intake.db import unit_of_work
from intake.models import Agency, Category, User, Ward
from intake.runtime import Runtime
from intake.seed import seed_reference
from intake.services.users import authenticate
from tests.conftest import NOW
from tests.unit.console.conftest import PASSWORD, csrf_token, login

PAGES = [
    "/console/admin/",
    "/console/admin/categories",
    "/console/admin/categories/new",
    "/console/admin/agencies",
    "/console/admin/agencies/new",
    "/console/admin/wards",
    "/console/admin/wards/new",
    "/console/admin/hours",
    "/console/admin/users",
    "/console/admin/users/new",
]


@pytest.fixture
def seeded_runtime(runtime: Runtime) -> Runtime:
    with unit_of_work(runtime.sessions) as session:
        seed_reference(session, NOW)
    return runtime


@pytest.fixture
def admin(client: Any, seeded_runtime: Runtime) -> Any:
    login(client, "minh.admin")
    return client


def _post(client: Any, path: str, data: dict[str, Any] | None = None, **kw: Any) -> Any:
    return client.post(
        path,
        data={**(data or {}), "csrf_token": csrf_token(client, "/console/admin/users/new")},
        **kw,
    )


@pytest.mark.parametrize("path", PAGES)
def test_admin_pages_open_for_admins_only(app: Any, seeded_runtime: Runtime, path: str) -> None:
    assert app.test_client().get(path).status_code == 302  # anonymous: to the login page
    for username in ("lan.agent", "hoa.supervisor"):
        client = app.test_client()
        login(client, username)
        assert client.get(path).status_code == 403
    client = app.test_client()
    login(client, "minh.admin")
    response = client.get(path)
    assert response.status_code == 200, path
    assert "password_hash" not in response.get_data(as_text=True)


def test_agent_cannot_post_to_admin_actions(client: Any, seeded_runtime: Runtime) -> None:
    login(client, "lan.agent")
    token = csrf_token(client, "/console/test/page")
    response = client.post(
        "/console/admin/agencies/new",
        data={"csrf_token": token, "code": "x", "name": "X", "kind": "other"},
    )
    assert response.status_code == 403


def test_category_crud_with_sla_hours(admin: Any, seeded_runtime: Runtime) -> None:
    response = _post(
        admin,
        "/console/admin/categories/new",
        {
            "code": "animals",
            "name": "Động vật",
            "ack_hours": "2",
            "resolve_hours": "48",
            "active": "y",
            "default_agency_id": "",
        },
    )
    assert response.status_code == 302
    with unit_of_work(seeded_runtime.sessions) as session:
        category = session.scalar(select(Category).where(Category.code == "animals"))
        assert category is not None and (category.ack_hours, category.resolve_hours) == (2, 48)
        category_id = category.id
    page = admin.get("/console/admin/categories").get_data(as_text=True)
    assert "Động vật" in page
    response = _post(
        admin,
        f"/console/admin/categories/{category_id}",
        {"code": "animals", "name": "Chó mèo thả rông", "ack_hours": "1", "resolve_hours": "72"},
    )
    assert response.status_code == 302
    with unit_of_work(seeded_runtime.sessions) as session:
        category = session.get(Category, category_id)
        assert category is not None
        assert (category.name, category.resolve_hours, category.active) == (
            "Chó mèo thả rông",
            72,
            False,
        )
    assert _post(admin, f"/console/admin/categories/{category_id}/delete").status_code == 302
    with unit_of_work(seeded_runtime.sessions) as session:
        assert session.get(Category, category_id) is None


def test_validation_errors_are_vietnamese(admin: Any) -> None:
    response = _post(
        admin,
        "/console/admin/categories/new",
        {"code": "Có Dấu", "name": "", "ack_hours": "abc", "resolve_hours": "0"},
    )
    assert response.status_code == 400
    html = response.get_data(as_text=True)
    assert "Mã chỉ gồm chữ thường không dấu" in html
    assert "Vui lòng điền mục này." in html
    assert "Số giờ phải từ 1 đến" in html
    assert "Vui lòng nhập số giờ (số nguyên)." in html
    assert "Not a valid" not in html
    response = _post(
        admin,
        "/console/admin/categories/new",
        {"code": "environment", "name": "Trùng", "ack_hours": "1", "resolve_hours": "2"},
    )
    assert response.status_code == 400
    assert "Mã “environment” đã được dùng." in response.get_data(as_text=True)
    response = _post(
        admin,
        "/console/admin/categories/new",
        {"code": "x", "name": "X", "ack_hours": "50", "resolve_hours": "10"},
    )
    assert "Hạn tiếp nhận không được dài hơn hạn giải quyết." in response.get_data(as_text=True)


def test_agency_and_ward_crud(admin: Any, seeded_runtime: Runtime) -> None:
    response = _post(
        admin,
        "/console/admin/agencies/new",
        {
            "code": "cay-xanh",
            "name": "Công ty Cây xanh Huế",
            "kind": "environment",
            "phone": "0234 3822 111",
            "email": "cayxanh@hue.gov.vn",
            "active": "y",
        },
    )
    assert response.status_code == 302
    with unit_of_work(seeded_runtime.sessions) as session:
        agency = session.scalar(select(Agency).where(Agency.code == "cay-xanh"))
        assert agency is not None
        agency_id = agency.id
    bad = _post(
        admin,
        "/console/admin/agencies/new",
        {"code": "y", "name": "Y", "kind": "other", "email": "khong-hop-le"},
    )
    assert "Địa chỉ thư điện tử không hợp lệ." in bad.get_data(as_text=True)
    response = _post(
        admin,
        "/console/admin/wards/new",
        {
            "code": "phuong-moi",
            "name": "Phường Mới",
            "district": "TP Huế",
            "agency_id": str(agency_id),
        },
    )
    assert response.status_code == 302
    with unit_of_work(seeded_runtime.sessions) as session:
        ward = session.scalar(select(Ward).where(Ward.code == "phuong-moi"))
        assert ward is not None and ward.agency_id == agency_id and ward.name_folded == "phuong moi"
        ward_id = ward.id
    # The agency is in use by the ward: deleting it is refused, in Vietnamese.
    _post(admin, f"/console/admin/agencies/{agency_id}/delete")
    page = admin.get("/console/admin/agencies").get_data(as_text=True)
    assert "Không thể xóa" in page and "1 phường/xã" in page
    assert _post(admin, f"/console/admin/wards/{ward_id}/delete").status_code == 302
    assert _post(admin, f"/console/admin/agencies/{agency_id}/delete").status_code == 302
    with unit_of_work(seeded_runtime.sessions) as session:
        assert session.get(Agency, agency_id) is None and session.get(Ward, ward_id) is None


def test_opening_hours_are_shown_read_only(admin: Any) -> None:
    html = admin.get("/console/admin/hours").get_data(as_text=True)
    assert "07:00" in html and "21:00" in html and "IVR_OPEN_HOURS" in html


def test_users_create_edit_reset_and_deactivate(admin: Any, seeded_runtime: Runtime) -> None:
    with unit_of_work(seeded_runtime.sessions) as session:
        agency_id = session.scalars(select(Agency.id)).first()
    response = _post(
        admin,
        "/console/admin/users/new",
        {
            "username": "tuan.officer",
            "full_name": "Phan Tuấn",
            "role": "agency_officer",
            "agency_id": str(agency_id),
            "password": "mat-khau-moi-2026",
        },
    )
    assert response.status_code == 302
    html = admin.get("/console/admin/users").get_data(as_text=True)
    assert "tuan.officer" in html and "scrypt$" not in html
    # An agency officer without an agency is refused.
    bad = _post(
        admin,
        "/console/admin/users/new",
        {
            "username": "x.officer",
            "full_name": "X",
            "role": "agency_officer",
            "agency_id": "",
            "password": "1234567890",
        },
    )
    assert bad.status_code == 400 and "Cán bộ đơn vị cần được gắn với một đơn vị" in bad.get_data(
        as_text=True
    )
    short = _post(
        admin,
        "/console/admin/users/new",
        {"username": "y", "full_name": "Y", "role": "agent", "agency_id": "", "password": "ngan"},
    )
    assert "Mật khẩu cần ít nhất 10 ký tự." in short.get_data(as_text=True)
    with unit_of_work(seeded_runtime.sessions) as session:
        user = session.scalar(select(User).where(User.username == "tuan.officer"))
        assert user is not None
        user_id = user.id
    page = admin.get(f"/console/admin/users/{user_id}").get_data(as_text=True)
    assert "scrypt" not in page
    assert (
        _post(
            admin,
            f"/console/admin/users/{user_id}",
            {"full_name": "Phan Văn Tuấn", "role": "supervisor", "agency_id": ""},
        ).status_code
        == 302
    )
    assert (
        _post(
            admin, f"/console/admin/users/{user_id}/password", {"password": "mot-mat-khau-khac"}
        ).status_code
        == 302
    )
    with unit_of_work(seeded_runtime.sessions) as session:
        user = authenticate(session, "tuan.officer", "mot-mat-khau-khac")
        assert user is not None and user.role == "supervisor" and user.full_name == "Phan Văn Tuấn"
    assert _post(admin, f"/console/admin/users/{user_id}/active").status_code == 302
    with unit_of_work(seeded_runtime.sessions) as session:
        assert authenticate(session, "tuan.officer", "mot-mat-khau-khac") is None
    # An admin cannot lock themselves out.
    with unit_of_work(seeded_runtime.sessions) as session:
        me = session.scalar(select(User).where(User.username == "minh.admin"))
        assert me is not None
        my_id = me.id
    _post(admin, f"/console/admin/users/{my_id}/active")
    assert "Bạn không thể tự khóa tài khoản của mình." in admin.get(
        "/console/admin/users"
    ).get_data(as_text=True)
    with unit_of_work(seeded_runtime.sessions) as session:
        assert authenticate(session, "minh.admin", PASSWORD) is not None
