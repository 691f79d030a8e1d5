"""The public side: `/track/<code>` for residents, and Open311 GeoReport v2 for partner systems.

Neither shows personal data: pages and JSON are built from `intake.services.public`, which
leaves out the reporter, the description (masked in Open311), the address of a registrant and
every internal event. Open311 answers JSON only; its POST is authenticated by an API key
(`hotline open311 key create`), not by a console session, so this blueprint is exempt from CSRF.
"""

from __future__ import annotations

import logging
from typing import Any

from flask import (
    Blueprint,
    Response,
    current_app,
    jsonify,
    redirect,
    render_template,
    request,
    url_for,
)
from werkzeug.exceptions import RequestEntityTooLarge

from agents_console.public import open311 as wire
from agents_console.public.open311 import Open311Error
from intake import messages_vi as msg
from intake.clock import format_local, utcnow
from intake.db import unit_of_work
from intake.models import Case
from intake.runtime import Runtime
from intake.services import open311
from intake.services.cases import get_case
from intake.services.errors import InvalidInput, NotFound
from intake.services.public import public_case
from intake.validation import mask_pii

log = logging.getLogger(__name__)

OPEN311_MAX_BYTES = 64 * 1024
API = "/open311/v2"

bp = Blueprint(
    "public",
    __name__,
    template_folder="templates",
    static_folder="static",
    static_url_path="/track/static",
)


def _runtime() -> Runtime:
    runtime: Runtime = current_app.extensions["hotline.runtime"]
    return runtime


def _is_api() -> bool:
    return request.path.startswith(f"{API}/")


@bp.before_request
def _limit_body() -> None:
    if _is_api():
        request.max_content_length = OPEN311_MAX_BYTES


@bp.after_request
def _headers(response: Response) -> Response:
    if _is_api():
        if request.method == "GET" and request.path.startswith(f"{API}/services"):
            response.headers["Cache-Control"] = "public, max-age=300"
        else:
            response.headers["Cache-Control"] = "no-store"
        if request.method == "GET":
            response.headers["Access-Control-Allow-Origin"] = "*"
    elif not request.path.startswith("/track/static/"):
        # A case's status changes, and a code in a shared link is nobody else's business.
        response.headers["Cache-Control"] = "no-store"
        response.headers["X-Robots-Tag"] = "noindex, nofollow"
        response.headers["Referrer-Policy"] = "no-referrer"
        response.headers["Content-Security-Policy"] = (
            "default-src 'none'; style-src 'self'; img-src 'self'; form-action 'self'; "
            "base-uri 'none'; frame-ancestors 'none'"
        )
    return response


# -- Tracking page --------------------------------------------------------------------------
@bp.get("/track")
def track_form() -> Any:
    """The look-up form; `?code=` goes straight to the case."""
    code = (request.args.get("code") or "").strip()
    if code:
        return redirect(url_for("public.track", code=code[:60]), 303)
    return render_template("public/track_form.html", asked=code)


@bp.get("/track/<code>")
def track(code: str) -> Any:
    """A case as the public may see it, by its code or its digits alone."""
    runtime = _runtime()
    with unit_of_work(runtime.sessions) as session:
        try:
            case = get_case(session, code, prefix=runtime.settings.case_code_prefix)
        except NotFound:
            # Echo what was typed, masked: someone may have typed a phone number here.
            page = render_template("public/not_found.html", asked=mask_pii(code.strip()[:40]))
            return page, 404
        view = public_case(case, utcnow())
    return render_template(
        "public/track.html",
        case=view,
        status_name=msg.STATUS_NAMES[view.status],
        local=format_local,
        day=lambda moment: format_local(moment)[6:],
    )


# -- Open311 GeoReport v2 -------------------------------------------------------------------
@bp.errorhandler(Open311Error)
def _open311_error(exc: Open311Error) -> Any:
    return jsonify(exc.body()), exc.status


@bp.errorhandler(RequestEntityTooLarge)
def _too_large(_exc: RequestEntityTooLarge) -> Any:
    return _open311_error(Open311Error(413, f"body larger than {OPEN311_MAX_BYTES} bytes"))


@bp.get(f"{API}/services.json")
def services() -> Any:
    with unit_of_work(_runtime().sessions) as session:
        body = [wire.service_json(category) for category in open311.list_services(session)]
    return jsonify(body)


@bp.get(f"{API}/services/<code>.json")
def service_definition(code: str) -> Any:
    with unit_of_work(_runtime().sessions) as session:
        try:
            category = open311.get_service(session, code)
        except NotFound as exc:
            raise Open311Error(404, f"unknown service_code {code!r}") from exc
        return jsonify(wire.definition_json(category))


def _requests_json(cases: list[Case]) -> Any:
    now = utcnow()
    return jsonify([wire.request_json(case, public_case(case, now)) for case in cases])


@bp.get(f"{API}/requests.json")
def requests_list() -> Any:
    runtime = _runtime()
    query = wire.parse_query(request.args)
    with unit_of_work(runtime.sessions) as session:
        cases = open311.find_requests(
            session, query, now=utcnow(), prefix=runtime.settings.case_code_prefix
        )
        return _requests_json(cases)


@bp.get(f"{API}/requests/<code>.json")
def request_detail(code: str) -> Any:
    runtime = _runtime()
    with unit_of_work(runtime.sessions) as session:
        try:
            case = open311.find_request(session, code, prefix=runtime.settings.case_code_prefix)
        except NotFound as exc:
            raise Open311Error(404, f"no service request {code[:40]!r}") from exc
        return _requests_json([case])


@bp.get(f"{API}/tokens/<token>.json")
def token_detail(token: str) -> Any:
    with unit_of_work(_runtime().sessions) as session:
        try:
            found = open311.find_token(session, token)
        except NotFound as exc:
            raise Open311Error(404, "unknown token") from exc
        return jsonify([{"service_request_id": found.case.code, "token": found.token}])


@bp.post(f"{API}/requests.json")
def request_create() -> Any:
    """Open a complaint for a partner system (form-encoded, as GeoReport v2 says)."""
    if request.is_json:
        raise Open311Error(400, "send application/x-www-form-urlencoded, as GeoReport v2 says")
    runtime = _runtime()
    form = request.form
    with unit_of_work(runtime.sessions) as session:
        key = open311.check_key(session, form.get("api_key"))
        if key is None:
            raise Open311Error(403, "api_key is missing, unknown or revoked")
        data = wire.parse_post(form, request.headers.get("Idempotency-Key"))
        try:
            found, created = open311.submit_request(
                session, key, data, now=utcnow(), settings=runtime.case_settings
            )
        except NotFound as exc:
            raise Open311Error(404, f"unknown service_code {data.service_code!r}") from exc
        except InvalidInput as exc:
            raise Open311Error(400, exc.message_vi) from exc
        code, token, key_name = found.case.code, found.token, key.name
    log.info("open311 request %s from %s: %s", code, key_name, "created" if created else "repeat")
    notice = msg.OPEN311_NOTICE.format(code=code, track_url=runtime.case_settings.track_url(code))
    body = [
        {"service_request_id": code, "token": token, "service_notice": notice, "account_id": None}
    ]
    return jsonify(body), 201 if created else 200


@bp.route(f"{API}/<path:anything>", methods=["GET", "POST"])
def unknown(anything: str) -> Any:
    if anything.endswith(".xml"):
        raise Open311Error(415, "only the JSON format is offered: use the .json URLs")
    raise Open311Error(404, "no such Open311 resource")
