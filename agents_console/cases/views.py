"""The queue (`/console/queue`), the case page (`/console/cases/<code>`), its actions and the
call recording. Views parse, call one service, and answer; the request's session is committed
after the view (agents_console.web.db).

An agency officer sees only the cases routed to their agency: any other case is a 404 for them,
on every page and action."""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import requests
from flask import (
    Blueprint,
    Response,
    abort,
    current_app,
    flash,
    redirect,
    render_template,
    request,
    send_file,
    stream_with_context,
    url_for,
)
from flask.typing import ResponseReturnValue
from flask_babel import gettext, lazy_gettext
from markupsafe import Markup
from sqlalchemy import select

from agents_console.auth.access import current_user, require_role
from agents_console.cases.forms import (
    ActionForm,
    AssignForm,
    DuplicateForm,
    ExtendForm,
    NoteForm,
    QueueFilterForm,
    ReopenForm,
    ReplyForm,
    RouteForm,
    StatusForm,
    options,
)
from agents_console.web.db import db
from agents_console.web.labels import STATUS_LABELS, core_text, status_label
from intake.clock import VN_TZ, format_local, utcnow
from intake.models import (
    Agency,
    Case,
    CaseStatus,
    Category,
    Channel,
    Registration,
    Role,
    User,
    Ward,
)
from intake.runtime import Runtime
from intake.services import cases as case_service
from intake.services.cases import OPEN_STATUSES, TRANSITIONS, Actor
from intake.services.errors import DomainError, InvalidInput, NotFound
from intake.services.queue import Cursor, QueueFilter, Scope, SlaState, list_queue
from intake.validation import mask_cccd, mask_phone, mask_pii

log = logging.getLogger(__name__)


def _(text: str, **values: Any) -> str:
    return str(gettext(text, **values))


bp = Blueprint(
    "cases",
    __name__,
    template_folder="templates",
    static_folder="static",
    static_url_path="/console/cases/static",
)

DESK = (Role.AGENT, Role.SUPERVISOR, Role.ADMIN)
EVERYONE = (*DESK, Role.AGENCY_OFFICER)
RECORDING_TYPES = {".wav": "audio/wav", ".mp3": "audio/mpeg", ".gsm": "audio/x-gsm"}
PROXY_TIMEOUT = 15


def _runtime() -> Runtime:
    runtime: Runtime = current_app.extensions["hotline.runtime"]
    return runtime


def _user() -> User:
    user = current_user()
    assert user is not None  # every view here is behind require_role
    return user


def _prefix() -> str:
    return _runtime().settings.case_code_prefix


# --- template helpers --------------------------------------------------------------------


def _sees_pii() -> bool:
    user = current_user()
    return user is not None and user.sees_personal_data


@bp.app_template_filter("pii")
def pii_filter(text: str | None) -> str:
    """Free text with phone numbers and CCCDs masked, unless the role may see them."""
    if not text:
        return ""
    return text if _sees_pii() else mask_pii(text)


@bp.app_template_filter("phone")
def phone_filter(phone: str | None) -> str:
    if not phone:
        return "—"
    return phone if _sees_pii() else mask_phone(phone)


@bp.app_template_filter("cccd")
def cccd_filter(cccd: str | None) -> str:
    if not cccd:
        return "—"
    return cccd if _sees_pii() else mask_cccd(cccd)


@bp.app_template_filter("local")
def local_filter(moment: datetime | None) -> str:
    return format_local(moment) if moment else "—"


@bp.app_template_global("remaining")
def remaining(due: datetime, now: datetime) -> str:
    """'còn 2 giờ 05 phút' / 'quá hạn 3 ngày 4 giờ' (the page's script keeps it ticking)."""
    seconds = int((due - now).total_seconds())
    overdue = seconds < 0
    seconds = abs(seconds)
    days, rest = divmod(seconds, 86400)
    hours, rest = divmod(rest, 3600)
    minutes = rest // 60
    if days:
        amount = _("%(d)d ngày %(h)d giờ", d=days, h=hours)
    elif hours:
        amount = _("%(h)d giờ %(m)02d phút", h=hours, m=minutes)
    else:
        amount = _("%(m)d phút", m=minutes)
    return _("quá hạn %(t)s", t=amount) if overdue else _("còn %(t)s", t=amount)


EVENT_LABELS: dict[str, object] = {
    "created": lazy_gettext("Tiếp nhận"),
    "routed": lazy_gettext("Chuyển đơn vị"),
    "assigned": lazy_gettext("Giao việc"),
    "status_changed": lazy_gettext("Đổi trạng thái"),
    "note": lazy_gettext("Ghi chú nội bộ"),
    "public_reply": lazy_gettext("Trả lời người dân"),
    "extended": lazy_gettext("Gia hạn"),
    "transcribed": lazy_gettext("Nhận dạng giọng nói"),
    "transcription_unavailable": lazy_gettext("Không nhận dạng được ghi âm"),
    "draft": lazy_gettext("Phản ánh chưa hoàn tất"),
    "overdue": lazy_gettext("Quá hạn, đã báo cấp trên"),
}


KIND_NAMES: dict[str, object] = {
    "complaint": lazy_gettext("Phản ánh"),
    "registration": lazy_gettext("Đăng ký hỗ trợ"),
    "inquiry": lazy_gettext("Hỏi đáp"),
}
CHANNEL_NAMES: dict[str, object] = {
    "voice": lazy_gettext("Tổng đài 1900"),
    "sms": "SMS",
    "zalo": "Zalo",
    "messenger": "Messenger",
    "telegram": "Telegram",
    "web": lazy_gettext("Trò chuyện trên web"),
    "open311": "Open311",
    "console": lazy_gettext("Tổng đài viên nhập"),
}


@bp.app_template_global("kind_name")
def kind_name(kind: str) -> str:
    return str(KIND_NAMES.get(str(kind), kind))


@bp.app_template_global("channel_name")
def channel_name(channel: str) -> str:
    return str(CHANNEL_NAMES.get(str(channel), channel))


@bp.app_template_global("event_label")
def event_label(action: str) -> str:
    return str(EVENT_LABELS.get(action, action))


_STOPPED_OPEN = Markup('<span class="clock clock-stopped">')
_STOPPED_CLOSE = Markup("</span>")
_CLOCK_OPEN = {
    "clock": Markup('<time class="clock" datetime="'),
    "clock clock-overdue": Markup('<time class="clock clock-overdue" datetime="'),
}
_ATTR_DUE = Markup('" data-due="')
_ATTR_TITLE = Markup('" title="')
_CLOSE_TAG = Markup('">')
_CLOCK_CLOSE = Markup("</time>")


@bp.app_template_global("clock")
def clock(case: Case, which: str, now: datetime) -> Markup:
    """A countdown cell: the due time, the remaining time, red when overdue; stopped clocks
    say when they stopped."""
    running = case.status in OPEN_STATUSES
    if which == "ack":
        due, met = case.ack_due_at, case.acknowledged_at
    else:
        due, met = case.resolve_due_at, case.resolved_at
    if met is not None or not running:
        label = _("xong %(at)s", at=format_local(met)) if met else "—"
        return _STOPPED_OPEN + label + _STOPPED_CLOSE
    css = "clock clock-overdue" if due < now else "clock"
    iso = due.isoformat()
    # Markup + str escapes the str; Markup.format is slow for a hundred cells a page.
    return (
        _CLOCK_OPEN[css]
        + iso
        + _ATTR_DUE
        + iso
        + _ATTR_TITLE
        + format_local(due)
        + _CLOSE_TAG
        + remaining(due, now)
        + _CLOCK_CLOSE
    )


# --- queue -------------------------------------------------------------------------------


def _choice(value: str | None, allowed: type[Any]) -> Any:
    try:
        return allowed(value) if value else None
    except ValueError:
        return None


@bp.get("/console/queue")
@require_role(*EVERYONE)
def queue() -> ResponseReturnValue:
    """The queue: filters, both SLA clocks, overdue in red, keyset pages (`?after=`)."""
    user = _user()
    session = db()
    now = utcnow()
    form = QueueFilterForm(request.args)
    form.category.choices = options(
        [("", "—")]
        + [(c.code, c.name) for c in session.scalars(select(Category).order_by(Category.name))]
    )
    form.channel.choices = options(
        [("", "—")] + [(c.value, CHANNEL_NAMES.get(c.value, c.value)) for c in Channel]
    )
    form.ward.choices = options(
        [("", "—")] + [(w.code, w.name) for w in session.scalars(select(Ward).order_by(Ward.name))]
    )
    form.agency.choices = options(
        [("", "—")]
        + [
            (a.code, a.name)
            for a in session.scalars(select(Agency).where(Agency.active).order_by(Agency.name))
        ]
    )
    form.assignee.choices = [
        *(form.assignee.choices or []),
        *options((u.username, u.full_name) for u in _desk_users()),
    ]
    status_arg = request.args.get("status", "")
    flt = QueueFilter(
        status=_choice(status_arg, CaseStatus),
        scope=Scope.ALL if status_arg == Scope.ALL.value else Scope.OPEN,
        category=request.args.get("category") or None,
        channel=_choice(request.args.get("channel"), Channel),
        ward=request.args.get("ward") or None,
        agency=request.args.get("agency") or None,
        assignee=request.args.get("assignee") or None,
        sla=_choice(request.args.get("sla"), SlaState),
        text=(request.args.get("q") or "").strip()[:200] or None,
    )
    after = Cursor.decode(request.args.get("after", "")) if request.args.get("after") else None
    page = list_queue(session, flt, viewer=user, now=now, after=after, code_prefix=_prefix())
    args: dict[str, Any] = {k: v for k, v in request.args.items() if v and k != "after"}
    next_url = url_for("cases.queue", **args, after=page.next_cursor) if page.next_cursor else None
    first_url = url_for("cases.queue", **args) if after is not None else None
    return render_template(
        "cases/queue.html",
        form=form,
        page=page,
        now=now,
        next_url=next_url,
        first_url=first_url,
    )


def _desk_users() -> list[User]:
    return list(
        db().scalars(
            select(User)
            .where(User.active, User.role.in_([r.value for r in DESK]))
            .order_by(User.full_name)
        )
    )


# --- the case page -----------------------------------------------------------------------


def _load_case(code: str) -> Case:
    """The case `code` as the signed-in user may see it; 404 otherwise (also for a case of
    another agency, so officers cannot probe codes)."""
    user = _user()
    try:
        case = case_service.get_case(db(), code, prefix=_prefix())
    except NotFound:
        abort(404)
    if user.role == Role.AGENCY_OFFICER and (
        user.agency_id is None or case.agency_id != user.agency_id
    ):
        abort(404)
    return case


@bp.get("/console/cases/<code>")
@require_role(*EVERYONE)
def case_page(code: str) -> ResponseReturnValue:
    case = _load_case(code)
    if case.code != code:
        return redirect(url_for("cases.case_page", code=case.code))
    user = _user()
    session = db()
    now = utcnow()
    registration = session.scalar(select(Registration).where(Registration.case_id == case.id))
    assign_form = AssignForm()
    assign_form.assignee.choices = options(
        [("me", _("Tôi")), ("", _("Bỏ giao"))] + [(u.username, u.full_name) for u in _desk_users()]
    )
    route_form = RouteForm()
    route_form.agency.choices = options(
        [
            (a.code, a.name)
            for a in session.scalars(select(Agency).where(Agency.active).order_by(Agency.name))
        ]
    )
    if case.agency is not None:
        route_form.agency.data = case.agency.code
    status_form = StatusForm()
    status_form.status.choices = options(
        [
            (s.value, STATUS_LABELS[s])
            for s in TRANSITIONS[case.status]
            if s not in {CaseStatus.DUPLICATE, CaseStatus.REOPENED}
        ]
    )
    extend_form = ExtendForm()
    extend_form.due.data = (case.resolve_due_at + timedelta(days=3)).astimezone(VN_TZ)
    reporter = case.reporter
    hide_reporter = case.anonymous and user.role == Role.AGENCY_OFFICER
    return render_template(
        "cases/case.html",
        case=case,
        now=now,
        registration=registration,
        reporter=None if hide_reporter else reporter,
        hide_reporter=hide_reporter,
        is_desk=user.role in DESK,
        can_reopen=CaseStatus.REOPENED in TRANSITIONS[case.status],
        can_duplicate=CaseStatus.DUPLICATE in TRANSITIONS[case.status],
        can_ack=CaseStatus.ACKNOWLEDGED in TRANSITIONS[case.status],
        action_form=ActionForm(),
        assign_form=assign_form,
        route_form=route_form,
        status_form=status_form,
        note_form=NoteForm(),
        reply_form=ReplyForm(),
        extend_form=extend_form,
        duplicate_form=DuplicateForm(),
        reopen_form=ReopenForm(),
    )


def _act(
    code: str, form: Any, action: Callable[[Case, Actor, datetime], str]
) -> ResponseReturnValue:
    """Run one case action from a posted form: flash the result (or the Vietnamese error) and
    go back to the case page. A refused action changes nothing."""
    case = _load_case(code)
    back = redirect(url_for("cases.case_page", code=case.code) + "#actions")
    if not form.validate_on_submit():
        for errors in form.errors.values():
            for error in errors:
                flash(str(error), "error")
        return back
    try:
        done = action(case, Actor.of(_user()), utcnow())
    except InvalidInput as exc:
        db().rollback()
        for message in exc.errors.values():
            flash(core_text(message), "error")
        return back
    except DomainError as exc:
        db().rollback()
        flash(core_text(exc.message_vi), "error")
        return back
    log.info("console case action on %s by %s: %s", case.code, _user().username, done)
    flash(done, "success")
    return back


@bp.post("/console/cases/<code>/acknowledge")
@require_role(*EVERYONE)
def acknowledge(code: str) -> ResponseReturnValue:
    def run(case: Case, actor: Actor, now: datetime) -> str:
        case_service.acknowledge(db(), case, now=now, actor=actor)
        return _("Đã xác nhận phản ánh.")

    return _act(code, ActionForm(), run)


@bp.post("/console/cases/<code>/assign")
@require_role(*DESK)
def assign(code: str) -> ResponseReturnValue:
    form = AssignForm()

    def run(case: Case, actor: Actor, now: datetime) -> str:
        wanted = (form.assignee.data or "").strip()
        user: User | None = None
        if wanted == "me":
            user = _user()
        elif wanted:
            user = db().scalar(select(User).where(User.username == wanted, User.active))
            if user is None or user.role not in DESK:
                raise InvalidInput({"assignee": _("Không có tổng đài viên “%(u)s”.", u=wanted)})
        case_service.assign(db(), case, user, now=now, actor=actor)
        return _("Đã giao cho %(name)s.", name=user.full_name) if user else _("Đã bỏ giao việc.")

    return _act(code, form, run)


@bp.post("/console/cases/<code>/route")
@require_role(*DESK)
def route(code: str) -> ResponseReturnValue:
    form = RouteForm()

    def run(case: Case, actor: Actor, now: datetime) -> str:
        case_service.route(
            db(), case, form.agency.data or "", now=now, actor=actor, reason=form.reason.data
        )
        assert case.agency is not None
        return _("Đã chuyển đến %(agency)s.", agency=case.agency.name)

    return _act(code, form, run)


@bp.post("/console/cases/<code>/status")
@require_role(*EVERYONE)
def change_status(code: str) -> ResponseReturnValue:
    form = StatusForm()

    def run(case: Case, actor: Actor, now: datetime) -> str:
        try:
            target = CaseStatus(form.status.data or "")
        except ValueError as exc:
            raise InvalidInput({"status": _("Trạng thái không hợp lệ.")}) from exc
        if target in {CaseStatus.DUPLICATE, CaseStatus.REOPENED}:
            raise InvalidInput({"status": _("Dùng mục riêng để đánh dấu trùng hoặc mở lại.")})
        case_service.change_status(
            db(),
            case,
            target,
            now=now,
            actor=actor,
            reason=form.reason.data,
            resolution=form.resolution.data,
        )
        return _("Đã chuyển sang “%(status)s”.", status=status_label(target))

    return _act(code, form, run)


@bp.post("/console/cases/<code>/note")
@require_role(*EVERYONE)
def note(code: str) -> ResponseReturnValue:
    form = NoteForm()

    def run(case: Case, actor: Actor, now: datetime) -> str:
        case_service.add_note(db(), case, form.text.data or "", now=now, actor=actor)
        return _("Đã thêm ghi chú nội bộ.")

    return _act(code, form, run)


@bp.post("/console/cases/<code>/reply")
@require_role(*EVERYONE)
def reply(code: str) -> ResponseReturnValue:
    form = ReplyForm()

    def run(case: Case, actor: Actor, now: datetime) -> str:
        event = case_service.reply_publicly(db(), case, form.text.data or "", now=now, actor=actor)
        if "delivered_via" not in event.data:
            return _("Đã đăng trả lời; người dân không có kênh liên lạc để nhận tin.")
        return _("Đã gửi trả lời đến người dân.")

    return _act(code, form, run)


@bp.post("/console/cases/<code>/extend")
@require_role(*EVERYONE)
def extend(code: str) -> ResponseReturnValue:
    form = ExtendForm()

    def run(case: Case, actor: Actor, now: datetime) -> str:
        assert form.due.data is not None
        due = form.due.data.replace(tzinfo=VN_TZ)
        case_service.extend(db(), case, due, form.reason.data or "", now=now, actor=actor)
        return _("Đã gia hạn đến %(due)s.", due=format_local(due))

    return _act(code, form, run)


@bp.post("/console/cases/<code>/duplicate")
@require_role(*DESK)
def duplicate(code: str) -> ResponseReturnValue:
    form = DuplicateForm()

    def run(case: Case, actor: Actor, now: datetime) -> str:
        master = case_service.get_case(db(), form.master.data or "", prefix=_prefix())
        case_service.mark_duplicate(db(), case, master, now=now, actor=actor)
        return _("Đã đánh dấu trùng với %(code)s.", code=master.code)

    return _act(code, form, run)


@bp.post("/console/cases/<code>/reopen")
@require_role(*EVERYONE)
def reopen(code: str) -> ResponseReturnValue:
    form = ReopenForm()

    def run(case: Case, actor: Actor, now: datetime) -> str:
        case_service.reopen(db(), case, form.reason.data or "", now=now, actor=actor)
        return _("Đã mở lại phản ánh.")

    return _act(code, form, run)


# --- the call recording ------------------------------------------------------------------


@bp.get("/console/cases/<code>/recording")
@require_role(*EVERYONE)
def recording(code: str) -> ResponseReturnValue:
    """The case's recording: a file under the recordings directory (never outside it), or a
    Twilio recording fetched with the account's credentials and streamed through."""
    case = _load_case(code)
    location = case.recording_path
    if not location:
        abort(404)
    settings = _runtime().settings
    if location.startswith(("http://", "https://")):
        return _proxy_twilio(location)
    root = settings.effective_recordings_dir.resolve()
    path = Path(location)
    if not path.is_absolute():
        path = root / path
    for candidate in (path, path.with_name(path.name + ".wav")):
        resolved = candidate.resolve()
        if resolved.is_relative_to(root) and resolved.is_file():
            mimetype = RECORDING_TYPES.get(resolved.suffix.lower(), "application/octet-stream")
            return send_file(resolved, mimetype=mimetype, conditional=True, max_age=0)
    log.warning("recording of %s not found under the recordings directory", case.code)
    abort(404)


def _proxy_twilio(url: str) -> ResponseReturnValue:
    settings = _runtime().settings
    twilio_base = settings.twilio_api_base_url.rstrip("/") + "/"
    if not url.startswith(twilio_base):
        abort(404)  # only Twilio's API gets the account's credentials, and only it is proxied
    if not url.endswith((".wav", ".mp3")):
        url += ".wav"
    auth = None
    if settings.twilio_account_sid and settings.twilio_auth_token:
        auth = (settings.twilio_account_sid, settings.twilio_auth_token)
    upstream = requests.get(url, auth=auth, timeout=PROXY_TIMEOUT, stream=True)
    if upstream.status_code != 200:
        upstream.close()
        abort(404 if upstream.status_code in (401, 403, 404, 410) else 502)

    def chunks() -> Any:
        with upstream:
            yield from upstream.iter_content(1 << 16)

    mimetype = "audio/mpeg" if url.endswith(".mp3") else "audio/wav"
    return Response(stream_with_context(chunks()), mimetype=mimetype)
