"""The registrations pages: list with filters, one registration, decisions, exports."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from typing import Any

from flask import (
    Blueprint,
    Response,
    abort,
    current_app,
    flash,
    redirect,
    render_template,
    request,
    stream_with_context,
    url_for,
)
from flask.typing import ResponseReturnValue
from flask_babel import gettext as _
from sqlalchemy import select
from wtforms import SelectChoice

from agents_console.auth.access import current_user, login_required
from agents_console.registrations.export import Masker, csv_chunks, xlsx_file
from agents_console.registrations.forms import (
    STATUS_LABELS,
    VERIFIER_LABELS,
    DecisionForm,
    FilterForm,
)
from agents_console.web.db import db
from intake.clock import format_local, local_date, utcnow
from intake.db import unit_of_work
from intake.models import Case, Programme, User, VerificationStatus, Verifier, Ward
from intake.runtime import Runtime
from intake.services.errors import InvalidInput, NotFound
from intake.services.verification import (
    ExportRow,
    NotAllowed,
    RegistrationFilter,
    Scope,
    decide,
    export_batch,
    get_registration,
    registration_page,
    scope_for,
)

log = logging.getLogger(__name__)

bp = Blueprint(
    "registrations",
    __name__,
    url_prefix="/console/registrations",
    template_folder="templates",
    static_folder="static",
)
PAGE_SIZE = 50
EXPORT_BATCH = 1000
XLSX_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


def _user_and_scope() -> tuple[User, Scope]:
    user = current_user()
    assert user is not None  # login_required ran first
    scope = scope_for(db(), user)
    if not scope.may_view:
        abort(403)
    return user, scope


def _wards(scope: Scope) -> list[Ward]:
    stmt = select(Ward).order_by(Ward.name)
    if scope.ward_ids is not None:
        stmt = stmt.where(Ward.id.in_(sorted(scope.ward_ids)))
    return list(db().scalars(stmt))


def _filters(form: FilterForm, user: User) -> RegistrationFilter:
    form.validate()
    value = {name: (None if field.errors else field.data) for name, field in form._fields.items()}
    verifier = value["verifier"] if value["verifier"] in set(Verifier) else None
    status = value["status"] if value["status"] in set(VerificationStatus) else None
    return RegistrationFilter(
        programme_id=value["programme"],
        ward_id=value["ward"],
        verifier=Verifier(verifier) if verifier else None,
        status=VerificationStatus(status) if status else None,
        duplicate_phone=bool(value["dup_phone"]),
        duplicate_household=bool(value["dup_household"]),
        text=(value["q"] or "").strip() or None,
        # Searching by CCCD would tell a masked role whose number it is: only for full access.
        cccd=((value["cccd"] or "").strip() or None) if user.sees_personal_data else None,
    )


def _page_url(before: int) -> str:
    args: dict[str, Any] = request.args.to_dict(flat=False)
    args["before"] = [str(before)]
    return url_for("registrations.index", **args)


@bp.get("")
@login_required
def index() -> ResponseReturnValue:
    user, scope = _user_and_scope()
    session = db()
    form = FilterForm(request.args)
    programmes = list(session.scalars(select(Programme).order_by(Programme.id)))
    wards = _wards(scope)
    everything = SelectChoice("", _("Tất cả"))
    form.programme.choices = [everything, *(SelectChoice(p.id, p.name) for p in programmes)]
    form.ward.choices = [everything, *(SelectChoice(w.id, w.name) for w in wards)]
    filters = _filters(form, user)
    before = form.before.data if not form.before.errors else None
    rows, next_before = registration_page(session, scope, filters, before_id=before, size=PAGE_SIZE)
    case_ids = [r.case_id for r in rows if r.case_id is not None]
    codes = dict(
        session.execute(select(Case.id, Case.code).where(Case.id.in_(case_ids))).tuples().all()
    )
    return render_template(
        "registrations/list.html",
        form=form,
        rows=rows,
        codes=codes,
        programme_names={p.id: p.code for p in programmes},
        next_url=_page_url(next_before) if next_before else None,
        first_url=url_for("registrations.index", **_without_before()) if before else None,
        scope=scope,
        mask=Masker(user.sees_personal_data),
        export_ward=filters.ward_id,
        export_programme=filters.programme_id,
        **_labels(),
    )


def _without_before() -> dict[str, Any]:
    args = request.args.to_dict(flat=False)
    args.pop("before", None)
    return args


def _labels() -> dict[str, Any]:
    return {
        "verifiers": list(Verifier),
        "verifier_labels": VERIFIER_LABELS,
        "status_labels": STATUS_LABELS,
        "local_time": format_local,
    }


def _detail(registration_id: int, form: DecisionForm | None = None) -> ResponseReturnValue:
    user, scope = _user_and_scope()
    session = db()
    try:
        registration = get_registration(session, scope, registration_id)
    except NotFound:
        abort(404)
    case = session.get(Case, registration.case_id) if registration.case_id else None
    programme = session.get(Programme, registration.programme_id)
    deciders = {
        v.decided_by_user_id: session.get(User, v.decided_by_user_id)
        for v in registration.verifications
        if v.decided_by_user_id is not None
    }
    decidable = [v for v in Verifier if scope.may_decide(registration, v)]
    forms = {}
    for verifier in decidable:
        if form is not None and form.verifier.data == verifier.value:
            forms[verifier] = form
        else:
            forms[verifier] = DecisionForm(verifier=verifier.value, formdata=None)
    status = 200 if form is None else 422
    return render_template(
        "registrations/detail.html",
        registration=registration,
        case=case,
        programme=programme,
        verifications={v.verifier: v for v in registration.verifications},
        deciders=deciders,
        forms=forms,
        mask=Masker(user.sees_personal_data),
        **_labels(),
    ), status


@bp.get("/<int:registration_id>")
@login_required
def detail(registration_id: int) -> ResponseReturnValue:
    return _detail(registration_id)


@bp.post("/<int:registration_id>/decision")
@login_required
def decision(registration_id: int) -> ResponseReturnValue:
    user, scope = _user_and_scope()
    session = db()
    try:
        registration = get_registration(session, scope, registration_id)
    except NotFound:
        abort(404)
    form = DecisionForm()
    if not form.validate():
        return _detail(registration_id, form)
    verifier = Verifier(form.verifier.data)
    try:
        decide(
            session,
            registration,
            verifier,
            VerificationStatus(form.status.data),
            form.note.data,
            scope=scope,
            user=user,
            now=utcnow(),
        )
    except NotAllowed:
        log.warning(
            "registration decision refused: %r (%s) for %s on %s",
            user.username,
            user.role,
            verifier,
            registration_id,
        )
        abort(403)
    except InvalidInput as exc:
        if "note" in exc.errors:
            form.note.errors = [_("Vui lòng ghi lý do khi từ chối hoặc yêu cầu bổ sung.")]
        else:
            form.status.errors = [_("Vui lòng chọn một quyết định.")]
        return _detail(registration_id, form)
    log.info(
        "registration %s: %s decided %s by %r",
        registration_id,
        verifier,
        form.status.data,
        user.username,
    )
    flash(_("Đã lưu quyết định của %(verifier)s.", verifier=VERIFIER_LABELS[verifier]), "success")
    return redirect(url_for("registrations.detail", registration_id=registration_id))


def _export_args(scope: Scope) -> tuple[Verifier, int | None, int | None, str]:
    try:
        verifier = Verifier(request.args.get("verifier", ""))
        ward_id = int(request.args["ward"]) if request.args.get("ward") else None
        programme_id = int(request.args["programme"]) if request.args.get("programme") else None
    except ValueError:
        abort(400)
    if verifier not in scope.export_verifiers:
        abort(403)
    ward_code = "all"
    if ward_id is not None:
        ward = db().get(Ward, ward_id)
        if ward is None:
            abort(404)
        if not scope.covers_ward(ward_id):
            abort(403)
        ward_code = ward.code
    stamp = local_date(utcnow()).strftime("%Y%m%d")
    return verifier, ward_id, programme_id, f"dang-ky-{verifier.value}-{ward_code}-{stamp}"


def _export_rows(
    scope: Scope, verifier: Verifier, ward_id: int | None, programme_id: int | None
) -> Iterator[ExportRow]:
    """The export's rows, read in batches, each batch in its own short unit of work."""
    runtime: Runtime = current_app.extensions["hotline.runtime"]
    after_id = 0
    while True:
        with unit_of_work(runtime.sessions) as session:
            batch = export_batch(
                session,
                scope,
                verifier,
                ward_id=ward_id,
                programme_id=programme_id,
                after_id=after_id,
                size=EXPORT_BATCH,
            )
        yield from batch
        if len(batch) < EXPORT_BATCH:
            return
        after_id = batch[-1].registration.id


def _disposition(filename: str) -> dict[str, str]:
    return {"Content-Disposition": f'attachment; filename="{filename}"'}


@bp.get("/export.csv")
@login_required
def export_csv() -> ResponseReturnValue:
    user, scope = _user_and_scope()
    verifier, ward_id, programme_id, name = _export_args(scope)
    log.info("registrations export (csv) by %r: %s, ward %s", user.username, verifier, ward_id)
    rows = _export_rows(scope, verifier, ward_id, programme_id)
    body = csv_chunks(rows, verifier.value, Masker(user.sees_personal_data))
    return Response(
        stream_with_context(body),
        mimetype="text/csv",
        content_type="text/csv; charset=utf-8",
        headers=_disposition(f"{name}.csv"),
    )


@bp.get("/export.xlsx")
@login_required
def export_xlsx() -> ResponseReturnValue:
    user, scope = _user_and_scope()
    verifier, ward_id, programme_id, name = _export_args(scope)
    log.info("registrations export (xlsx) by %r: %s, ward %s", user.username, verifier, ward_id)
    mask = Masker(user.sees_personal_data)

    def chunks() -> Iterator[bytes]:
        # Built once the request's own transaction has ended (the export reads in batches of
        # its own), then streamed from the temporary file.
        rows = _export_rows(scope, verifier, ward_id, programme_id)
        with xlsx_file(rows, verifier.value, mask) as out:
            while chunk := out.read(64 * 1024):
                yield chunk

    return Response(
        stream_with_context(chunks()), mimetype=XLSX_TYPE, headers=_disposition(f"{name}.xlsx")
    )
