"""The registrations pages: list, filters, detail, verifiers' decisions and the exports."""

from __future__ import annotations

import io
from dataclasses import dataclass
from datetime import date
from typing import Any

import pytest
from openpyxl import load_workbook
from sqlalchemy import select

from agents_console.registrations import views as registration_views
from intake.db import unit_of_work
from intake.models import (
    Case,
    CaseEvent,
    Channel,
    Registration,
    RegistrationVerification,
    Role,
    User,
    VerificationStatus,
    Verifier,
    Ward,
)
from intake.runtime import Runtime
from intake.seed import seed_demo
from intake.services.cases import CITIZEN
from intake.services.registrations import MemberInput, RegistrationInput, register
from intake.services.users import create_user
from tests.conftest import NOW
from tests.unit.console.conftest import PASSWORD, csrf_token, login

LIST = "/console/registrations"
OFFICERS = {
    "mttq.officer": ("Phan Văn Mặt", "front"),
    "ubnd.phuhoi": ("Hồ Thị Phú", "ubnd-phu-hoi"),
    "police.officer": ("Võ Văn An", "police"),
}
# Birth years match digits 5-6; digit 4 gives century and sex (0 male 1900s, 1 female 1900s,
# 2 male 2000s).
CCCD_AN = "046085001234"
CCCD_BINH = "046190004567"
CCCD_CHI = "046088007890"
CCCD_CHILD = "046212003456"
PHONE = "0905123456"


@dataclass
class Data:
    an: int  # Phú Hội, first with the phone
    binh: int  # Phú Hội, same phone: duplicate_phone; a child as member
    chi: int  # An Cựu, lists the same child: duplicate_household
    codes: dict[int, str]
    phu_hoi: int
    an_cuu: int


def _register(session: Any, name: str, cccd: str, born: date, phone: str, ward: str,
              members: list[MemberInput] | None = None) -> Registration:  # fmt: skip
    result = register(
        session,
        RegistrationInput(
            programme_code="covid-2021",
            full_name=name,
            cccd=cccd,
            date_of_birth=born,
            phone=phone,
            address=f"12 kiệt 4 đường Nguyễn Huệ, {ward}",
            channel=Channel.WEB,
            ward=ward,
            reason="Mất việc do dịch",
            members=members or [],
        ),
        now=NOW,
        actor=CITIZEN,
        notify=False,
    )
    return result.registration


@pytest.fixture
def data(runtime: Runtime) -> Data:
    with unit_of_work(runtime.sessions) as session:
        seed_demo(session, NOW)
        for username, (full_name, agency) in OFFICERS.items():
            create_user(
                session,
                username=username,
                full_name=full_name,
                role=Role.AGENCY_OFFICER,
                password=PASSWORD,
                now=NOW,
                agency_code=agency,
            )
        child = MemberInput("Trần Bé Con", "con", CCCD_CHILD, date(2012, 5, 1))
        an = _register(session, "Nguyễn Văn An", CCCD_AN, date(1985, 3, 1), PHONE, "Phú Hội")
        binh = _register(
            session, "Lê Thị Bình", CCCD_BINH, date(1990, 7, 9), PHONE, "Phú Hội", [child]
        )
        chi = _register(
            session, "Trần Văn Chí", CCCD_CHI, date(1988, 1, 2), "0914000111", "An Cựu", [child]
        )
        session.flush()
        assert binh.duplicate_phone and not an.duplicate_phone
        assert chi.duplicate_household and not chi.duplicate_phone
        codes = {
            r.id: session.get(Case, r.case_id).code  # type: ignore[union-attr]
            for r in (an, binh, chi)
        }
        wards = {w.name: w.id for w in session.scalars(select(Ward))}
        return Data(an.id, binh.id, chi.id, codes, wards["Phú Hội"], wards["An Cựu"])


def html_of(response: Any) -> str:
    return str(response.get_data(as_text=True))


def post_decision(client: Any, data: Data, reg_id: int, **form: str) -> Any:
    token = (
        csrf_token(client, f"{LIST}/{reg_id}")
        if client.get(f"{LIST}/{reg_id}").status_code == 200
        else csrf_token(client, "/console/test/page")
    )
    return client.post(f"{LIST}/{reg_id}/decision", data={"csrf_token": token, **form})


# --- access -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "path", [LIST, f"{LIST}/1", f"{LIST}/export.csv?verifier=front", f"{LIST}/export.xlsx"]
)
def test_anonymous_visitors_are_sent_to_login(client: Any, data: Data, path: str) -> None:
    response = client.get(path)
    assert response.status_code == 302
    assert response.headers["Location"].startswith("/login?next=")


def test_anonymous_post_is_sent_to_login(client: Any, data: Data) -> None:
    token = csrf_token(client)
    response = client.post(
        f"{LIST}/{data.an}/decision", data={"csrf_token": token, "verifier": "front"}
    )
    assert response.status_code == 302
    assert response.headers["Location"].startswith("/login")


def test_a_post_without_csrf_token_is_refused(client: Any, data: Data) -> None:
    login(client, "hoa.supervisor")
    response = client.post(
        f"{LIST}/{data.an}/decision", data={"verifier": "front", "status": "approved"}
    )
    assert response.status_code == 400
    with_status = _verification(client, data.an, Verifier.FRONT)
    assert with_status == VerificationStatus.PENDING


def test_an_officer_of_an_agency_that_verifies_nothing_is_refused(client: Any, data: Data) -> None:
    login(client, "police.officer")
    assert client.get(LIST).status_code == 403
    assert client.get(f"{LIST}/{data.an}").status_code == 403
    assert client.get(f"{LIST}/export.csv?verifier=front").status_code == 403


# --- list ----------------------------------------------------------------------------------


def test_agent_sees_the_list_masked_with_duplicate_flags(client: Any, data: Data) -> None:
    login(client, "lan.agent")
    html = html_of(client.get(LIST))
    assert "Nguyễn Văn An" in html and "Lê Thị Bình" in html and "Trần Văn Chí" in html
    assert CCCD_AN not in html and "*********234" in html
    assert "+84905123456" not in html and "+84*******56" in html
    assert "Trùng SĐT" in html and "Trùng hộ" in html
    assert data.codes[data.an] in html
    assert 'name="cccd"' not in html  # no CCCD search for masked roles


def test_supervisor_sees_personal_data_in_full(client: Any, data: Data) -> None:
    login(client, "hoa.supervisor")
    html = html_of(client.get(LIST))
    assert CCCD_AN in html and "+84905123456" in html
    assert 'name="cccd"' in html


def names_in(client: Any, query: str) -> set[str]:
    html = html_of(client.get(f"{LIST}?{query}"))
    return {n for n in ("Nguyễn Văn An", "Lê Thị Bình", "Trần Văn Chí") if n in html}


def test_filters(client: Any, data: Data) -> None:
    login(client, "hoa.supervisor")
    everyone = {"Nguyễn Văn An", "Lê Thị Bình", "Trần Văn Chí"}
    assert names_in(client, "") == everyone
    assert names_in(client, f"ward={data.an_cuu}") == {"Trần Văn Chí"}
    assert names_in(client, "dup_phone=y") == {"Lê Thị Bình"}
    assert names_in(client, "dup_household=y") == {"Trần Văn Chí"}
    assert names_in(client, "q=b%C3%ACnh") == {"Lê Thị Bình"}  # "bình", any case
    assert names_in(client, f"q={data.codes[data.chi]}") == {"Trần Văn Chí"}
    assert names_in(client, f"cccd={CCCD_AN}") == {"Nguyễn Văn An"}
    assert names_in(client, f"cccd={CCCD_CHILD}") == {"Lê Thị Bình", "Trần Văn Chí"}
    assert names_in(client, "programme=1") == everyone
    assert names_in(client, "programme=999") == set()
    assert names_in(client, "ward=abc") == everyone  # a bad value is ignored, not an error
    _set_status(client, data.binh, Verifier.LABOUR, VerificationStatus.REJECTED)
    assert names_in(client, "verifier=labour&status=rejected") == {"Lê Thị Bình"}
    assert names_in(client, "verifier=front&status=rejected") == set()
    assert names_in(client, "status=pending") == everyone


def test_agent_cannot_search_by_cccd(client: Any, data: Data) -> None:
    login(client, "lan.agent")
    # The parameter is ignored: the answer must not tell whose number it is.
    assert len(names_in(client, f"cccd={CCCD_AN}")) == 3


def test_keyset_pages(client: Any, data: Data, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(registration_views, "PAGE_SIZE", 2)
    login(client, "hoa.supervisor")
    html = html_of(client.get(LIST))
    assert "Trần Văn Chí" in html and "Lê Thị Bình" in html and "Nguyễn Văn An" not in html
    assert f"before={data.binh}" in html
    second = html_of(client.get(f"{LIST}?before={data.binh}"))
    assert "Nguyễn Văn An" in second and "Trần Văn Chí" not in second
    assert 'rel="next"' not in second


def test_ward_officer_sees_only_its_wards(client: Any, data: Data) -> None:
    login(client, "ubnd.phuhoi")
    assert names_in(client, "") == {"Nguyễn Văn An", "Lê Thị Bình"}
    assert client.get(f"{LIST}/{data.chi}").status_code == 404
    assert CCCD_AN not in html_of(client.get(LIST))


# --- detail and decisions ------------------------------------------------------------------


def _verification(client: Any, reg_id: int, verifier: Verifier) -> VerificationStatus:
    runtime: Runtime = client.application.extensions["hotline.runtime"]
    with unit_of_work(runtime.sessions) as session:
        return session.scalars(
            select(RegistrationVerification.status).where(
                RegistrationVerification.registration_id == reg_id,
                RegistrationVerification.verifier == verifier,
            )
        ).one()


def _set_status(client: Any, reg_id: int, verifier: Verifier, status: VerificationStatus) -> None:
    runtime: Runtime = client.application.extensions["hotline.runtime"]
    with unit_of_work(runtime.sessions) as session:
        session.scalars(
            select(RegistrationVerification).where(
                RegistrationVerification.registration_id == reg_id,
                RegistrationVerification.verifier == verifier,
            )
        ).one().status = status


def test_detail_for_an_agent_is_masked_and_read_only(client: Any, data: Data) -> None:
    login(client, "lan.agent")
    html = html_of(client.get(f"{LIST}/{data.binh}"))
    assert "Lê Thị Bình" in html and "Trần Bé Con" in html
    assert CCCD_BINH not in html and CCCD_CHILD not in html and "*********456" in html
    assert "Nguyễn Huệ" not in html  # the address is personal data
    assert "Trùng số điện thoại với hồ sơ khác" in html
    assert "Chờ xác minh" in html
    assert "Lưu quyết định" not in html


def test_detail_for_a_supervisor_has_every_verifier_form(client: Any, data: Data) -> None:
    login(client, "hoa.supervisor")
    html = html_of(client.get(f"{LIST}/{data.binh}"))
    assert CCCD_BINH in html and CCCD_CHILD in html and "Nguyễn Huệ" in html
    assert html.count("Lưu quyết định") == 3


def test_detail_of_a_missing_registration_is_404(client: Any, data: Data) -> None:
    login(client, "hoa.supervisor")
    assert client.get(f"{LIST}/9999").status_code == 404


def test_supervisor_records_a_decision(client: Any, data: Data) -> None:
    login(client, "hoa.supervisor")
    response = post_decision(
        client, data, data.an, verifier="front", status="approved", note="Đủ điều kiện"
    )
    assert response.status_code == 302
    assert _verification(client, data.an, Verifier.FRONT) == VerificationStatus.APPROVED
    html = html_of(client.get(f"{LIST}/{data.an}"))
    assert "Đồng ý" in html and "Đủ điều kiện" in html and "Lê Thị Hoa" in html
    runtime: Runtime = client.application.extensions["hotline.runtime"]
    with unit_of_work(runtime.sessions) as session:
        verification = session.scalars(
            select(RegistrationVerification).where(
                RegistrationVerification.registration_id == data.an,
                RegistrationVerification.verifier == Verifier.FRONT,
            )
        ).one()
        supervisor = session.scalars(select(User).where(User.username == "hoa.supervisor")).one()
        assert verification.decided_by_user_id == supervisor.id
        assert verification.decided_at is not None
        event = session.scalars(select(CaseEvent).where(CaseEvent.action == "verification")).one()
        assert event.data == {"verifier": "front", "from": "pending", "to": "approved"}
        assert event.public is False


def test_rejecting_needs_a_note(client: Any, data: Data) -> None:
    login(client, "minh.admin")
    response = post_decision(client, data, data.an, verifier="labour", status="rejected")
    assert response.status_code == 422
    assert "Vui lòng ghi lý do" in html_of(response)
    assert _verification(client, data.an, Verifier.LABOUR) == VerificationStatus.PENDING
    response = post_decision(client, data, data.an, verifier="labour", status="pending")
    assert response.status_code == 422  # pending is not a decision
    response = post_decision(
        client, data, data.an, verifier="labour", status="needs_info", note="Thiếu giấy tờ"
    )
    assert response.status_code == 302
    assert _verification(client, data.an, Verifier.LABOUR) == VerificationStatus.NEEDS_INFO


def test_agent_cannot_decide(client: Any, data: Data) -> None:
    login(client, "lan.agent")
    response = post_decision(client, data, data.an, verifier="front", status="approved")
    assert response.status_code == 403
    assert _verification(client, data.an, Verifier.FRONT) == VerificationStatus.PENDING


def test_front_officer_decides_only_for_the_front(client: Any, data: Data) -> None:
    login(client, "mttq.officer")
    html = html_of(client.get(f"{LIST}/{data.chi}"))
    assert html.count("Lưu quyết định") == 1 and CCCD_CHI not in html
    refused = post_decision(client, data, data.chi, verifier="labour", status="approved")
    assert refused.status_code == 403
    assert _verification(client, data.chi, Verifier.LABOUR) == VerificationStatus.PENDING
    done = post_decision(client, data, data.chi, verifier="front", status="approved")
    assert done.status_code == 302
    assert _verification(client, data.chi, Verifier.FRONT) == VerificationStatus.APPROVED


def test_ward_officer_decides_for_its_own_ward_only(client: Any, data: Data) -> None:
    login(client, "ubnd.phuhoi")
    assert post_decision(client, data, data.an, verifier="ward", status="approved").status_code == (
        302
    )
    assert _verification(client, data.an, Verifier.WARD) == VerificationStatus.APPROVED
    other_ward = post_decision(client, data, data.chi, verifier="ward", status="approved")
    assert other_ward.status_code == 404
    assert _verification(client, data.chi, Verifier.WARD) == VerificationStatus.PENDING
    front = post_decision(client, data, data.an, verifier="front", status="approved")
    assert front.status_code == 403


# --- exports -------------------------------------------------------------------------------


def csv_rows(response: Any) -> list[list[str]]:
    import csv

    body = response.get_data()
    assert body.startswith(b"\xef\xbb\xbf")  # UTF-8 BOM for Excel
    return list(csv.reader(io.StringIO(body.decode("utf-8-sig"))))


def test_csv_export_for_a_supervisor_has_personal_data(client: Any, data: Data) -> None:
    login(client, "hoa.supervisor")
    post_decision(client, data, data.an, verifier="front", status="approved", note="OK")
    response = client.get(f"{LIST}/export.csv?verifier=front&ward={data.phu_hoi}")
    assert response.status_code == 200
    assert response.headers["Content-Type"] == "text/csv; charset=utf-8"
    assert 'filename="dang-ky-front-phu-hoi-' in response.headers["Content-Disposition"]
    rows = csv_rows(response)
    header, body = rows[0], rows[1:]
    assert header[:4] == ["Mã hồ sơ", "Chương trình", "Họ và tên", "Số CCCD"]
    assert [r[2] for r in body] == ["Nguyễn Văn An", "Lê Thị Bình"]
    an, binh = body
    assert an[0] == data.codes[data.an] and an[3] == CCCD_AN and an[6] == "+84905123456"
    assert an[4] == "1985-03-01" and "Nguyễn Huệ" in an[7] and an[8] == "Phú Hội"
    assert an[13:16] == ["front", "approved", "OK"]
    assert binh[9] == "2" and CCCD_CHILD in binh[10] and binh[11] == "có" and binh[12] == "không"
    assert binh[14] == "pending"


def test_csv_export_for_an_agent_is_masked(client: Any, data: Data) -> None:
    login(client, "lan.agent")
    rows = csv_rows(client.get(f"{LIST}/export.csv?verifier=labour"))
    assert len(rows) == 4
    text = "\n".join(",".join(r) for r in rows)
    for secret in (CCCD_AN, CCCD_BINH, CCCD_CHI, CCCD_CHILD, "+84905123456", "Nguyễn Huệ"):
        assert secret not in text
    assert rows[1][3] == "*********234" and rows[1][4] == "1985" and rows[1][7] == "***"


def test_export_scope_of_agency_officers(client: Any, data: Data) -> None:
    login(client, "mttq.officer")
    assert client.get(f"{LIST}/export.csv?verifier=labour").status_code == 403
    assert len(csv_rows(client.get(f"{LIST}/export.csv?verifier=front"))) == 4
    client.post("/logout", data={"csrf_token": csrf_token(client, "/console/test/page")})
    login(client, "ubnd.phuhoi")
    rows = csv_rows(client.get(f"{LIST}/export.csv?verifier=ward"))
    assert [r[2] for r in rows[1:]] == ["Nguyễn Văn An", "Lê Thị Bình"]
    assert client.get(f"{LIST}/export.csv?verifier=ward&ward={data.an_cuu}").status_code == 403
    assert client.get(f"{LIST}/export.xlsx?verifier=front").status_code == 403


def test_export_parameters_are_checked(client: Any, data: Data) -> None:
    login(client, "hoa.supervisor")
    assert client.get(f"{LIST}/export.csv").status_code == 400
    assert client.get(f"{LIST}/export.csv?verifier=police").status_code == 400
    assert client.get(f"{LIST}/export.csv?verifier=front&ward=x").status_code == 400
    assert client.get(f"{LIST}/export.csv?verifier=front&ward=9999").status_code == 404


def test_xlsx_export(client: Any, data: Data) -> None:
    login(client, "hoa.supervisor")
    response = client.get(f"{LIST}/export.xlsx?verifier=ward&ward={data.an_cuu}")
    assert response.status_code == 200
    assert response.mimetype.endswith("spreadsheetml.sheet")
    workbook = load_workbook(io.BytesIO(response.get_data()), read_only=True)
    sheet = workbook["ward"]
    rows = [list(r) for r in sheet.iter_rows(values_only=True)]
    workbook.close()
    assert rows[0][2] == "Họ và tên"
    assert len(rows) == 2
    assert rows[1][2] == "Trần Văn Chí" and rows[1][3] == CCCD_CHI and rows[1][8] == "An Cựu"
    assert rows[1][9] == 2 and rows[1][12] == "có" and rows[1][14] == "pending"


def test_xlsx_export_for_an_agent_is_masked(client: Any, data: Data) -> None:
    login(client, "lan.agent")
    response = client.get(f"{LIST}/export.xlsx?verifier=front")
    workbook = load_workbook(io.BytesIO(response.get_data()), read_only=True)
    values = [v for row in workbook.active.iter_rows(values_only=True) for v in row]  # type: ignore[union-attr]
    workbook.close()
    assert CCCD_AN not in values and "+84905123456" not in values
    assert "*********234" in values


def test_list_links_to_the_exports_in_scope(client: Any, data: Data) -> None:
    login(client, "mttq.officer")
    html = html_of(client.get(f"{LIST}?ward={data.phu_hoi}"))
    assert f"export.csv?verifier=front&amp;ward={data.phu_hoi}" in html
    assert "verifier=labour" not in html


def test_exports_read_in_batches(client: Any, data: Data, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(registration_views, "EXPORT_BATCH", 2)
    monkeypatch.setattr("agents_console.registrations.export.CSV_BATCH_ROWS", 1)
    login(client, "hoa.supervisor")
    response = client.get(f"{LIST}/export.csv?verifier=front")
    assert response.is_streamed
    rows = csv_rows(response)
    assert [r[2] for r in rows[1:]] == ["Nguyễn Văn An", "Lê Thị Bình", "Trần Văn Chí"]
    # The database is free while the response is still open: another request can write.
    done = post_decision(client, data, data.an, verifier="front", status="approved")
    assert done.status_code == 302


def test_pages_carry_no_inline_script_or_style(client: Any, data: Data) -> None:
    login(client, "hoa.supervisor")
    for path in (LIST, f"{LIST}/{data.binh}"):
        html = html_of(client.get(path))
        assert "<script" not in html and "style=" not in html and "<style" not in html
        assert "/console/registrations/static/registrations.css" in html
    for css in ("registrations/static/registrations.css", "dashboards/static/dashboards.css"):
        with client.get(f"/console/{css}") as response:
            assert response.status_code == 200
