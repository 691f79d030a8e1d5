"""/track/<code>: what a resident sees of a case, and never anyone's personal data."""

from __future__ import annotations

import re
from datetime import timedelta

from intake.models import CaseStatus
from intake.services.cases import acknowledge, change_status, resolve, start_work
from tests.unit.public.conftest import (
    AGENT,
    INTERNAL_NOTE,
    PII_DESCRIPTION,
    add_internal_note,
    assert_no_personal_data,
    real_now,
)


def page_text(response):
    return response.get_data(as_text=True)


def test_track_by_code_shows_the_public_view(client, open_complaint):
    code = open_complaint()
    response = client.get(f"/track/{code}")
    assert response.status_code == 200
    html = page_text(response)
    assert code in html
    assert "Môi trường, rác thải, vệ sinh" in html  # the category
    assert "Phú Hội" in html  # the ward
    assert "Mới tiếp nhận" in html  # the status, in Vietnamese
    assert "Hệ thống đã tiếp nhận phản ánh." in html  # a public event
    assert "Đang chờ tổng đài xác nhận" in html  # the acknowledgement clock
    assert real_now().strftime("%d/%m/%Y") in html or "/" in html
    assert response.headers["Cache-Control"] == "no-store"
    assert "noindex" in response.headers["X-Robots-Tag"]
    assert response.mimetype == "text/html"
    assert 'lang="vi"' in html


def test_track_by_digits_and_other_spellings(client, open_complaint):
    code = open_complaint()
    digits = "".join(ch for ch in code if ch.isdigit())
    for spelling in (digits, code.lower(), code.replace("-", " ")):
        response = client.get(f"/track/{spelling}")
        assert response.status_code == 200, spelling
        assert code in page_text(response)


def test_unknown_code_is_a_vietnamese_404_with_a_form(client):
    response = client.get("/track/HUE-991231-9999")
    assert response.status_code == 404
    html = page_text(response)
    assert "Không tìm thấy phản ánh" in html
    assert 'name="code"' in html and 'action="/track"' in html
    assert response.headers["Cache-Control"] == "no-store"
    nonsense = client.get("/track/xin-chao")
    assert nonsense.status_code == 404


def test_a_phone_number_typed_as_a_code_is_not_echoed(client):
    response = client.get("/track/0905123456")
    assert response.status_code == 404
    assert "0905123456" not in page_text(response)


def test_lookup_form_and_its_redirect(client, open_complaint):
    form = client.get("/track")
    assert form.status_code == 200
    assert "Tra cứu phản ánh" in page_text(form) and 'name="code"' in page_text(form)
    code = open_complaint()
    digits = "".join(ch for ch in code if ch.isdigit())
    response = client.get(f"/track?code={digits}")
    assert response.status_code == 303
    assert response.headers["Location"].endswith(f"/track/{digits}")
    assert client.get(response.headers["Location"]).status_code == 200


def test_css_is_served_locally(client):
    html = page_text(client.get("/track"))
    href = re.search(r'href="([^"]+\.css)"', html).group(1)
    assert href.startswith("/track/static/")
    with client.get(href) as css:
        assert css.status_code == 200 and css.mimetype == "text/css"
    assert "http://" not in html and "https://" not in html  # no CDN, nothing external


def test_no_personal_data_on_the_page(client, open_complaint, with_case):
    at = real_now() - timedelta(hours=3)
    code = open_complaint(
        description=PII_DESCRIPTION, location_text="số 47 kiệt 5 Nguyễn Huệ", now=at
    )

    def work(session, case):
        add_internal_note(case, INTERNAL_NOTE + " 0912 345 678", at + timedelta(minutes=5))
        acknowledge(session, case, now=at + timedelta(minutes=10), actor=AGENT)
        start_work(session, case, now=at + timedelta(minutes=20), actor=AGENT)
        # An agent carelessly typed a phone number into the published result: it is masked.
        resolve(
            session,
            case,
            "Đã thu gom rác, liên hệ 0905 123 456 nếu tái diễn.",
            now=at + timedelta(hours=1),
            actor=AGENT,
        )

    with_case(code, work)
    response = client.get(f"/track/{code}")
    html = page_text(response)
    assert response.status_code == 200
    assert "Đã thu gom rác" in html  # the published result
    assert "090*****56" in html  # ... with the phone number masked
    assert "Đã xử lý xong đúng hạn" in html
    assert_no_personal_data(html)
    assert "Rác đổ trộm" not in html  # the description is not published at all


def test_registration_shows_nothing_personal(client, registration_code):
    response = client.get(f"/track/{registration_code}")
    html = page_text(response)
    assert response.status_code == 200
    assert "Hồ sơ đăng ký hỗ trợ" in html
    assert registration_code in html
    assert_no_personal_data(html)
    for needle in ("Phú Hậu", "Mất việc làm", "1985", "04/03"):
        assert needle not in html  # not even the ward they live in, nor the reason or birth date


def test_overdue_clocks_are_said_plainly(client, open_complaint, with_case):
    late = open_complaint(now=real_now() - timedelta(hours=3))
    html = page_text(client.get(f"/track/{late}"))
    assert "Đã quá thời hạn xác nhận" in html and "sla--ack_overdue" in html

    very_late = open_complaint(now=real_now() - timedelta(days=8))
    with_case(very_late, lambda s, c: acknowledge(s, c, now=c.created_at, actor=AGENT))
    html = page_text(client.get(f"/track/{very_late}"))
    assert "Đã quá hạn xử lý" in html

    fresh = open_complaint()
    with_case(fresh, lambda s, c: acknowledge(s, c, now=real_now(), actor=AGENT))
    html = page_text(client.get(f"/track/{fresh}"))
    assert "Trong thời hạn xử lý" in html
    assert "Tổng đài đã xác nhận phản ánh." in html


def test_rejected_case_has_no_clock(client, open_complaint, with_case):
    code = open_complaint()
    with_case(
        code,
        lambda s, c: change_status(
            s, c, CaseStatus.REJECTED, now=real_now(), actor=AGENT, reason="Thuộc tỉnh khác"
        ),
    )
    html = page_text(client.get(f"/track/{code}"))
    assert "Không thuộc phạm vi xử lý" in html
    assert "đã kết thúc" in html
